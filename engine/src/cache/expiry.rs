//! Expiry (46.3): a time to live per entry (or a default one), enforced two ways, as Redis does.
//! Lazily: an access that finds its key expired removes it and counts a miss. Actively: a timer
//! samples keys that have a deadline (20 at a time) and removes the expired ones, sampling again
//! while more than a quarter of a sample had expired, so that keys nobody reads do not hold
//! memory forever.

use super::index::{Index, index};
use super::{Access, Policy};
use crate::sim::Rng;

/// What a cache did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub expirations: u64,
}

/// A policy with deadlines (milliseconds on the caller's clock).
#[derive(Debug)]
pub struct Expiring<P: Policy> {
    policy: P,
    default_ttl_ms: Option<u64>,
    /// Key → (deadline, position in `with_deadline`).
    deadlines: Index<(u64, usize)>,
    /// The keys that have a deadline, for sampling by position.
    with_deadline: Vec<u64>,
    stats: CacheStats,
    /// Scratch for the keys one access evicts.
    evicted: Vec<u64>,
}

/// Keys sampled per round of active expiry, and the share of expired keys that asks for another
/// round (Redis: 20 and 25%).
const SAMPLE: usize = 20;

impl<P: Policy> Expiring<P> {
    pub fn new(policy: P, default_ttl_ms: Option<u64>) -> Self {
        let capacity = policy.capacity();
        Expiring {
            policy,
            default_ttl_ms,
            deadlines: index(capacity),
            with_deadline: Vec::new(),
            stats: CacheStats::default(),
            evicted: Vec::new(),
        }
    }

    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    pub fn contains(&self, key: u64) -> bool {
        self.policy.contains(key)
    }

    pub fn len(&self) -> usize {
        self.policy.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policy.is_empty()
    }

    /// Reads `key` at `now_ms`; on a miss it is cached with `ttl_ms` (or the default).
    pub fn access(&mut self, now_ms: u64, key: u64, ttl_ms: Option<u64>) -> Access {
        if self.deadlines.get(&key).is_some_and(|&(due, _)| now_ms >= due) {
            self.expire(key);
        }
        let mut evicted = std::mem::take(&mut self.evicted);
        let hit = self.policy.access_weighted(key, 1, &mut evicted);
        for e in evicted.drain(..) {
            self.stats.evictions += 1;
            self.forget(e);
        }
        self.evicted = evicted;
        if hit {
            self.stats.hits += 1;
            return Access::Hit;
        }
        self.stats.misses += 1;
        if let Some(ttl) = ttl_ms.or(self.default_ttl_ms) {
            self.set_deadline(key, now_ms.saturating_add(ttl));
        }
        Access::Miss
    }

    /// One active expiry pass at `now_ms`; returns how many keys it removed.
    pub fn expire_active(&mut self, now_ms: u64, rng: &mut Rng) -> usize {
        let mut removed = 0;
        loop {
            let n = self.with_deadline.len();
            if n == 0 {
                return removed;
            }
            let mut expired = 0;
            for _ in 0..SAMPLE.min(n) {
                let len = u64::try_from(self.with_deadline.len()).expect("a usize fits a u64");
                if len == 0 {
                    break;
                }
                let key = self.with_deadline[usize::try_from(rng.below(len)).unwrap_or(0)];
                if self.deadlines.get(&key).is_some_and(|&(due, _)| now_ms >= due) {
                    self.expire(key);
                    expired += 1;
                }
            }
            removed += expired;
            if expired * 4 <= SAMPLE.min(n) {
                return removed;
            }
        }
    }

    fn expire(&mut self, key: u64) {
        self.policy.remove(key);
        self.forget(key);
        self.stats.expirations += 1;
    }

    fn set_deadline(&mut self, key: u64, due: u64) {
        self.forget(key);
        self.deadlines.insert(key, (due, self.with_deadline.len()));
        self.with_deadline.push(key);
    }

    /// Drops `key`'s deadline, if it had one.
    fn forget(&mut self, key: u64) {
        if let Some((_, at)) = self.deadlines.remove(&key) {
            self.with_deadline.swap_remove(at);
            if let Some(&moved) = self.with_deadline.get(at)
                && let Some(entry) = self.deadlines.get_mut(&moved)
            {
                entry.1 = at;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::cache::{Lfu, Lru, WTinyLfu};

    #[test]
    fn a_key_lives_until_its_deadline_not_at_it() {
        let mut c = Expiring::new(Lru::new(10), Some(1_000));
        assert_eq!(c.access(0, 1, Some(100)), Access::Miss);
        assert_eq!(c.access(99, 1, None), Access::Hit, "still there 1 ms before");
        assert!(matches!(c.access(100, 1, None), Access::Miss), "gone at its deadline");
        assert_eq!(c.stats(), CacheStats { hits: 1, misses: 2, evictions: 0, expirations: 1 });
        c.access(100, 2, None);
        assert_eq!(c.access(1_099, 2, None), Access::Hit, "the default TTL");
        assert!(matches!(c.access(1_100, 2, None), Access::Miss));
        let mut forever = Expiring::new(Lru::new(10), None);
        forever.access(0, 3, None);
        assert_eq!(forever.access(u64::MAX, 3, None), Access::Hit, "no TTL, no expiry");
    }

    #[test]
    fn active_expiry_removes_keys_nobody_reads() {
        let mut c = Expiring::new(WTinyLfu::new(400), None);
        for k in 0..100 {
            c.access(0, k, Some(10));
            c.access(0, 1_000 + k, None);
        }
        let mut rng = crate::sim::Rng::new(1);
        assert_eq!(c.expire_active(5, &mut rng), 0, "nothing is due yet");
        assert_eq!(c.expire_active(20, &mut rng), 100, "every due key, never read again");
        assert_eq!((c.len(), c.stats().expirations), (100, 100));
        assert!((1_000..1_100).all(|k| c.contains(k)), "keys without a TTL stay");
    }

    proptest! {
        /// Deadlines never outlive their keys, whatever evicts or expires them.
        #[test]
        fn deadlines_follow_the_keys(ops in proptest::collection::vec((0u64..30, 0u64..50, any::<bool>(), any::<bool>()), 1..300)) {
            let mut c = Expiring::new(Lfu::new(8, 40), None);
            let mut rng = crate::sim::Rng::new(7);
            let mut now = 0;
            for (key, dt, ttl, sweep) in ops {
                now += dt;
                c.access(now, key, ttl.then_some(25));
                if sweep {
                    c.expire_active(now, &mut rng);
                }
                prop_assert_eq!(c.deadlines.len(), c.with_deadline.len());
                for (k, &(_, at)) in &c.deadlines {
                    prop_assert!(c.policy.contains(*k), "a deadline for a key that is gone");
                    prop_assert_eq!(c.with_deadline[at], *k);
                }
            }
        }
    }
}
