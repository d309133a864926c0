//! The lease lock (46.7.1): `SET key owner NX PX lease` (or, with fencing, `acquire_fenced`, which
//! also returns the next token), retried every `retry` plus jitter until `wait` has passed; the
//! watchdog's compare-and-pexpire; compare-and-delete to release. With several independent
//! stores it is Redlock: the same command on every store, held when a majority granted it within
//! its validity (lease − elapsed − drift), partial grants handed back at once, released
//! everywhere. One store is exactly the plain lock.

use super::{Hold, LockClient, LockMode, LockTimer, Phase, Purpose};
use crate::actor::{Ctx, NodeId};
use crate::coord::{LockObs, LockProtocol};
use crate::sim::{SimDuration, SimTime};
use crate::store::{Cmd, Reply, ScriptName, SetCondition, SetExpiry};

impl LockClient {
    /// A new round: the next grant's first attempt.
    pub(super) fn begin_acquire(&mut self, ctx: &mut Ctx<'_, LockProtocol>) {
        self.grants += 1;
        let grant = self.grants;
        let now = ctx.now();
        let deadline = now + self.config.options.wait;
        self.start_attempt(ctx, grant, now, deadline);
    }

    /// The attempt went unanswered by a majority: hand back its partial grants, then try again
    /// or, past the wait, give up.
    pub(super) fn retry_acquire(
        &mut self,
        ctx: &mut Ctx<'_, LockProtocol>,
        grant: u64,
        started: SimTime,
        deadline: SimTime,
        granted: u32,
    ) {
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

    /// The watchdog: extends the lease by compare-and-pexpire (or the read-write lock's renewal).
    pub(super) fn renew(&mut self, ctx: &mut Ctx<'_, LockProtocol>, hold: Hold) {
        let script = match self.config.mode {
            LockMode::Plain => ScriptName::CompareAndPExpire,
            LockMode::Read | LockMode::Write => ScriptName::RwRenew,
        };
        let args = vec![self.owner(ctx.me(), hold.grant), self.lease_ms()];
        let cmd = Cmd::Script { script, keys: vec![self.config.key.clone()], args };
        let sent_at = ctx.now();
        let store = self.config.stores[0]; // the watchdog needs a single store (validated)
        self.request(ctx, Purpose::Renew { grant: hold.grant, sent_at }, store, cmd);
        ctx.set_timer(LockTimer::Renew, self.renew_every());
    }

    pub(super) fn fence_key(&self) -> String {
        format!("{}:fence", self.config.key)
    }

    /// A majority of the stores (all of one).
    pub(super) fn quorum(&self) -> u32 {
        u32::try_from(self.config.stores.len() / 2 + 1).expect("a handful of stores")
    }

    /// Redlock's allowance for clock drift between stores; none with a single store.
    pub(super) fn drift(&self) -> SimDuration {
        if self.config.stores.len() > 1 {
            SimDuration::from_micros(self.config.options.lease.as_micros() / 100 + 2_000)
        } else {
            SimDuration::ZERO
        }
    }

    /// Compare-and-delete of `grant`'s owner value on every store.
    pub(super) fn release_everywhere(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        for store in self.config.stores.clone() {
            self.release_on(ctx, grant, store);
        }
    }

    /// One release of `grant` on `store`: compare-and-delete, or one hold of the read-write lock.
    pub(super) fn release_on(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64, store: NodeId) {
        let owner = self.owner(ctx.me(), grant);
        let key = self.config.key.clone();
        let cmd = match self.config.mode {
            LockMode::Plain => Cmd::Script { script: ScriptName::CompareAndDelete, keys: vec![key], args: vec![owner] },
            LockMode::Read | LockMode::Write => self.rw_release_cmd(owner),
        };
        self.request(ctx, Purpose::Release { grant }, store, cmd);
    }

    pub(super) fn lease_ms(&self) -> String {
        i64::try_from(self.config.options.lease.as_millis()).unwrap_or(i64::MAX).to_string()
    }

    /// The acquire command: `SET NX PX`, `acquire_fenced`, or the read-write lock's.
    pub(super) fn acquire_cmd(&self, owner: String) -> Cmd {
        let key = self.config.key.clone();
        if let Some(cmd) = self.rw_acquire_cmd(&owner) {
            return cmd;
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

    /// A fresh acquire attempt for `grant` (first or retry): counts reset, requests sent now.
    pub(super) fn start_attempt(
        &mut self,
        ctx: &mut Ctx<'_, LockProtocol>,
        grant: u64,
        started: SimTime,
        deadline: SimTime,
    ) {
        let sent_at = ctx.now();
        self.phase = Phase::Acquiring {
            grant,
            attempt: 0,
            started,
            deadline,
            sent_at,
            retry_at: sent_at,
            granted: 0,
            answered: 0,
            token: None,
        };
        self.send_acquire(ctx, grant);
    }

    fn send_acquire(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        let cmd = self.acquire_cmd(self.owner(ctx.me(), grant));
        self.attempts += 1;
        let attempt = self.attempts;
        for store in self.config.stores.clone() {
            self.request(ctx, Purpose::Acquire { grant, attempt, store }, store, cmd.clone());
        }
        let retry = self.config.options.retry.as_micros().max(1);
        let jitter = ctx.rng().between(0, retry / 2);
        let wait = SimDuration::from_micros(retry + jitter);
        if let Phase::Acquiring { attempt: a, retry_at, .. } = &mut self.phase {
            *a = attempt;
            *retry_at = ctx.now() + wait;
        }
        ctx.set_timer(LockTimer::Retry, wait);
    }

    pub(super) fn on_acquire_reply(
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
            retry_at,
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
        self.phase =
            Phase::Acquiring { grant, attempt, started, deadline, sent_at, retry_at, granted, answered, token: got };
        let stores = u32::try_from(self.config.stores.len()).expect("a handful of stores");
        if granted >= self.quorum() {
            let lease = self.config.options.lease;
            let elapsed = ctx.now().saturating_since(sent_at);
            let validity = lease.as_micros().saturating_sub(elapsed.as_micros() + self.drift().as_micros());
            if validity == 0 && stores > 1 {
                self.release_everywhere(ctx, grant); // too slow to be worth anything: retry
                return;
            }
            ctx.cancel_timer(LockTimer::Retry);
            let lease_until =
                SimTime::from_micros((sent_at + lease).as_micros().saturating_sub(self.drift().as_micros()));
            self.phase = Phase::Holding(Hold { grant, token: got, lease_until, writes_sent: 0, zk_seq: None });
            let waited_us = ctx.now().saturating_since(started).as_micros();
            ctx.observe(LockObs::Acquired { grant, token: got, waited_us, shared: self.config.mode == LockMode::Read });
            if self.config.watchdog {
                ctx.set_timer(LockTimer::Renew, self.renew_every());
            }
            self.reenter(ctx, grant);
            ctx.set_timer(LockTimer::Work, SimDuration::ZERO);
        } else if answered == stores {
            if granted > 0 {
                self.release_everywhere(ctx, grant); // no majority: hand back the partial grants
            }
            if ctx.now() >= retry_at {
                // The retry came due while this try waited for its replies: go now.
                ctx.set_timer(LockTimer::Retry, SimDuration::ZERO);
            }
        }
    }

    /// A grant that arrived for an attempt we no longer pursue (we gave up, a duplicate, an
    /// attempt that already failed): hand it back to that store.
    fn hand_back(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64, store: NodeId, granted: bool) {
        if granted {
            self.release_on(ctx, grant, store);
        }
    }
}
