//! Round robin that stays round when backends come and go (46.4.1).
//!
//! The chapter's `RoundRobinLoadBalancer` indexes the list of *healthy* servers with a counter:
//! `healthy[i % len(healthy)]`. When a server goes down the list shrinks and every later server
//! slides one place, so the same counter lands on a different server: one backend is skipped
//! and another picked twice in a row, at every change. Here the cursor walks the whole
//! configured list and steps over backends out of rotation, so a backend going down only
//! removes its own turns and the others keep their order.

use super::{Algorithm, View};
use crate::sim::Rng;

#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    /// The index in the configured list to try first.
    next: usize,
}

impl Algorithm for RoundRobin {
    fn pick(&mut self, _key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        let n = view.backends.len();
        (0..n).map(|step| (self.next + step) % n).find(|&i| view.backends[i].up).inspect(|&i| self.next = i + 1)
    }
}
