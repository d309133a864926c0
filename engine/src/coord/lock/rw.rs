//! Redisson's reentrant read-write lock (`RLock`, `RReadWriteLock`; 46.7.1), on one store: the
//! lock is a hash of its mode and one hold count per owner (the `rw_acquire`, `rw_release` and
//! `rw_renew` scripts). A client in [`LockMode::Write`] holds it alone, in [`LockMode::Read`]
//! together with other readers; with `reentry`, each hold takes the lock again that many times,
//! as a method calling another locked method does, and gives it back as many times: only the
//! last release frees it.

use super::{LockClient, LockMode, Purpose};
use crate::actor::Ctx;
use crate::coord::{LockObs, LockProtocol};
use crate::store::{Cmd, Reply, ScriptName};

impl LockMode {
    /// The mode argument of the read-write lock's scripts; `None` for the plain lock.
    pub(super) fn rw(self) -> Option<&'static str> {
        match self {
            LockMode::Plain => None,
            LockMode::Read => Some("read"),
            LockMode::Write => Some("write"),
        }
    }
}

impl LockClient {
    /// The read-write lock's acquire command for `owner`, when this client takes one.
    pub(super) fn rw_acquire_cmd(&self, owner: &str) -> Option<Cmd> {
        let mode = self.config.mode.rw()?;
        Some(Cmd::Script {
            script: ScriptName::RwAcquire,
            keys: vec![self.config.key.clone()],
            args: vec![owner.to_owned(), self.lease_ms(), mode.to_owned()],
        })
    }

    /// One hold of the read-write lock given back.
    pub(super) fn rw_release_cmd(&self, owner: String) -> Cmd {
        Cmd::Script {
            script: ScriptName::RwRelease,
            keys: vec![self.config.key.clone()],
            args: vec![owner, self.lease_ms()],
        }
    }

    /// The store of a read-write lock (it has exactly one), for the holds beyond the first.
    fn rw_store(&self) -> Option<crate::actor::NodeId> {
        self.config.stores.first().copied().filter(|_| self.config.mode.rw().is_some())
    }

    /// Just acquired: take the lock `reentry` more times, as nested locked calls do.
    pub(super) fn reenter(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        if let Some(store) = self.rw_store() {
            for _ in 0..self.config.reentry {
                let cmd = self.acquire_cmd(self.owner(ctx.me(), grant));
                self.request(ctx, Purpose::Reenter { grant }, store, cmd);
            }
        }
    }

    /// Releasing: the inner holds first (the outermost is released with the others after).
    pub(super) fn release_reentries(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64) {
        if let Some(store) = self.rw_store() {
            for _ in 0..self.config.reentry {
                self.release_on(ctx, grant, store);
            }
        }
    }

    /// What a release's reply says: deleted, or (read-write lock) still held that many times.
    pub(super) fn released(&self, grant: u64, reply: &Reply) -> LockObs {
        match (self.config.mode, reply) {
            (LockMode::Plain, reply) => LockObs::Released { grant, deleted: *reply == Reply::Int(1) },
            (_, Reply::Int(holds)) if *holds > 0 => LockObs::StillHeld { grant, holds: *holds },
            (_, reply) => LockObs::Released { grant, deleted: *reply == Reply::Int(0) },
        }
    }

    /// A reentry's reply: one more hold, or our own lock refusing us (the lease ran out under us).
    pub(super) fn on_reenter_reply(&mut self, ctx: &mut Ctx<'_, LockProtocol>, grant: u64, reply: &Reply) {
        match reply {
            Reply::Int(holds) if *holds > 1 => ctx.observe(LockObs::Reentered { grant, holds: *holds }),
            _ if self.holding().is_some_and(|h| h.grant == grant) => {
                ctx.observe(LockObs::RenewalFailed { grant });
                self.next_round(ctx);
            }
            _ => {}
        }
    }
}
