//! Smooth weighted round robin, as nginx does it (46.4.1, `ngx_http_upstream_get_peer`).
//!
//! The chapter's `WeightedRoundRobinLoadBalancer` is weighted *random*: each pick draws
//! `randint(1, total)`, so over a short stretch a backend of weight 1 can be picked several
//! times running and one of weight 5 not at all. nginx's algorithm is deterministic and spreads
//! each backend's turns as evenly as its weight allows: at every pick each backend in rotation
//! adds its weight to its running `current`, the largest `current` wins, and the winner gives
//! back the total. Weights {a: 5, b: 1, c: 1} give exactly `a a b a c a a`, and over any window
//! a backend's picks stay within one of its weighted share.

use super::{Algorithm, View};
use crate::sim::Rng;

#[derive(Clone, Debug, Default)]
pub struct SmoothWrr {
    /// Each backend's running weight (nginx's `current_weight`), by configured index.
    current: Vec<i64>,
}

impl Algorithm for SmoothWrr {
    fn pick(&mut self, _key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        self.current.resize(view.backends.len(), 0);
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for (i, b) in view.backends.iter().enumerate() {
            if !b.up || b.weight == 0 {
                continue;
            }
            self.current[i] += i64::from(b.weight);
            total += i64::from(b.weight);
            // The first of equals wins, as in nginx's loop (`>`, not `>=`).
            if best.is_none_or(|j| self.current[i] > self.current[j]) {
                best = Some(i);
            }
        }
        let best = best?;
        self.current[best] -= total;
        Some(best)
    }

    /// A changed set of weights starts from even: nginx resets `current_weight` when it
    /// reloads its upstreams.
    fn rebuild(&mut self, view: &View) {
        self.current = vec![0; view.backends.len()];
    }
}
