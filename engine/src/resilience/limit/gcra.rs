//! GCRA, the generic cell rate algorithm (ATM's; redis-cell's `CL.THROTTLE` and the `governor`
//! crate): one number, the theoretical arrival time (TAT) of the next request at the sustained
//! rate. A request at `now` is admitted unless `now` is earlier than TAT − τ, where τ lets
//! `burst` − 1 requests come early; each admission moves TAT one emission interval later. It is
//! the token bucket seen from the other side (level = burst − (TAT − now) / interval) and makes
//! exactly its decisions, with one time to store instead of a level and a time.
//!
//! Times are kept multiplied by `limit` so that the emission interval (`period / limit`) is the
//! integer `period`: no rounding, whatever the rate.

use super::{Decision, Rate, div_ceil, micros};
use crate::sim::SimTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gcra {
    rate: Rate,
    /// The theoretical arrival time, in µs × limit.
    tat: u128,
    latest: u64,
}

impl Gcra {
    pub fn new(rate: Rate) -> Gcra {
        Gcra { rate, tat: 0, latest: 0 }
    }

    pub fn check(&mut self, now: SimTime) -> Decision {
        let now = now.as_micros().max(self.latest);
        self.latest = now;
        let (p, limit) = (u128::from(self.rate.period_us()), u128::from(self.rate.limit));
        let t = u128::from(now) * limit;
        let tolerance = (u128::from(self.rate.burst) - 1) * p;
        let tat = self.tat.max(t);
        if tat - t > tolerance {
            return Decision::Deny { retry_after: micros(div_ceil(tat - t - tolerance, limit)) };
        }
        self.tat = tat + p;
        // Further requests now fit while TAT − now stays within τ.
        let remaining = (tolerance - (tat - t)) / p;
        Decision::Admit { remaining: u64::try_from(remaining).unwrap_or(u64::MAX) }
    }
}
