//! `LockClient`: a client that repeatedly takes a lock on the store, does some work on the
//! protected resource while it holds it, and releases it (46.7.1, exercise 1).
//!
//! - Acquire: `SET lock owner NX PX lease` (or, with fencing, the `acquire_fenced` script, which
//!   also returns the next token), retried every `retry` plus jitter until `wait` has passed, but
//!   never before the previous try is answered or has waited [`REPLY_TIMEOUT`]: a client that
//!   resent faster than the round trip would drop every late grant and never hold the lock.
//! - Work: each write is decided, then computed for `compute`, then sent. A pause during the
//!   computation sends the write late, whatever the client checked before: the Kleppmann hazard.
//!   The client does check its lease (on its own clock) before each write, as a careful client
//!   would, and gives up when it has run out.
//! - Watchdog (Redisson): while holding, renew every `lease / 3` with compare-and-pexpire; a
//!   renewal that finds the lock gone is reported (`RenewalFailed`) and the client stops.
//! - Release: compare-and-delete, so a client never deletes a lock that is no longer its own.
//!
//! - Redlock, with several independent stores: the same `SET NX PX` on every store; the lock is
//!   held when a majority granted it within its validity, lease − elapsed − drift (drift = 1% of
//!   the lease + 2 ms, as Redis's reference client assumes), and released on every store. A failed
//!   attempt hands back the partial grants at once. Redlock has no fencing (tokens from
//!   independent counters cannot be compared) and, here, no watchdog.
//!
//! - ZooKeeper-style, with a coordination service instead of stores ([`super::zk`]): create an
//!   ephemeral sequential node, hold the lock when it is the smallest, otherwise watch only the
//!   predecessor; the session (kept alive by a ping every third of its timeout) is the lease, and
//!   the node's sequence number is the fencing token.
//!
//! - Reentrant and read-write locks (Redisson's `RLock` and `RReadWriteLock`), with one store: the
//!   lock is a hash of its mode and one hold count per owner (the `rw_*` scripts). A client in
//!   [`LockMode::Write`] holds it alone, in [`LockMode::Read`] together with other readers; with
//!   `reentry`, each hold takes the lock again that many times, as a method calling another
//!   locked method does, and gives it back as many times: only the last release frees it.
//!
//! The owner value is `<node>.<incarnation>:<grant>`; the incarnation and the grant count are
//! durable, so a restarted client never mistakes the lock of its previous life for its own, and
//! its grants keep their numbers.

//!
//! One lock per file: `lease.rs` the lease lock and Redlock (the single-store case being exactly
//! the plain lock), `zookeeper.rs` the ZooKeeper recipe, `rw.rs` Redisson's reentrant read-write
//! lock. This file holds what they share: the configuration, the phases, the work done while
//! holding, and the actor.

mod lease;
mod rw;
mod zookeeper;

use serde::{Deserialize, Serialize};

use super::zk::ZkMsg;
use super::{LockMsg, LockObs, LockProtocol};
use crate::actor::{Actor, Ctx, NodeId};
use crate::sim::{SimDuration, SimTime};
use crate::store::{Cmd, Reply, StoreMsg};

/// How long a try waits for its replies before the next one may go (a client's socket
/// timeout). The chapter's client waits for each `SET` to answer and then sleeps `retry`; a
/// retry timer that resent regardless made `retry` < the round trip a livelock: each grant came
/// back for a superseded try and was handed back (issue 20: one hold in 30 s at `retry_ms` 1).
pub const REPLY_TIMEOUT: SimDuration = SimDuration::from_millis(50);

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
    /// One store for a plain lock; several independent ones for Redlock.
    pub stores: Vec<NodeId>,
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
    /// Use a ZooKeeper-style coordination service instead of the stores.
    pub zookeeper: Option<ZkClientConfig>,
    /// The plain string lock, or one side of the read-write lock.
    pub mode: LockMode,
    /// Extra acquisitions of its own lock each hold makes (read-write lock only).
    pub reentry: u32,
}

/// Which lock a client takes on the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// `SET NX PX` (or `acquire_fenced`): one owner, one hold.
    #[default]
    Plain,
    /// The read-write lock's shared side.
    Read,
    /// The read-write lock's exclusive side: Redisson's reentrant lock.
    Write,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkClientConfig {
    pub service: NodeId,
    pub session_timeout: SimDuration,
}

crate::timers! {
    /// A lock client's timers.
    pub enum LockTimer {
        /// Time for the next round: take the lock again.
        Round = 1,
        /// The acquire attempt (or the ZooKeeper wait) is due for another try, or for giving up.
        Retry = 2,
        /// Time to decide the next write of the hold.
        Work = 3,
        /// The write decided `compute` ago is computed: send it, however late.
        Commit = 4,
        /// The watchdog's next renewal of the lease.
        Renew = 5,
        /// ZooKeeper: the session's next keep-alive.
        Ping = 6,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    Acquire { grant: u64, attempt: u64, store: NodeId },
    Renew { grant: u64, sent_at: SimTime },
    Release { grant: u64 },
    Reenter { grant: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hold {
    pub(super) grant: u64,
    pub(super) token: Option<u64>,
    /// When the lease ends, on this client's clock (from the send time of the last successful
    /// acquire or renewal: the conservative end).
    pub(super) lease_until: SimTime,
    pub(super) writes_sent: u32,
    /// The ZooKeeper node this hold lives in.
    pub(super) zk_seq: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Idle,
    /// `granted` and `answered` count the current attempt's replies (one per store); the next
    /// attempt is due at `retry_at` once they are all in, or at `sent_at` + [`REPLY_TIMEOUT`].
    Acquiring {
        grant: u64,
        attempt: u64,
        started: SimTime,
        deadline: SimTime,
        sent_at: SimTime,
        retry_at: SimTime,
        granted: u32,
        answered: u32,
        token: Option<u64>,
    },
    Holding(Hold),
    /// ZooKeeper recipe: our node, once created, and waiting to be the smallest.
    ZkWaiting {
        grant: u64,
        started: SimTime,
        deadline: SimTime,
        seq: Option<u64>,
    },
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
    pub(super) config: LockClientConfig,
    pub(super) incarnation: u64,
    pub(super) grants: u64,
    pub(super) attempts: u64,
    next_req: u64,
    pending: std::collections::BTreeMap<u64, Purpose>,
    pub(super) phase: Phase,
}

/// Pending requests kept at most: older ones are forgotten (their replies are then ignored).
const PENDING_MAX: usize = 64;

impl LockClient {
    /// A client in its first life (`None`) or restarted after a crash.
    pub fn new(config: LockClientConfig, previous: Option<ClientDurable>) -> Self {
        let (incarnation, grants) = previous.map_or((0, 0), |p| (p.incarnation + 1, p.grants));
        LockClient {
            config,
            incarnation,
            grants,
            attempts: 0,
            next_req: 0,
            pending: Default::default(),
            phase: Phase::Idle,
        }
    }

    pub(super) fn owner(&self, me: NodeId, grant: u64) -> String {
        format!("{me}.{}:{grant}", self.incarnation)
    }

    pub(super) fn request(&mut self, ctx: &mut Ctx<'_, LockProtocol>, purpose: Purpose, store: NodeId, cmd: Cmd) {
        let req = self.next_req;
        self.next_req += 1;
        self.pending.insert(req, purpose);
        while self.pending.len() > PENDING_MAX {
            self.pending.pop_first();
        }
        ctx.send(store, StoreMsg::Request { req, cmd }.into());
    }

    pub(super) fn next_round(&mut self, ctx: &mut Ctx<'_, LockProtocol>) {
        self.phase = Phase::Idle;
        for t in [LockTimer::Retry, LockTimer::Work, LockTimer::Commit, LockTimer::Renew] {
            ctx.cancel_timer(t);
        }
        let think = match self.config.think.as_micros() {
            0 => 0,
            max => ctx.rng().between(1_000, max.max(1_000)),
        };
        ctx.set_timer(LockTimer::Round, SimDuration::from_micros(think));
    }

    pub(super) fn release(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        match (self.config.zookeeper, self.holding().and_then(|h| h.zk_seq)) {
            (Some(zk), Some(seq)) => ctx.send(zk.service, LockMsg::Zk { msg: ZkMsg::Delete { seq } }),
            _ => {
                // The inner holds first, then the outermost: on a FIFO link the store sees them in
                // that order, and only the last one frees the lock.
                self.release_reentries(ctx, grant);
                self.release_everywhere(ctx, grant);
            }
        }
        ctx.observe(LockObs::Unlocking { grant });
        self.next_round(ctx); // a lost reply must not leave the client waiting forever
    }

    pub(super) fn renew_every(&self) -> SimDuration {
        SimDuration::from_micros((self.config.options.lease.as_micros() / 3).max(1))
    }

    pub(super) fn holding(&self) -> Option<Hold> {
        match self.phase {
            Phase::Holding(h) => Some(h),
            _ => None,
        }
    }
}

impl Actor<LockProtocol> for LockClient {
    type Durable = ClientDurable;
    type Timer = LockTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LockProtocol>) {
        self.arm_ping(ctx);
        match self.config.first_round_after {
            Some(after) if self.incarnation == 0 => ctx.set_timer(LockTimer::Round, after),
            _ => self.next_round(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LockProtocol>, _from: NodeId, msg: LockMsg) {
        if let LockMsg::Zk { msg } = msg {
            return self.on_zk(ctx, msg);
        }
        let LockMsg::Store { msg: StoreMsg::Reply { req, reply } } = msg else { return };
        let Some(purpose) = self.pending.remove(&req) else { return };
        match purpose {
            Purpose::Acquire { grant, attempt, store } => self.on_acquire_reply(ctx, grant, attempt, store, reply),
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
            Purpose::Release { grant } => ctx.observe(self.released(grant, &reply)),
            Purpose::Reenter { grant } => self.on_reenter_reply(ctx, grant, &reply),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LockProtocol>, timer: LockTimer) {
        if self.config.zookeeper.is_some() && self.on_zk_timer(ctx, timer) {
            return;
        }
        match (timer, self.phase) {
            (LockTimer::Round, Phase::Idle) => self.begin_acquire(ctx),
            (LockTimer::Retry, Phase::Acquiring { grant, started, deadline, granted, answered, sent_at, .. }) => {
                let unanswered = answered < u32::try_from(self.config.stores.len()).expect("a handful of stores");
                let timeout = sent_at + REPLY_TIMEOUT;
                if unanswered && ctx.now() < timeout && timeout < deadline {
                    ctx.set_timer(LockTimer::Retry, timeout.saturating_since(ctx.now()));
                } else {
                    self.retry_acquire(ctx, grant, started, deadline, granted);
                }
            }
            (LockTimer::Work, Phase::Holding(hold)) => {
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
                    ctx.set_timer(LockTimer::Commit, self.config.compute);
                }
            }
            (LockTimer::Commit, Phase::Holding(mut hold)) => {
                // No second look at the lease: the computed result goes out, however late.
                hold.writes_sent += 1;
                if self.config.mode != LockMode::Read {
                    // A reader's work is reading: it sends nothing to the resource.
                    let write = LockMsg::Write { grant: hold.grant, token: hold.token, seq: hold.writes_sent };
                    ctx.send(self.config.resource, write);
                }
                self.phase = Phase::Holding(hold);
                if hold.writes_sent >= self.config.writes {
                    self.release(ctx, hold.grant);
                } else {
                    ctx.set_timer(LockTimer::Work, SimDuration::ZERO);
                }
            }
            (LockTimer::Renew, Phase::Holding(hold)) => self.renew(ctx, hold),
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
            Phase::ZkWaiting { grant, .. } => ("waiting", Some(grant), None),
        };
        serde_json::json!({ "phase": phase, "grant": grant, "token": token, "incarnation": self.incarnation })
    }
}
