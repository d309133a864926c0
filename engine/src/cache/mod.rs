//! Cache eviction policies (46.3, exercise 3): each O(1) (amortised) per access, bounded by an
//! entry count and optionally by total weight, judged by hits and misses on the same trace of
//! keys; and Belady's optimal policy as the ceiling no online policy can beat.
//!
//! What the chapter gets wrong: its caches scan a list on every access (O(n)), and its "FIFO"
//! moves an entry to the back when it is read, which makes it LRU. Here FIFO keeps insertion
//! order, and the pinned traces in the tests show where the two part ways.

pub mod app;
pub mod bloom;
pub mod compare;
pub mod database;
pub mod expiry;
mod index;
pub mod lfu;
pub mod list;
pub mod opt;
pub mod recency;
pub mod service;
pub mod tinylfu;
pub mod workload;
pub mod world;

pub use bloom::BloomFilter;
pub use expiry::{CacheStats, Expiring};
pub use lfu::Lfu;
pub use opt::{belady_hits, best_static_hits};
pub use recency::{Fifo, Lru};
pub use tinylfu::WTinyLfu;

/// What one access did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Hit,
    /// The key was missing; it is now cached, unless it weighs more than the whole cache or an
    /// admission policy (W-TinyLFU's) turned it away.
    Miss,
}

/// An online eviction policy over `u64` keys (a workload's keys, or hashes of strings), bounded
/// by its entry count and, optionally, by the total weight of its entries (their sizes in any
/// unit; see each policy's `with_max_weight`). Without a weight bound every entry weighs 1.
pub trait Policy {
    fn name(&self) -> &'static str;
    /// Reads `key`, weighing 1: a hit, or a miss after which the key is cached (evicting if full).
    fn access(&mut self, key: u64) -> Access;
    /// Reads `key`, which weighs `weight`: true on a hit (the key keeps the weight it was cached
    /// with). On a miss the key is cached unless it weighs more than the cache may hold or the
    /// policy refuses it, and the keys evicted, possibly several, are appended to `evicted`.
    fn access_weighted(&mut self, key: u64, weight: u64, evicted: &mut Vec<u64>) -> bool;
    fn contains(&self, key: u64) -> bool;
    /// Drops `key` (it expired, or was invalidated); false if it was not cached.
    fn remove(&mut self, key: u64) -> bool;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The most entries it holds.
    fn capacity(&self) -> usize;
    /// The total weight of its entries.
    fn weight(&self) -> u64;
    /// The most total weight it holds (`u64::MAX`: bounded by the entry count alone).
    fn max_weight(&self) -> u64;
}

/// The two halves every policy is made of: what a hit does, and how a missed key is inserted
/// (reporting each key it evicts). The trait's two access methods are built from them once.
trait Core {
    /// Counts the access; true if the key is cached.
    fn hit(&mut self, key: u64) -> bool;
    fn insert(&mut self, key: u64, weight: u64, evict: impl FnMut(u64));
}

/// [`Policy::access`] for a policy made of a [`Core`].
fn access_unit(core: &mut impl Core, key: u64) -> Access {
    if core.hit(key) {
        return Access::Hit;
    }
    core.insert(key, 1, |_| {});
    Access::Miss
}

/// [`Policy::access_weighted`] for a policy made of a [`Core`].
fn access_with_weight(core: &mut impl Core, key: u64, weight: u64, evicted: &mut Vec<u64>) -> bool {
    if core.hit(key) {
        return true;
    }
    core.insert(key, weight, |k| evicted.push(k));
    false
}

/// Hits of `policy` over `trace`.
pub fn hits(policy: &mut dyn Policy, trace: &[u64]) -> usize {
    trace.iter().filter(|&&k| policy.access(k) == Access::Hit).count()
}

#[cfg(test)]
mod tests;
