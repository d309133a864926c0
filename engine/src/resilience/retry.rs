//! Retries that do not make an outage worse (the chapter's fifth learning goal): exponential
//! backoff with full jitter (AWS's "Exponential Backoff and Jitter": a wait drawn uniformly from
//! zero to the capped exponential, so that clients that failed together do not retry together),
//! and a retry budget (Finagle's `RetryBudget`): retries at most a share of the requests of the
//! last `window`, plus a small floor so that a quiet client can still retry. Without the budget,
//! every client retrying every failure multiplies the load on a dependency that is already
//! failing: the retry storm that keeps it down after it recovers.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::sim::{Rng, SimDuration, SimTime};

/// Exponential backoff with full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    /// The first retry's ceiling.
    pub base: SimDuration,
    /// No ceiling above this.
    pub cap: SimDuration,
}

impl Backoff {
    /// The ceiling before retry `attempt` (0 for the first retry): `min(cap, base × 2^attempt)`.
    pub fn ceiling(self, attempt: u32) -> SimDuration {
        let doubled = self
            .base
            .as_micros()
            .checked_shl(attempt.min(63))
            .filter(|v| v >> attempt.min(63) == self.base.as_micros());
        SimDuration::from_micros(doubled.unwrap_or(u64::MAX).min(self.cap.as_micros()))
    }

    /// The wait before retry `attempt`: uniform in `0..=ceiling(attempt)`.
    pub fn wait(self, attempt: u32, rng: &mut Rng) -> SimDuration {
        SimDuration::from_micros(rng.between(0, self.ceiling(attempt).as_micros()))
    }
}

/// Finagle's retry budget: over the last `window`, retries may be at most `percent` of the
/// requests plus `floor_per_second` × the window's seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    window: SimDuration,
    percent: u64,
    floor: u64,
    requests: VecDeque<SimTime>,
    retries: VecDeque<SimTime>,
}

impl RetryBudget {
    /// `percent` of requests (0..=100) and a floor of retries per second over `window`.
    pub fn new(window: SimDuration, percent: u64, floor_per_second: u64) -> RetryBudget {
        let floor = floor_per_second.saturating_mul(window.as_micros()) / 1_000_000;
        RetryBudget { window, percent: percent.min(100), floor, requests: VecDeque::new(), retries: VecDeque::new() }
    }

    /// A first attempt was sent at `now` (it deposits its share).
    pub fn request(&mut self, now: SimTime) {
        self.forget(now);
        self.requests.push_back(now);
    }

    /// May a retry go at `now`? If so it is counted (withdrawn from the budget).
    pub fn try_retry(&mut self, now: SimTime) -> bool {
        self.forget(now);
        let allowed = self.floor + self.requests.len() as u64 * self.percent / 100;
        if (self.retries.len() as u64) < allowed {
            self.retries.push_back(now);
            true
        } else {
            false
        }
    }

    /// Requests and retries within the window ending at `now`.
    pub fn counts(&mut self, now: SimTime) -> (u64, u64) {
        self.forget(now);
        (self.requests.len() as u64, self.retries.len() as u64)
    }

    fn forget(&mut self, now: SimTime) {
        for log in [&mut self.requests, &mut self.retries] {
            while log.front().is_some_and(|t| t.saturating_add(self.window) <= now) {
                log.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_to_its_cap_and_the_wait_stays_under_it() {
        let b = Backoff { base: SimDuration::from_millis(100), cap: SimDuration::from_secs(2) };
        let ceilings: Vec<u64> = (0..7).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1_600, 2_000, 2_000]);
        assert_eq!(b.ceiling(200), SimDuration::from_secs(2), "no overflow past 64 doublings");
        let mut rng = Rng::new(7);
        let waits: Vec<u64> = (0..2_000).map(|_| b.wait(3, &mut rng).as_micros()).collect();
        assert!(waits.iter().all(|&w| w <= 800_000));
        let mean = waits.iter().sum::<u64>() / waits.len() as u64;
        assert!((380_000..420_000).contains(&mean), "uniform over 0..=800 ms: mean {mean} µs");
    }

    #[test]
    fn the_budget_allows_its_share_of_the_windows_requests_plus_the_floor() {
        // 20% of requests, at least 1 retry a second, over 10 s.
        let mut budget = RetryBudget::new(SimDuration::from_secs(10), 20, 1);
        let at = |ms| SimTime::from_millis(ms);
        for ms in 0..100 {
            budget.request(at(ms * 10));
        }
        // 10 from the floor + 20 from 100 requests.
        let granted = (0..50).filter(|i| budget.try_retry(at(1_000 + i))).count();
        assert_eq!(granted, 30);
        assert_eq!(budget.counts(at(1_100)), (100, 30));
        // Ten seconds on, the old requests and retries have left the window: only the floor.
        let granted = (0..50).filter(|i| budget.try_retry(at(12_000 + i))).count();
        assert_eq!(granted, 10);
    }
}
