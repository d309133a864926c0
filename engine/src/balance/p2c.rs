//! Power of two choices on peak-EWMA latency (46.4.1), as Finagle's `P2CPeakEwma`, linkerd and
//! tower's `p2c` + `PeakEwma` balance.
//!
//! Scanning every backend for the least loaded one (least connections) is exact for one
//! balancer, but several balancers that each see only their own connections all pick the same
//! idle backend at once and flood it (herding). Picking two backends at random and sending to
//! the better of the two needs no scan and no shared state, and still cuts the worst load from
//! O(log n / log log n) to O(log log n) (Mitzenmacher). "Better" is a cost: the backend's
//! latency estimate times (its outstanding requests + 1). The estimate is a *peak* EWMA: a
//! response slower than the estimate replaces it at once (a backend that slows down is avoided
//! immediately), a faster one only pulls it down gradually, and with no responses it decays
//! towards zero so an idle backend is tried again.

use serde::{Deserialize, Serialize};

use super::{Algorithm, View};
use crate::sim::Rng;

/// The decay time constant (Finagle's and linkerd's default, 10 s).
pub const DECAY_US: u64 = 10_000_000;
/// The estimate of a backend that has not answered yet (tower's default RTT, 30 ms): high
/// enough that a new backend is not flooded before it has shown its speed.
pub const DEFAULT_RTT_US: f64 = 30_000.0;

/// A peak-sensitive, exponentially weighted moving average of response times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeakEwma {
    /// The estimate in µs, as of `at_us`; `None` before the first sample.
    estimate_us: Option<f64>,
    at_us: u64,
}

impl PeakEwma {
    /// The weight the old estimate keeps after `elapsed` µs. Finagle and tower use
    /// `exp(-elapsed / decay)`; `decay / (decay + elapsed)` has the same start (1), the same
    /// slope there and the same limit (0), and is a division, which IEEE arithmetic makes
    /// identical on every target, where `exp` may differ in its last bit between native code and
    /// WebAssembly (and a replay must not).
    fn keep(elapsed_us: u64) -> f64 {
        DECAY_US as f64 / (DECAY_US as f64 + elapsed_us as f64)
    }

    /// A response time of `sample_us`, observed at `now_us`.
    pub fn observe(&mut self, sample_us: u64, now_us: u64) {
        let sample = sample_us as f64;
        let next = match self.estimate_us {
            None => sample,
            Some(old) => {
                let keep = Self::keep(now_us.saturating_sub(self.at_us));
                if sample > old * keep { sample } else { old * keep + sample * (1.0 - keep) }
            }
        };
        self.estimate_us = Some(next);
        self.at_us = now_us.max(self.at_us);
    }

    /// The estimate at `now_us`, decayed since the last sample.
    pub fn estimate_us(&self, now_us: u64) -> f64 {
        match self.estimate_us {
            None => DEFAULT_RTT_US,
            Some(e) => e * Self::keep(now_us.saturating_sub(self.at_us)),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct P2c;

impl P2c {
    /// Latency × (outstanding + 1): what sending one more request there is expected to cost.
    pub fn cost(view: &View, i: usize) -> f64 {
        let b = &view.backends[i];
        b.latency.estimate_us(view.now_us) * (f64::from(b.outstanding) + 1.0)
    }
}

impl Algorithm for P2c {
    fn pick(&mut self, _key: &str, view: &View, rng: &mut Rng) -> Option<usize> {
        let up = view.up();
        let n = u64::try_from(up.len()).ok()?;
        match n {
            0 => None,
            1 => Some(up[0]),
            _ => {
                let a = usize::try_from(rng.below(n)).ok()?;
                // The second is drawn from the others, so the two are always distinct.
                let mut b = usize::try_from(rng.below(n - 1)).ok()?;
                if b >= a {
                    b += 1;
                }
                let (a, b) = (up[a], up[b]);
                Some(if Self::cost(view, b) < Self::cost(view, a) { b } else { a })
            }
        }
    }
}
