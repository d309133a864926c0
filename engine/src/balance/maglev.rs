//! Maglev hashing (46.4.1; Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
//! Balancer", NSDI 2016), as Envoy's `MAGLEV` load balancer.
//!
//! A lookup table of a prime size (65,537 here, the paper's and Envoy's default) is filled so
//! that every backend in rotation owns almost the same number of entries: each backend has its
//! own permutation of the table's slots (`offset + j · skip`, both from hashes of its name) and
//! the backends take turns claiming the next free slot of their permutation. A request's key
//! hash picks a slot: O(1) per lookup, an even spread (within a few entries of each other), and
//! when a backend leaves, mostly only its own slots change hands ("minimal disruption",
//! measured by [`Maglev::disruption`]). Weights are honoured by giving a backend turns in
//! proportion to its weight (Envoy's approach).

use super::{Algorithm, View, key_hash};
use crate::hashing::md5_u128;
use crate::sim::Rng;

/// The table size: prime, and much larger than the number of backends (the paper's M).
pub const TABLE_SIZE: usize = 65_537;
const M: u64 = 65_537;

#[derive(Clone, Debug, Default)]
pub struct Maglev {
    /// Slot → backend index (configured order); empty when no backend is in rotation.
    table: Vec<u32>,
}

impl Maglev {
    /// The table built for `view`.
    pub fn for_view(view: &View) -> Self {
        let mut m = Maglev::default();
        m.rebuild(view);
        m
    }

    pub fn table(&self) -> &[u32] {
        &self.table
    }

    /// How many slots changed backend between two tables of the same size.
    pub fn disruption(&self, other: &Maglev) -> usize {
        self.table.iter().zip(&other.table).filter(|(a, b)| a != b).count()
    }

    /// Slots per backend index.
    pub fn shares(&self, backends: usize) -> Vec<usize> {
        let mut out = vec![0; backends];
        for &b in &self.table {
            out[b as usize] += 1;
        }
        out
    }
}

impl Algorithm for Maglev {
    fn pick(&mut self, key: &str, _view: &View, _rng: &mut Rng) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let slot = usize::try_from(key_hash(key) % M).ok()?;
        self.table.get(slot).map(|b| *b as usize)
    }

    /// The paper's population, over the backends in rotation with a weight.
    fn rebuild(&mut self, view: &View) {
        let live: Vec<(usize, u64, u64, u64)> = view
            .backends
            .iter()
            .enumerate()
            .filter(|(_, b)| b.up && b.weight > 0)
            .map(|(i, b)| {
                let h = md5_u128(&b.name);
                let offset = u64::try_from(h >> 64).unwrap_or(0) % M;
                let skip = u64::try_from(h & u128::from(u64::MAX)).unwrap_or(0) % (M - 1) + 1;
                (i, offset, skip, u64::from(b.weight))
            })
            .collect();
        self.table.clear();
        let Some(max_weight) = live.iter().map(|l| l.3).max() else { return };
        let size = TABLE_SIZE;
        let mut slots: Vec<Option<u32>> = vec![None; size];
        let mut next = vec![0u64; live.len()];
        let mut credit = vec![0u64; live.len()];
        let mut filled = 0usize;
        while filled < size {
            for (k, &(index, offset, skip, weight)) in live.iter().enumerate() {
                // A backend of weight w takes a turn in w of every `max_weight` rounds.
                credit[k] += weight;
                if credit[k] < max_weight {
                    continue;
                }
                credit[k] -= max_weight;
                // Slots are below M, so they fit a usize anywhere.
                let at = |j: u64| usize::try_from((offset + j * skip) % M).unwrap_or(0);
                let mut slot = at(next[k]);
                while slots[slot].is_some() {
                    next[k] += 1;
                    slot = at(next[k]);
                }
                slots[slot] = u32::try_from(index).ok();
                next[k] += 1;
                filled += 1;
                if filled == size {
                    break;
                }
            }
        }
        self.table = slots.into_iter().map(|s| s.unwrap_or(0)).collect();
    }
}
