//! `LockClient`: a client that repeatedly takes a lock on the store, does some work on the
//! protected resource while it holds it, and releases it (46.7.1, exercise 1).
//!
//! - Acquire: `SET lock owner NX PX lease` (or, with fencing, the `acquire_fenced` script, which
//!   also returns the next token), retried every `retry` plus jitter until `wait` has passed.
//! - Work: each write is decided, then computed for `compute`, then sent. A pause during the
//!   computation sends the write late, whatever the client checked before: the Kleppmann hazard.
//!   The client does check its lease (on its own clock) before each write, as a careful client
//!   would, and gives up when it has run out.
//! - Watchdog (Redisson): while holding, renew every `lease / 3` with compare-and-pexpire; a
//!   renewal that finds the lock gone is reported (`RenewalFailed`) and the client stops.
//! - Release: compare-and-delete, so a client never deletes a lock that is no longer its own.
//!
//! The owner value is `<node>.<incarnation>:<grant>`; the incarnation and the grant count are
//! durable, so a restarted client never mistakes the lock of its previous life for its own, and
//! its grants keep their numbers.

use serde::{Deserialize, Serialize};

use super::{LockMsg, LockObs, LockProtocol};
use crate::actor::{Actor, Ctx, NodeId, TimerId};
use crate::sim::{SimDuration, SimTime};
use crate::store::{Cmd, Reply, ScriptName, SetCondition, SetExpiry, StoreMsg};

/// The chapter's `LockOptions` (lease 30 s, wait 10 s, retry 100 ms) are the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOptions {
    pub lease: SimDuration,
    pub wait: SimDuration,
    pub retry: SimDuration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            lease: SimDuration::from_secs(30),
            wait: SimDuration::from_secs(10),
            retry: SimDuration::from_millis(100),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockClientConfig {
    pub store: NodeId,
    pub resource: NodeId,
    /// The lock's key; its fencing counter is `<key>:fence` (give the key a `{hash tag}` so both
    /// live in one Redis Cluster slot).
    pub key: String,
    pub options: LockOptions,
    pub watchdog: bool,
    pub fencing: bool,
    /// Writes per hold.
    pub writes: u32,
    /// Time between deciding a write and sending it.
    pub compute: SimDuration,
    /// Longest wait between two rounds (drawn uniformly from 1 ms up to it; zero for none, as a
    /// benchmark wants).
    pub think: SimDuration,
    /// When the first round starts; `None` for a random `think` like the others.
    pub first_round_after: Option<SimDuration>,
}

const ROUND: TimerId = TimerId(1);
const RETRY: TimerId = TimerId(2);
const WORK: TimerId = TimerId(3);
const COMMIT: TimerId = TimerId(4);
const RENEW: TimerId = TimerId(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Acquire { grant: u64 },
    Renew { grant: u64, sent_at: SimTime },
    Release { grant: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hold {
    grant: u64,
    token: Option<u64>,
    /// When the lease ends, on this client's clock (from the send time of the last successful
    /// acquire or renewal: the conservative end).
    lease_until: SimTime,
    writes_sent: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Acquiring { grant: u64, started: SimTime, deadline: SimTime, sent_at: SimTime },
    Holding(Hold),
}

/// What a client keeps across a crash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDurable {
    pub incarnation: u64,
    pub grants: u64,
}

/// One lock user.
#[derive(Clone, Debug)]
pub struct LockClient {
    config: LockClientConfig,
    incarnation: u64,
    grants: u64,
    next_req: u64,
    pending: std::collections::BTreeMap<u64, Purpose>,
    phase: Phase,
}

/// Pending requests kept at most: older ones are forgotten (their replies are then ignored).
const PENDING_MAX: usize = 64;

impl LockClient {
    /// A client in its first life (`None`) or restarted after a crash.
    pub fn new(config: LockClientConfig, previous: Option<ClientDurable>) -> Self {
        let (incarnation, grants) = previous.map_or((0, 0), |p| (p.incarnation + 1, p.grants));
        LockClient { config, incarnation, grants, next_req: 0, pending: Default::default(), phase: Phase::Idle }
    }

    fn owner(&self, me: NodeId, grant: u64) -> String {
        format!("{me}.{}:{grant}", self.incarnation)
    }

    fn fence_key(&self) -> String {
        format!("{}:fence", self.config.key)
    }

    fn request(&mut self, ctx: &mut Ctx<'_, LockProtocol>, purpose: Purpose, cmd: Cmd) {
        let req = self.next_req;
        self.next_req += 1;
        self.pending.insert(req, purpose);
        while self.pending.len() > PENDING_MAX {
            self.pending.pop_first();
        }
        ctx.send(self.config.store, StoreMsg::Request { req, cmd }.into());
    }

    fn next_round(&mut self, ctx: &mut Ctx<'_, LockProtocol>) {
        self.phase = Phase::Idle;
        for t in [RETRY, WORK, COMMIT, RENEW] {
            ctx.cancel_timer(t);
        }
        let think = match self.config.think.as_micros() {
            0 => 0,
            max => ctx.rng().between(1_000, max.max(1_000)),
        };
        ctx.set_timer(ROUND, SimDuration::from_micros(think));
    }

    fn send_acquire(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        let owner = self.owner(ctx.me(), grant);
        let lease_ms = i64::try_from(self.config.options.lease.as_millis()).unwrap_or(i64::MAX);
        let cmd = if self.config.fencing {
            Cmd::Script {
                script: ScriptName::AcquireFenced,
                keys: vec![self.config.key.clone(), self.fence_key()],
                args: vec![owner, lease_ms.to_string()],
            }
        } else {
            Cmd::Set {
                key: self.config.key.clone(),
                value: owner,
                condition: Some(SetCondition::Nx),
                expiry: Some(SetExpiry::Px(lease_ms)),
                get: false,
            }
        };
        self.request(ctx, Purpose::Acquire { grant }, cmd);
        let retry = self.config.options.retry.as_micros().max(1);
        let jitter = ctx.rng().between(0, retry / 2);
        ctx.set_timer(RETRY, SimDuration::from_micros(retry + jitter));
    }

    fn release(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        let cmd = Cmd::Script {
            script: ScriptName::CompareAndDelete,
            keys: vec![self.config.key.clone()],
            args: vec![self.owner(ctx.me(), grant)],
        };
        self.request(ctx, Purpose::Release { grant }, cmd);
        ctx.observe(LockObs::Unlocking { grant });
        self.next_round(ctx); // a lost reply must not leave the client waiting forever
    }

    fn on_acquire_reply(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64, reply: Reply) {
        let token = match reply {
            Reply::Int(t) if t > 0 => Some(u64::try_from(t).ok()),
            Reply::Status(_) => Some(None),
            _ => None, // held by someone else, or an error: try again on the next retry
        };
        let Some(token) = token else { return };
        match self.phase {
            Phase::Acquiring { grant: g, started, sent_at, .. } if g == grant => {
                ctx.cancel_timer(RETRY);
                let lease_until = sent_at + self.config.options.lease;
                self.phase = Phase::Holding(Hold { grant, token, lease_until, writes_sent: 0 });
                let waited_us = ctx.now().saturating_since(started).as_micros();
                ctx.observe(LockObs::Acquired { grant, token, waited_us });
                if self.config.watchdog {
                    ctx.set_timer(RENEW, self.renew_every());
                }
                ctx.set_timer(WORK, SimDuration::ZERO);
            }
            // A late grant we no longer want (we gave up, or a duplicate): hand it back.
            _ => {
                let cmd = Cmd::Script {
                    script: ScriptName::CompareAndDelete,
                    keys: vec![self.config.key.clone()],
                    args: vec![self.owner(ctx.me(), grant)],
                };
                self.request(ctx, Purpose::Release { grant }, cmd);
            }
        }
    }

    fn renew_every(&self) -> SimDuration {
        SimDuration::from_micros((self.config.options.lease.as_micros() / 3).max(1))
    }

    fn holding(&self) -> Option<Hold> {
        match self.phase {
            Phase::Holding(h) => Some(h),
            _ => None,
        }
    }
}

impl Actor<LockProtocol> for LockClient {
    type Durable = ClientDurable;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LockProtocol>) {
        match self.config.first_round_after {
            Some(after) if self.incarnation == 0 => ctx.set_timer(ROUND, after),
            _ => self.next_round(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LockProtocol>, _from: NodeId, msg: LockMsg) {
        let LockMsg::Store { msg: StoreMsg::Reply { req, reply } } = msg else { return };
        let Some(purpose) = self.pending.remove(&req) else { return };
        match purpose {
            Purpose::Acquire { grant } => self.on_acquire_reply(ctx, grant, reply),
            Purpose::Renew { grant, sent_at } => {
                let Some(mut hold) = self.holding().filter(|h| h.grant == grant) else { return };
                if reply == Reply::Int(1) {
                    hold.lease_until = hold.lease_until.max(sent_at + self.config.options.lease);
                    self.phase = Phase::Holding(hold);
                } else {
                    ctx.observe(LockObs::RenewalFailed { grant });
                    self.next_round(ctx);
                }
            }
            Purpose::Release { grant } => ctx.observe(LockObs::Released { grant, deleted: reply == Reply::Int(1) }),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LockProtocol>, timer: TimerId) {
        match (timer, self.phase) {
            (ROUND, Phase::Idle) => {
                self.grants += 1;
                let grant = self.grants;
                let now = ctx.now();
                self.phase =
                    Phase::Acquiring { grant, started: now, deadline: now + self.config.options.wait, sent_at: now };
                self.send_acquire(ctx, grant);
            }
            (RETRY, Phase::Acquiring { grant, started, deadline, .. }) => {
                let now = ctx.now();
                if now >= deadline {
                    ctx.observe(LockObs::GaveUp);
                    self.next_round(ctx);
                } else {
                    self.phase = Phase::Acquiring { grant, started, deadline, sent_at: now };
                    self.send_acquire(ctx, grant);
                }
            }
            (WORK, Phase::Holding(hold)) => {
                if ctx.now() >= hold.lease_until {
                    // With a watchdog the lease can only have run out because no renewal was
                    // answered in time: that is a renewal failure, and the holder must stop.
                    let grant = hold.grant;
                    ctx.observe(if self.config.watchdog {
                        LockObs::RenewalFailed { grant }
                    } else {
                        LockObs::LeaseExpired { grant }
                    });
                    self.release(ctx, hold.grant);
                } else {
                    ctx.set_timer(COMMIT, self.config.compute);
                }
            }
            (COMMIT, Phase::Holding(mut hold)) => {
                // No second look at the lease: the computed result goes out, however late.
                hold.writes_sent += 1;
                let write = LockMsg::Write { grant: hold.grant, token: hold.token, seq: hold.writes_sent };
                ctx.send(self.config.resource, write);
                self.phase = Phase::Holding(hold);
                if hold.writes_sent >= self.config.writes {
                    self.release(ctx, hold.grant);
                } else {
                    ctx.set_timer(WORK, SimDuration::ZERO);
                }
            }
            (RENEW, Phase::Holding(hold)) => {
                let lease_ms = i64::try_from(self.config.options.lease.as_millis()).unwrap_or(i64::MAX);
                let cmd = Cmd::Script {
                    script: ScriptName::CompareAndPExpire,
                    keys: vec![self.config.key.clone()],
                    args: vec![self.owner(ctx.me(), hold.grant), lease_ms.to_string()],
                };
                let sent_at = ctx.now();
                self.request(ctx, Purpose::Renew { grant: hold.grant, sent_at }, cmd);
                ctx.set_timer(RENEW, self.renew_every());
            }
            _ => {} // a timer of a phase we have left
        }
    }

    fn durable(&self) -> ClientDurable {
        ClientDurable { incarnation: self.incarnation, grants: self.grants }
    }

    fn public_state(&self) -> serde_json::Value {
        let (phase, grant, token) = match self.phase {
            Phase::Idle => ("idle", None, None),
            Phase::Acquiring { grant, .. } => ("acquiring", Some(grant), None),
            Phase::Holding(h) => ("holding", Some(h.grant), h.token),
        };
        serde_json::json!({ "phase": phase, "grant": grant, "token": token, "incarnation": self.incarnation })
    }
}
