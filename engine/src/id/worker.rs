//! Worker ids leased from the store (46.7.2). The chapter configures a worker id by hand and
//! nothing stops two processes from sharing one: they mint the same IDs. Here a generator claims
//! `<prefix>worker:<n>` with `SET NX PX` (the first free `n` from where it starts looking), renews it
//! with a compare-and-pexpire (only while it still owns it) every third of the lease, and stops
//! minting as soon as it cannot be sure it still holds it: when a renewal is refused, or when
//! its own clock passes the lease it was last granted.

use serde::{Deserialize, Serialize};

use crate::store::{Cmd, Reply, ScriptName, SetCondition, SetExpiry};

/// Where a generator's lease stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "lease", rename_all = "snake_case")]
pub enum LeaseState {
    /// Looking for a free id: `worker` is the one asked for.
    Seeking { worker: u64, tried: u64 },
    /// Holding `worker` until `until_ms` on its own clock (the grant's time plus the TTL: the
    /// store's copy lasts at least that long, since the grant left the store after the request
    /// was sent).
    Held { worker: u64, until_ms: u64 },
    /// Every id was taken when last asked.
    Exhausted,
}

/// A worker-id lease.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerLease {
    prefix: String,
    owner: String,
    ttl_ms: u64,
    /// Ids `0..=max_worker` exist.
    max_worker: u64,
    state: LeaseState,
    /// When the request in flight was sent (its own clock).
    sent_ms: u64,
}

impl WorkerLease {
    /// A lease for `owner` (unique per process) on keys `<prefix>worker:<n>`, looking from
    /// `first`.
    pub fn new(prefix: impl Into<String>, owner: impl Into<String>, ttl_ms: u64, max_worker: u64, first: u64) -> Self {
        let worker = first % (max_worker + 1);
        WorkerLease {
            prefix: prefix.into(),
            owner: owner.into(),
            ttl_ms: ttl_ms.max(3),
            max_worker,
            state: LeaseState::Seeking { worker, tried: 0 },
            sent_ms: 0,
        }
    }

    /// A restarted generator's lease on the id it held: its first request renews that id (the
    /// key may still be its own), and it mints nothing until the renewal is granted.
    pub fn resuming(mut self, worker: u64) -> Self {
        self.state = LeaseState::Held { worker: worker % (self.max_worker + 1), until_ms: 0 };
        self
    }

    /// The id last granted, valid or not (what a crash keeps).
    pub fn held_worker(&self) -> Option<u64> {
        match self.state {
            LeaseState::Held { worker, .. } => Some(worker),
            _ => None,
        }
    }

    pub fn state(&self) -> LeaseState {
        self.state
    }

    fn key(&self, worker: u64) -> String {
        format!("{}worker:{worker}", self.prefix)
    }

    /// The worker id, while the lease is valid at `now_ms`.
    pub fn worker(&self, now_ms: u64) -> Option<u64> {
        match self.state {
            LeaseState::Held { worker, until_ms } if now_ms < until_ms => Some(worker),
            _ => None,
        }
    }

    /// How often to renew (or retry a claim): a third of the lease.
    pub fn renew_every_ms(&self) -> u64 {
        self.ttl_ms / 3
    }

    /// The request to send now: a claim while seeking, a renewal while holding.
    pub fn request(&mut self, now_ms: u64) -> Cmd {
        self.sent_ms = now_ms;
        let ttl = i64::try_from(self.ttl_ms).unwrap_or(i64::MAX);
        match self.state {
            LeaseState::Seeking { worker, .. } => Cmd::Set {
                key: self.key(worker),
                value: self.owner.clone(),
                condition: Some(SetCondition::Nx),
                expiry: Some(SetExpiry::Px(ttl)),
                get: false,
            },
            LeaseState::Held { worker, .. } => Cmd::Script {
                script: ScriptName::CompareAndPExpire,
                keys: vec![self.key(worker)],
                args: vec![self.owner.clone(), self.ttl_ms.to_string()],
            },
            LeaseState::Exhausted => {
                self.state = LeaseState::Seeking { worker: 0, tried: 0 };
                self.request(now_ms)
            }
        }
    }

    /// The store's answer to the last request.
    pub fn on_reply(&mut self, reply: &Reply) {
        let until_ms = self.sent_ms + self.ttl_ms;
        self.state = match (self.state, reply) {
            (LeaseState::Seeking { worker, .. }, Reply::Status(_)) => LeaseState::Held { worker, until_ms },
            (LeaseState::Seeking { worker, tried }, _) if tried < self.max_worker => {
                LeaseState::Seeking { worker: (worker + 1) % (self.max_worker + 1), tried: tried + 1 }
            }
            (LeaseState::Seeking { .. }, _) => LeaseState::Exhausted,
            (LeaseState::Held { worker, .. }, Reply::Int(1)) => LeaseState::Held { worker, until_ms },
            // Refused (someone else holds it now) or an error: look again from the same id.
            (LeaseState::Held { worker, .. }, _) => LeaseState::Seeking { worker, tried: 0 },
            (LeaseState::Exhausted, _) => LeaseState::Exhausted,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Keyspace;

    #[test]
    fn two_generators_lease_different_ids_and_a_lapsed_lease_stops_minting() {
        let mut ks = Keyspace::new();
        let mut a = WorkerLease::new("ids:", "a", 3_000, 3, 0);
        let mut b = WorkerLease::new("ids:", "b", 3_000, 3, 0);
        let r = ks.apply(0, &a.request(0));
        a.on_reply(&r);
        let r = ks.apply(0, &b.request(0));
        b.on_reply(&r);
        assert_eq!(a.worker(0), Some(0));
        assert_eq!(b.worker(0), None, "id 0 is taken: b tries 1 next");
        let r = ks.apply(0, &b.request(1));
        b.on_reply(&r);
        assert_eq!(b.worker(1), Some(1));
        // a renews in time; b does not, and stops minting when its lease runs out by its clock.
        let r = ks.apply(1_000, &a.request(1_000));
        a.on_reply(&r);
        assert_eq!((a.worker(3_500), b.worker(3_001)), (Some(0), None));
        // Once b's key expired, a third generator may take id 1; b's renewal is then refused.
        let mut c = WorkerLease::new("ids:", "c", 3_000, 3, 1);
        let r = ks.apply(4_000, &c.request(4_000));
        c.on_reply(&r);
        assert_eq!(c.worker(4_000), Some(1));
        let r = ks.apply(4_100, &b.request(4_100));
        b.on_reply(&r);
        assert_eq!(b.state(), LeaseState::Seeking { worker: 1, tried: 0 });
    }

    #[test]
    fn a_restarted_generator_renews_the_id_it_held_and_waits_until_it_is_granted() {
        let mut ks = Keyspace::new();
        let mut a = WorkerLease::new("ids:", "a", 3_000, 3, 2);
        let r = ks.apply(0, &a.request(0));
        a.on_reply(&r);
        assert_eq!(a.held_worker(), Some(2));
        let mut again = WorkerLease::new("ids:", "a", 3_000, 3, 0).resuming(2);
        assert_eq!(again.worker(500), None, "not before the renewal");
        let r = ks.apply(500, &again.request(500));
        again.on_reply(&r);
        assert_eq!(again.worker(500), Some(2));
    }

    #[test]
    fn with_every_id_taken_the_lease_says_so() {
        let mut ks = Keyspace::new();
        let mut a = WorkerLease::new("ids:", "a", 3_000, 0, 0);
        let mut b = WorkerLease::new("ids:", "b", 3_000, 0, 0);
        let r = ks.apply(0, &a.request(0));
        a.on_reply(&r);
        let r = ks.apply(0, &b.request(0));
        b.on_reply(&r);
        assert_eq!(b.state(), LeaseState::Exhausted);
    }
}
