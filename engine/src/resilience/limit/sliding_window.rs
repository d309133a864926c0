//! Sliding window counter (Cloudflare's): two fixed-window counters, the current one and the
//! previous, and an estimate of the last `period` that weighs the previous window by how much
//! of it the sliding window still covers. Two counters instead of a log; exact per aligned
//! window, and between fixed window and sliding log across boundaries (the estimate assumes the
//! previous window's requests were evenly spread).

use super::{Decision, Rate, div_ceil, micros};
use crate::sim::SimTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlidingWindow {
    rate: Rate,
    window: u64,
    current: u64,
    previous: u64,
    latest: u64,
}

impl SlidingWindow {
    pub fn new(rate: Rate) -> SlidingWindow {
        SlidingWindow { rate, window: 0, current: 0, previous: 0, latest: 0 }
    }

    /// Admitted iff `previous × (period − elapsed) / period + current < limit`, in integers:
    /// `previous × (period − elapsed) + current × period < limit × period`.
    pub fn check(&mut self, now: SimTime) -> Decision {
        let now = now.as_micros().max(self.latest);
        self.latest = now;
        let period = self.rate.period_us();
        let window = now / period;
        if window != self.window {
            self.previous = if window == self.window + 1 { self.current } else { 0 };
            self.current = 0;
            self.window = window;
        }
        let (p, limit) = (u128::from(period), u128::from(self.rate.limit));
        let elapsed = u128::from(now - window * period);
        let (previous, current) = (u128::from(self.previous), u128::from(self.current));
        let weighted = previous * (p - elapsed) + current * p;
        if weighted < limit * p && current < limit {
            self.current += 1;
            // The i-th next request is admitted while weighted + i × p < limit × p.
            let left = (div_ceil(limit * p - weighted, p) - 1).min(limit - current - 1);
            return Decision::Admit { remaining: u64::try_from(left).unwrap_or(0) };
        }
        Decision::Deny { retry_after: micros(self.wait(elapsed)) }
    }

    /// How long until a request is admitted if nothing else arrives.
    fn wait(&self, elapsed: u128) -> u128 {
        let (p, limit) = (u128::from(self.rate.period_us()), u128::from(self.rate.limit));
        let (previous, current) = (u128::from(self.previous), u128::from(self.current));
        let to_end = p - elapsed;
        if current < limit && previous > 0 {
            // Later in this window: previous × (p − e') < (limit − current) × p, first at
            // e' = p − ceil((limit − current) × p / previous) + 1 (it cannot be past the end,
            // where the weight is 0).
            let e = p - div_ceil((limit - current) * p, previous) + 1;
            return e - elapsed;
        }
        // In the next window, where `current` becomes the previous and weighs
        // current × (p − e) < limit × p from e = p − ceil(limit × p / current) + 1.
        let after = if current * p < limit * p { 0 } else { (p + 1).saturating_sub(div_ceil(limit * p, current)) };
        to_end + after
    }
}
