//! Consistent hashing with bounded loads (46.4.1; Mirrokni, Thorup and Zadimoghaddam, 2016; in
//! HAProxy as `hash-balance-factor`).
//!
//! Plain consistent hashing keeps a key on its backend, which is what caches want, but a hot
//! key (or an unlucky arc) piles load onto one backend while others idle. With bounded loads
//! every backend has a capacity of `⌈(1 + ε) · (requests in flight + 1) · weight / total
//! weight⌉`, and a request walks clockwise from its key's point to the first backend in rotation
//! that is under its capacity: keys stay where they hash while loads are even, and overflow
//! moves to the next backends on the ring, never more than a factor of (1 + ε) above the mean.
//! The chapter's `ConsistentHashLoadBalancer` has no bound, and sorts its whole ring on every
//! request (see [`super::chapter`]); this ring stays sorted ([`HashRing`]).

use std::collections::BTreeMap;

use super::{Algorithm, View};
use crate::hashing::{HashRing, VNODES_DEFAULT};
use crate::sim::Rng;

/// HAProxy's recommended `hash-balance-factor`: ε = 0.25.
pub const BALANCE_FACTOR_DEFAULT: u64 = 125;

#[derive(Clone, Debug)]
pub struct BoundedLoad {
    /// `100 · (1 + ε)`, as HAProxy writes it.
    factor: u64,
    ring: Option<HashRing>,
    index: BTreeMap<String, usize>,
}

impl Default for BoundedLoad {
    fn default() -> Self {
        BoundedLoad::new(BALANCE_FACTOR_DEFAULT)
    }
}

impl BoundedLoad {
    /// `factor` is `100 · (1 + ε)`; at least 100 (no slack: every backend exactly at the mean).
    pub fn new(factor: u64) -> Self {
        BoundedLoad { factor: factor.max(100), ring: None, index: BTreeMap::new() }
    }

    /// Whether backend `i` may take one more request: `(load + 1) ≤ ⌈(total + 1) · factor ·
    /// weight / (100 · total weight)⌉`, in integers.
    fn under_capacity(&self, view: &View, i: usize, total_load: u64, total_weight: u64) -> bool {
        let b = &view.backends[i];
        let num = (total_load + 1) * self.factor * u64::from(b.weight);
        let den = 100 * total_weight;
        u64::from(b.outstanding) < num.div_ceil(den)
    }
}

impl Algorithm for BoundedLoad {
    fn pick(&mut self, key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        let ring = self.ring.as_ref()?;
        let up = |i: usize| view.backends[i].up && view.backends[i].weight > 0;
        let (mut total_load, mut total_weight) = (0u64, 0u64);
        for (i, b) in view.backends.iter().enumerate() {
            if up(i) {
                total_load += u64::from(b.outstanding);
                total_weight += u64::from(b.weight);
            }
        }
        let walk: Vec<usize> =
            ring.get_nodes(key, view.backends.len()).iter().filter_map(|n| self.index.get(*n).copied()).collect();
        walk.iter()
            .copied()
            .find(|&i| up(i) && self.under_capacity(view, i, total_load, total_weight))
            .or_else(|| walk.into_iter().find(|&i| up(i)))
    }

    /// The ring holds every configured backend with a weight (relative to the largest), so that
    /// a backend leaving rotation and coming back does not move anyone else's points.
    fn rebuild(&mut self, view: &View) {
        let max = view.backends.iter().map(|b| b.weight).max().unwrap_or(0);
        self.index = view.backends.iter().enumerate().map(|(i, b)| (b.name.clone(), i)).collect();
        let ring = HashRing::new(VNODES_DEFAULT).ok().map(|mut ring| {
            for b in view.backends.iter().filter(|b| b.weight > 0) {
                // Names are unique and non-empty in a validated view; a bad one is left off.
                let _ = ring.add_node(&b.name, f64::from(b.weight) / f64::from(max));
            }
            ring
        });
        self.ring = ring;
    }
}
