//! Sliding log: the time of every admitted request over the last `period` (a sorted set on
//! Redis: `ZREMRANGEBYSCORE`, `ZCARD`, `ZADD`). Exact for every window of length `period`, at
//! the cost of one entry per admitted request.

use std::collections::VecDeque;

use super::{Decision, Rate, micros};
use crate::sim::SimTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlidingLog {
    rate: Rate,
    /// Admission times (µs) within the last `period`, oldest first; never more than `limit`.
    log: VecDeque<u64>,
    latest: u64,
}

impl SlidingLog {
    pub fn new(rate: Rate) -> SlidingLog {
        SlidingLog { rate, log: VecDeque::new(), latest: 0 }
    }

    pub fn check(&mut self, now: SimTime) -> Decision {
        let now = now.as_micros().max(self.latest);
        self.latest = now;
        let period = self.rate.period_us();
        // A request admitted at t counts in the windows (t - period, t]: gone once t + period <= now.
        while self.log.front().is_some_and(|&t| t + period <= now) {
            self.log.pop_front();
        }
        let held = self.log.len() as u64;
        if held < self.rate.limit {
            self.log.push_back(now);
            Decision::Admit { remaining: self.rate.limit - held - 1 }
        } else {
            // The oldest leaves the window at oldest + period.
            let oldest = self.log.front().copied().unwrap_or(now);
            Decision::Deny { retry_after: micros(u128::from(oldest + period - now)) }
        }
    }
}
