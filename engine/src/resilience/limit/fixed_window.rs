//! Fixed window: a counter per aligned window of `period` (`INCR` + `PEXPIRE` on Redis, the
//! most common limiter). Cheap, and exact per window, but a client that spends its allowance at
//! the end of one window and again at the start of the next gets 2 × `limit` in one `period`.

use super::{Decision, Rate, micros};
use crate::sim::SimTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedWindow {
    rate: Rate,
    /// The current window's index (`now / period`) and how many it admitted.
    window: u64,
    count: u64,
}

impl FixedWindow {
    pub fn new(rate: Rate) -> FixedWindow {
        FixedWindow { rate, window: 0, count: 0 }
    }

    pub fn check(&mut self, now: SimTime) -> Decision {
        let period = self.rate.period_us();
        let window = (now.as_micros() / period).max(self.window);
        if window != self.window {
            self.window = window;
            self.count = 0;
        }
        if self.count < self.rate.limit {
            self.count += 1;
            Decision::Admit { remaining: self.rate.limit - self.count }
        } else {
            let next = u128::from(window + 1) * u128::from(period);
            Decision::Deny { retry_after: micros(next - u128::from(now.as_micros().max(window * period))) }
        }
    }
}
