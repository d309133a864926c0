//! Cache eviction policies (46.3, exercise 3): each O(1) (amortised) per access, bounded by an
//! entry count, judged by hits and misses on the same trace of keys; and Belady's optimal policy
//! as the ceiling no online policy can beat.
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
    /// The key was missing and is now cached; `evicted` made room for it.
    Miss {
        evicted: Option<u64>,
    },
}

/// An online eviction policy over `u64` keys (a workload's keys, or hashes of strings).
pub trait Policy {
    fn name(&self) -> &'static str;
    /// Reads `key`: a hit, or a miss after which the key is cached (evicting if full).
    fn access(&mut self, key: u64) -> Access;
    fn contains(&self, key: u64) -> bool;
    /// Drops `key` (it expired, or was invalidated); false if it was not cached.
    fn remove(&mut self, key: u64) -> bool;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn capacity(&self) -> usize;
}

/// Hits of `policy` over `trace`.
pub fn hits(policy: &mut dyn Policy, trace: &[u64]) -> usize {
    trace.iter().filter(|&&k| policy.access(k) == Access::Hit).count()
}

#[cfg(test)]
mod tests;
