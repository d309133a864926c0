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

use serde::{Deserialize, Serialize};

use super::zk::ZkMsg;
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

impl LockMode {
    fn rw(self) -> Option<&'static str> {
        match self {
            LockMode::Plain => None,
            LockMode::Read => Some("read"),
            LockMode::Write => Some("write"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkClientConfig {
    pub service: NodeId,
    pub session_timeout: SimDuration,
}

const ROUND: TimerId = TimerId(1);
const RETRY: TimerId = TimerId(2);
const WORK: TimerId = TimerId(3);
const COMMIT: TimerId = TimerId(4);
const RENEW: TimerId = TimerId(5);
const PING: TimerId = TimerId(6);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Acquire { grant: u64, attempt: u64, store: NodeId },
    Renew { grant: u64, sent_at: SimTime },
    Release { grant: u64 },
    Reenter { grant: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hold {
    grant: u64,
    token: Option<u64>,
    /// When the lease ends, on this client's clock (from the send time of the last successful
    /// acquire or renewal: the conservative end).
    lease_until: SimTime,
    writes_sent: u32,
    /// The ZooKeeper node this hold lives in.
    zk_seq: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    /// `granted` and `answered` count the current attempt's replies (one per store).
    Acquiring {
        grant: u64,
        attempt: u64,
        started: SimTime,
        deadline: SimTime,
        sent_at: SimTime,
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
    config: LockClientConfig,
    incarnation: u64,
    grants: u64,
    attempts: u64,
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

    fn owner(&self, me: NodeId, grant: u64) -> String {
        format!("{me}.{}:{grant}", self.incarnation)
    }

    fn fence_key(&self) -> String {
        format!("{}:fence", self.config.key)
    }

    fn request(&mut self, ctx: &mut Ctx<'_, LockProtocol>, purpose: Purpose, store: NodeId, cmd: Cmd) {
        let req = self.next_req;
        self.next_req += 1;
        self.pending.insert(req, purpose);
        while self.pending.len() > PENDING_MAX {
            self.pending.pop_first();
        }
        ctx.send(store, StoreMsg::Request { req, cmd }.into());
    }

    /// A majority of the stores (all of one).
    fn quorum(&self) -> u32 {
        u32::try_from(self.config.stores.len() / 2 + 1).unwrap_or(u32::MAX)
    }

    /// Redlock's allowance for clock drift between stores; none with a single store.
    fn drift(&self) -> SimDuration {
        if self.config.stores.len() > 1 {
            SimDuration::from_micros(self.config.options.lease.as_micros() / 100 + 2_000)
        } else {
            SimDuration::ZERO
        }
    }

    /// Compare-and-delete of `grant`'s owner value on every store.
    fn release_everywhere(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        for store in self.config.stores.clone() {
            self.release_on(ctx, grant, store);
        }
    }

    /// One release of `grant` on `store`: compare-and-delete, or one hold of the read-write lock.
    fn release_on(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64, store: NodeId) {
        let owner = self.owner(ctx.me(), grant);
        let key = self.config.key.clone();
        let cmd = match self.config.mode {
            LockMode::Plain => Cmd::Script { script: ScriptName::CompareAndDelete, keys: vec![key], args: vec![owner] },
            LockMode::Read | LockMode::Write => {
                Cmd::Script { script: ScriptName::RwRelease, keys: vec![key], args: vec![owner, self.lease_ms()] }
            }
        };
        self.request(ctx, Purpose::Release { grant }, store, cmd);
    }

    fn lease_ms(&self) -> String {
        i64::try_from(self.config.options.lease.as_millis()).unwrap_or(i64::MAX).to_string()
    }

    /// The acquire command: `SET NX PX`, `acquire_fenced`, or the read-write lock's.
    fn acquire_cmd(&self, owner: String) -> Cmd {
        let key = self.config.key.clone();
        if let Some(mode) = self.config.mode.rw() {
            return Cmd::Script {
                script: ScriptName::RwAcquire,
                keys: vec![key],
                args: vec![owner, self.lease_ms(), mode.to_owned()],
            };
        }
        if self.config.fencing {
            return Cmd::Script {
                script: ScriptName::AcquireFenced,
                keys: vec![key, self.fence_key()],
                args: vec![owner, self.lease_ms()],
            };
        }
        let lease_ms = i64::try_from(self.config.options.lease.as_millis()).unwrap_or(i64::MAX);
        Cmd::Set {
            key,
            value: owner,
            condition: Some(SetCondition::Nx),
            expiry: Some(SetExpiry::Px(lease_ms)),
            get: false,
        }
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

    /// A fresh acquire attempt for `grant` (first or retry): counts reset, requests sent now.
    fn start_attempt(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64, started: SimTime, deadline: SimTime) {
        let sent_at = ctx.now();
        self.phase =
            Phase::Acquiring { grant, attempt: 0, started, deadline, sent_at, granted: 0, answered: 0, token: None };
        self.send_acquire(ctx, grant);
    }

    /// Arms the session heartbeat: a ping every third of the session timeout.
    fn arm_ping(&self, ctx: &mut Ctx<'_, LockProtocol>) {
        if let Some(zk) = self.config.zookeeper {
            ctx.set_timer(PING, SimDuration::from_micros((zk.session_timeout.as_micros() / 3).max(1)));
        }
    }

    fn send_acquire(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        let cmd = self.acquire_cmd(self.owner(ctx.me(), grant));
        self.attempts += 1;
        let attempt = self.attempts;
        if let Phase::Acquiring { attempt: a, .. } = &mut self.phase {
            *a = attempt;
        }
        for store in self.config.stores.clone() {
            self.request(ctx, Purpose::Acquire { grant, attempt, store }, store, cmd.clone());
        }
        let retry = self.config.options.retry.as_micros().max(1);
        let jitter = ctx.rng().between(0, retry / 2);
        ctx.set_timer(RETRY, SimDuration::from_micros(retry + jitter));
    }

    fn release(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        match (self.config.zookeeper, self.holding().and_then(|h| h.zk_seq)) {
            (Some(zk), Some(seq)) => ctx.send(zk.service, LockMsg::Zk { msg: ZkMsg::Delete { seq } }),
            _ => {
                // The inner holds first, then the outermost: on a FIFO link the store sees them in
                // that order, and only the last one frees the lock.
                if let Some(store) = self.config.stores.first().copied().filter(|_| self.config.mode.rw().is_some()) {
                    for _ in 0..self.config.reentry {
                        self.release_on(ctx, grant, store);
                    }
                }
                self.release_everywhere(ctx, grant);
            }
        }
        ctx.observe(LockObs::Unlocking { grant });
        self.next_round(ctx); // a lost reply must not leave the client waiting forever
    }

    fn on_acquire_reply(
        &mut self,
        ctx: &mut Ctx<'_, LockProtocol>,
        grant: u64,
        attempt: u64,
        store: NodeId,
        reply: Reply,
    ) {
        let token = match reply {
            Reply::Int(_) if self.config.mode.rw().is_some() => (reply == Reply::Int(1)).then_some(None),
            Reply::Int(t) if t > 0 => Some(u64::try_from(t).ok()),
            Reply::Status(_) => Some(None),
            _ => None, // held by someone else, or an error: try again on the next retry
        };
        let Phase::Acquiring {
            grant: g,
            attempt: a,
            started,
            deadline,
            sent_at,
            mut granted,
            mut answered,
            token: mut got,
        } = self.phase
        else {
            return self.hand_back(ctx, grant, store, token.is_some());
        };
        if g != grant || a != attempt {
            return self.hand_back(ctx, grant, store, token.is_some());
        }
        answered += 1;
        if let Some(t) = token {
            granted += 1;
            got = t;
        }
        self.phase = Phase::Acquiring { grant, attempt, started, deadline, sent_at, granted, answered, token: got };
        let stores = u32::try_from(self.config.stores.len()).unwrap_or(u32::MAX);
        if granted >= self.quorum() {
            let lease = self.config.options.lease;
            let elapsed = ctx.now().saturating_since(sent_at);
            let validity = lease.as_micros().saturating_sub(elapsed.as_micros() + self.drift().as_micros());
            if validity == 0 && stores > 1 {
                self.release_everywhere(ctx, grant); // too slow to be worth anything: retry
                return;
            }
            ctx.cancel_timer(RETRY);
            let lease_until =
                SimTime::from_micros((sent_at + lease).as_micros().saturating_sub(self.drift().as_micros()));
            self.phase = Phase::Holding(Hold { grant, token: got, lease_until, writes_sent: 0, zk_seq: None });
            let waited_us = ctx.now().saturating_since(started).as_micros();
            ctx.observe(LockObs::Acquired { grant, token: got, waited_us, shared: self.config.mode == LockMode::Read });
            if self.config.watchdog {
                ctx.set_timer(RENEW, self.renew_every());
            }
            if let Some(store) = self.config.stores.first().copied().filter(|_| self.config.mode.rw().is_some()) {
                for _ in 0..self.config.reentry {
                    let cmd = self.acquire_cmd(self.owner(ctx.me(), grant));
                    self.request(ctx, Purpose::Reenter { grant }, store, cmd);
                }
            }
            ctx.set_timer(WORK, SimDuration::ZERO);
        } else if answered == stores && granted > 0 {
            self.release_everywhere(ctx, grant); // no majority: hand back the partial grants
        }
    }

    /// A grant that arrived for an attempt we no longer pursue (we gave up, a duplicate, an
    /// attempt that already failed): hand it back to that store.
    fn hand_back(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64, store: NodeId, granted: bool) {
        if granted {
            self.release_on(ctx, grant, store);
        }
    }

    fn zk(&self, ctx: &mut Ctx<'_, LockProtocol>, msg: ZkMsg) {
        if let Some(zk) = self.config.zookeeper {
            ctx.send(zk.service, LockMsg::Zk { msg });
        }
    }

    /// The ZooKeeper recipe, one answer at a time.
    fn on_zk(&mut self, ctx: &mut Ctx<'_, LockProtocol>, msg: ZkMsg) {
        let waiting = match self.phase {
            Phase::ZkWaiting { grant, started, deadline, seq } => Some((grant, started, deadline, seq)),
            _ => None,
        };
        match (msg, waiting) {
            (ZkMsg::Created { seq }, Some((grant, started, deadline, None))) => {
                self.phase = Phase::ZkWaiting { grant, started, deadline, seq: Some(seq) };
                self.zk(ctx, ZkMsg::Children);
            }
            (ZkMsg::Created { seq }, _) => self.zk(ctx, ZkMsg::Delete { seq }), // a node we no longer want
            (ZkMsg::ChildrenAre { seqs }, Some((grant, started, _, Some(mine)))) => {
                if seqs.first() == Some(&mine) {
                    let token = self.config.fencing.then_some(mine);
                    let hold = Hold { grant, token, lease_until: SimTime::MAX, writes_sent: 0, zk_seq: Some(mine) };
                    self.phase = Phase::Holding(hold);
                    ctx.cancel_timer(RETRY);
                    let waited_us = ctx.now().saturating_since(started).as_micros();
                    ctx.observe(LockObs::Acquired { grant, token, waited_us, shared: false });
                    ctx.set_timer(WORK, SimDuration::ZERO);
                } else if let Some(&predecessor) = seqs.iter().filter(|s| **s < mine).max() {
                    self.zk(ctx, ZkMsg::Watch { seq: predecessor }); // only the predecessor: no herd
                }
            }
            (ZkMsg::Watching { exists: false, .. } | ZkMsg::WatchFired { .. }, Some((_, _, _, Some(_)))) => {
                self.zk(ctx, ZkMsg::Children);
            }
            (ZkMsg::SessionExpired, _) => {
                if let Some(hold) = self.holding() {
                    ctx.observe(LockObs::RenewalFailed { grant: hold.grant }); // the session was the lease
                }
                if !matches!(self.phase, Phase::Idle) {
                    self.next_round(ctx);
                }
            }
            _ => {}
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
        self.arm_ping(ctx);
        match self.config.first_round_after {
            Some(after) if self.incarnation == 0 => ctx.set_timer(ROUND, after),
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
            Purpose::Release { grant } => ctx.observe(match (self.config.mode, reply) {
                (LockMode::Plain, reply) => LockObs::Released { grant, deleted: reply == Reply::Int(1) },
                (_, Reply::Int(holds)) if holds > 0 => LockObs::StillHeld { grant, holds },
                (_, reply) => LockObs::Released { grant, deleted: reply == Reply::Int(0) },
            }),
            Purpose::Reenter { grant } => match reply {
                Reply::Int(holds) if holds > 1 => ctx.observe(LockObs::Reentered { grant, holds }),
                _ if self.holding().is_some_and(|h| h.grant == grant) => {
                    // Our own lock refused us: the lease ran out under us.
                    ctx.observe(LockObs::RenewalFailed { grant });
                    self.next_round(ctx);
                }
                _ => {}
            },
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LockProtocol>, timer: TimerId) {
        match (timer, self.phase) {
            (ROUND, Phase::Idle) if self.config.zookeeper.is_some() => {
                self.grants += 1;
                let now = ctx.now();
                self.phase = Phase::ZkWaiting {
                    grant: self.grants,
                    started: now,
                    deadline: now + self.config.options.wait,
                    seq: None,
                };
                self.zk(ctx, ZkMsg::Create);
                ctx.set_timer(RETRY, self.config.options.retry);
            }
            (RETRY, Phase::ZkWaiting { deadline, seq, .. }) => {
                if ctx.now() >= deadline {
                    if let Some(seq) = seq {
                        self.zk(ctx, ZkMsg::Delete { seq });
                    }
                    ctx.observe(LockObs::GaveUp);
                    self.next_round(ctx);
                } else {
                    ctx.set_timer(RETRY, self.config.options.retry);
                }
            }
            (PING, _) => {
                self.zk(ctx, ZkMsg::Ping);
                self.arm_ping(ctx);
            }
            (ROUND, Phase::Idle) => {
                self.grants += 1;
                let grant = self.grants;
                let now = ctx.now();
                let deadline = now + self.config.options.wait;
                self.start_attempt(ctx, grant, now, deadline);
            }
            (RETRY, Phase::Acquiring { grant, started, deadline, granted, .. }) => {
                let now = ctx.now();
                if granted > 0 {
                    self.release_everywhere(ctx, grant); // an attempt that timed out short of a majority
                }
                if now >= deadline {
                    ctx.observe(LockObs::GaveUp);
                    self.next_round(ctx);
                } else {
                    self.start_attempt(ctx, grant, started, deadline);
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
                if self.config.mode != LockMode::Read {
                    // A reader's work is reading: it sends nothing to the resource.
                    let write = LockMsg::Write { grant: hold.grant, token: hold.token, seq: hold.writes_sent };
                    ctx.send(self.config.resource, write);
                }
                self.phase = Phase::Holding(hold);
                if hold.writes_sent >= self.config.writes {
                    self.release(ctx, hold.grant);
                } else {
                    ctx.set_timer(WORK, SimDuration::ZERO);
                }
            }
            (RENEW, Phase::Holding(hold)) => {
                let script = match self.config.mode {
                    LockMode::Plain => ScriptName::CompareAndPExpire,
                    LockMode::Read | LockMode::Write => ScriptName::RwRenew,
                };
                let args = vec![self.owner(ctx.me(), hold.grant), self.lease_ms()];
                let cmd = Cmd::Script { script, keys: vec![self.config.key.clone()], args };
                let sent_at = ctx.now();
                let store = self.config.stores[0]; // the watchdog needs a single store (validated)
                self.request(ctx, Purpose::Renew { grant: hold.grant, sent_at }, store, cmd);
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
            Phase::ZkWaiting { grant, .. } => ("waiting", Some(grant), None),
        };
        serde_json::json!({ "phase": phase, "grant": grant, "token": token, "incarnation": self.incarnation })
    }
}
