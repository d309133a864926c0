//! Counter CRDTs (46.1, the chapter's `DistributedCounter`).
//!
//! A G-Counter keeps one count per replica; a replica only ever increments its own entry, and
//! merging takes the entry-wise maximum. Because max is commutative, associative and idempotent,
//! replicas that have seen the same updates in any order, any number of times, hold the same
//! state: they converge without coordination, whatever the network does. A PN-Counter is two
//! G-Counters, one for increments and one for decrements.
//!
//! What the chapter gets wrong: its `merge` takes the maximum of the vector clocks and never
//! touches the counts, so every replica keeps reporting only its own increments. The lab runs that
//! rule too ([`crate::replication::counter::MergeRule::Chapter`]) and the convergence checker
//! catches it.

use serde::{Deserialize, Serialize};

/// A grow-only counter over a fixed set of replicas (indexed from 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GCounter {
    counts: Vec<u64>,
}

impl GCounter {
    pub fn new(replicas: usize) -> Self {
        GCounter { counts: vec![0; replicas] }
    }

    /// Adds `by` to `replica`'s own entry (saturating: a counter never wraps).
    pub fn increment(&mut self, replica: usize, by: u64) {
        if self.counts.len() <= replica {
            self.counts.resize(replica + 1, 0);
        }
        self.counts[replica] = self.counts[replica].saturating_add(by);
    }

    pub fn entry(&self, replica: usize) -> u64 {
        self.counts.get(replica).copied().unwrap_or(0)
    }

    pub fn value(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
    }

    /// Entry-wise maximum: the least state that includes both.
    pub fn merge(&mut self, other: &GCounter) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine = (*mine).max(*theirs);
        }
    }
}

/// A counter that goes up and down: increments and decrements kept as two G-Counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnCounter {
    pub p: GCounter,
    pub n: GCounter,
}

impl PnCounter {
    pub fn new(replicas: usize) -> Self {
        PnCounter { p: GCounter::new(replicas), n: GCounter::new(replicas) }
    }

    /// Applies `delta` at `replica`.
    pub fn add(&mut self, replica: usize, delta: i64) {
        if delta >= 0 {
            self.p.increment(replica, delta.unsigned_abs());
        } else {
            self.n.increment(replica, delta.unsigned_abs());
        }
    }

    pub fn value(&self) -> i64 {
        let v = i128::from(self.p.value()) - i128::from(self.n.value());
        i64::try_from(v).unwrap_or(if v > 0 { i64::MAX } else { i64::MIN })
    }

    pub fn merge(&mut self, other: &PnCounter) {
        self.p.merge(&other.p);
        self.n.merge(&other.n);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn counter_from(ops: &[(usize, i64)]) -> PnCounter {
        let mut c = PnCounter::new(3);
        for (r, d) in ops {
            c.add(*r, *d);
        }
        c
    }

    #[test]
    fn merge_takes_the_entrywise_maximum() {
        let mut a = counter_from(&[(0, 5), (1, -2)]);
        let b = counter_from(&[(1, 3), (2, 7)]);
        a.merge(&b);
        assert_eq!(a.p.entry(0), 5);
        assert_eq!(a.p.entry(1), 3);
        assert_eq!(a.n.entry(1), 2);
        assert_eq!(a.value(), 5 + 3 - 2 + 7);
    }

    proptest! {
        /// Merge is commutative, associative and idempotent: the three laws that make replicas
        /// converge whatever order and however often states arrive.
        #[test]
        fn merge_is_a_semilattice(
            x in proptest::collection::vec((0usize..3, -9i64..10), 0..12),
            y in proptest::collection::vec((0usize..3, -9i64..10), 0..12),
            z in proptest::collection::vec((0usize..3, -9i64..10), 0..12),
        ) {
            let (a, b, c) = (counter_from(&x), counter_from(&y), counter_from(&z));
            let mut ab = a.clone(); ab.merge(&b);
            let mut ba = b.clone(); ba.merge(&a);
            prop_assert_eq!(&ab, &ba);
            let mut ab_c = ab.clone(); ab_c.merge(&c);
            let mut bc = b.clone(); bc.merge(&c);
            let mut a_bc = a.clone(); a_bc.merge(&bc);
            prop_assert_eq!(&ab_c, &a_bc);
            let mut aa = a.clone(); aa.merge(&a);
            prop_assert_eq!(&aa, &a);
        }

        /// Replicas that each apply their own updates and then exchange states hold the exact
        /// total of all updates.
        #[test]
        fn merged_replicas_hold_the_exact_total(ops in proptest::collection::vec((0usize..3, -9i64..10), 0..30)) {
            let mut replicas = vec![PnCounter::new(3); 3];
            for (r, d) in &ops {
                replicas[*r].add(*r, *d);
            }
            let all = replicas.iter().fold(PnCounter::new(3), |mut acc, r| { acc.merge(r); acc });
            prop_assert_eq!(all.value(), ops.iter().map(|(_, d)| d).sum::<i64>());
        }
    }
}
