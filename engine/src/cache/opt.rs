//! Belady's optimal policy (OPT, 1966): with the whole future known, evict the key used again
//! furthest ahead, or do not admit the new key at all when it is that key (as an admission filter
//! like W-TinyLFU's may). No online policy gets more hits on the same trace and capacity: the
//! ceiling the lab draws next to the real policies.

use std::collections::BTreeSet;

use super::index::index;

/// Hits of OPT over `trace` with room for `capacity` keys.
pub fn belady_hits(trace: &[u64], capacity: usize) -> usize {
    let capacity = capacity.max(1);
    // Where each position's key is used next (usize::MAX: never again).
    let mut next = vec![usize::MAX; trace.len()];
    let mut seen = index(trace.len().min(1 << 20));
    for (i, &k) in trace.iter().enumerate().rev() {
        if let Some(&j) = seen.get(&k) {
            next[i] = j;
        }
        seen.insert(k, i);
    }
    // Cached keys by their next use, furthest last; and each cached key's next use.
    let mut by_next: BTreeSet<(usize, u64)> = BTreeSet::new();
    let mut cached = index(capacity);
    let mut hits = 0;
    for (i, &k) in trace.iter().enumerate() {
        if let Some(&due) = cached.get(&k) {
            hits += 1;
            by_next.remove(&(due, k));
        } else if cached.len() >= capacity {
            match by_next.last().copied() {
                Some((furthest, victim)) if furthest > next[i] => {
                    by_next.remove(&(furthest, victim));
                    cached.remove(&victim);
                }
                _ => continue, // the new key is the one used furthest ahead: do not admit it
            }
        }
        by_next.insert((next[i], k));
        cached.insert(k, next[i]);
    }
    hits
}

/// Hits of the best *static* cache: the `capacity` keys used most over the whole trace, held from
/// their first use (every other access a hit). On a trace whose popularity does not change (Zipf),
/// this is what a frequency policy with perfect counts reaches; the gap between it and
/// [`belady_hits`] is what only knowledge of the order of future accesses buys.
pub fn best_static_hits(trace: &[u64], capacity: usize) -> usize {
    let mut counts = index::<usize>(trace.len().min(1 << 20));
    for &k in trace {
        *counts.entry(k).or_default() += 1;
    }
    let mut counts: Vec<usize> = counts.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    counts.iter().take(capacity.max(1)).map(|c| c - 1).sum()
}
