//! Rate limiting (the chapter's fifth learning goal, "限流"): six algorithms, each a small state
//! machine over integer microseconds, so that the same decision is made natively, in the
//! browser and, written as a store script, on Redis.
//!
//! Every limiter answers each request at `now` with a [`Decision`]: admitted (with what is left
//! of the current allowance), delayed (the leaky bucket shapes: the request leaves later), or
//! denied with the exact wait after which the same request would be admitted if nothing else
//! arrived (`retry_after`, what an HTTP 429 says). What each one promises:
//!
//! | algorithm | promise | burst |
//! | --- | --- | --- |
//! | [`FixedWindow`] | at most `limit` per aligned window | up to 2 × `limit` across a boundary |
//! | [`SlidingLog`] | at most `limit` in every window of length `period` | `limit` |
//! | [`SlidingWindow`] | at most `limit` per aligned window; the sliding estimate assumes the previous window's requests were spread evenly | between the two |
//! | [`TokenBucket`] | at most `burst` + `limit` × t / `period` in any interval of length t | `burst` |
//! | [`LeakyBucket`] | departures at most one per `period` / `limit`, at most `burst` waiting | none: it queues |
//! | [`Gcra`] | exactly the token bucket's decisions (it is the same meter, keeping one time instead of a level) | `burst` |

mod fixed_window;
mod gcra;
mod leaky_bucket;
mod sliding_log;
mod sliding_window;
mod token_bucket;

pub use fixed_window::FixedWindow;
pub use gcra::Gcra;
pub use leaky_bucket::LeakyBucket;
pub use sliding_log::SlidingLog;
pub use sliding_window::SlidingWindow;
pub use token_bucket::TokenBucket;

use serde::{Deserialize, Serialize};

use crate::sim::{SimDuration, SimTime};

/// `limit` requests per `period`; `burst` is how many the bucket algorithms admit at once (the
/// token bucket's capacity, GCRA's burst, the leaky bucket's queue) and is ignored by the
/// window algorithms, whose burst is `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub limit: u64,
    pub period: SimDuration,
    pub burst: u64,
}

/// The largest `limit` and `burst`, and the longest `period` (a day): the arithmetic stays
/// within 128 bits however long a run is.
pub const LIMIT_MAX: u64 = 1_000_000_000;
pub const PERIOD_MAX: SimDuration = SimDuration::from_secs(86_400);

/// Why a rate cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("limit = {0} is out of range: allowed 1..={LIMIT_MAX}")]
    Limit(u64),
    #[error("burst = {0} is out of range: allowed 1..={LIMIT_MAX}")]
    Burst(u64),
    #[error("period = {0} µs is out of range: allowed 1..={max} µs", max = PERIOD_MAX.as_micros())]
    Period(u64),
}

impl Rate {
    pub fn new(limit: u64, period: SimDuration, burst: u64) -> Result<Rate, RateError> {
        if !(1..=LIMIT_MAX).contains(&limit) {
            return Err(RateError::Limit(limit));
        }
        if !(1..=LIMIT_MAX).contains(&burst) {
            return Err(RateError::Burst(burst));
        }
        if !(1..=PERIOD_MAX.as_micros()).contains(&period.as_micros()) {
            return Err(RateError::Period(period.as_micros()));
        }
        Ok(Rate { limit, period, burst })
    }

    fn period_us(self) -> u64 {
        self.period.as_micros()
    }
}

/// A limiter's answer to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Go ahead; `remaining` more would be admitted right now.
    Admit { remaining: u64 },
    /// Admitted, to leave after `wait` (the leaky bucket's queue).
    Delay { wait: SimDuration },
    /// Refused; the same request is admitted after `retry_after` if nothing else arrives.
    Deny { retry_after: SimDuration },
}

impl Decision {
    pub fn admitted(self) -> bool {
        !matches!(self, Decision::Deny { .. })
    }
}

/// One of the algorithms, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    FixedWindow,
    SlidingLog,
    SlidingWindow,
    TokenBucket,
    LeakyBucket,
    Gcra,
}

impl Algorithm {
    pub const ALL: [Algorithm; 6] = [
        Algorithm::FixedWindow,
        Algorithm::SlidingLog,
        Algorithm::SlidingWindow,
        Algorithm::TokenBucket,
        Algorithm::LeakyBucket,
        Algorithm::Gcra,
    ];

    /// The name the `rate_limit` script and the command line use.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::FixedWindow => "fixed_window",
            Algorithm::SlidingLog => "sliding_log",
            Algorithm::SlidingWindow => "sliding_window",
            Algorithm::TokenBucket => "token_bucket",
            Algorithm::LeakyBucket => "leaky_bucket",
            Algorithm::Gcra => "gcra",
        }
    }
}

/// A limiter of any algorithm, for code that picks one at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Limiter {
    FixedWindow(FixedWindow),
    SlidingLog(SlidingLog),
    SlidingWindow(SlidingWindow),
    TokenBucket(TokenBucket),
    LeakyBucket(LeakyBucket),
    Gcra(Gcra),
}

impl Limiter {
    pub fn new(algorithm: Algorithm, rate: Rate) -> Limiter {
        match algorithm {
            Algorithm::FixedWindow => Limiter::FixedWindow(FixedWindow::new(rate)),
            Algorithm::SlidingLog => Limiter::SlidingLog(SlidingLog::new(rate)),
            Algorithm::SlidingWindow => Limiter::SlidingWindow(SlidingWindow::new(rate)),
            Algorithm::TokenBucket => Limiter::TokenBucket(TokenBucket::new(rate)),
            Algorithm::LeakyBucket => Limiter::LeakyBucket(LeakyBucket::new(rate)),
            Algorithm::Gcra => Limiter::Gcra(Gcra::new(rate)),
        }
    }

    /// Decides one request at `now`. Times must not go backwards (a clock read once per check,
    /// as the store's is); an earlier `now` is taken as the latest one seen.
    pub fn check(&mut self, now: SimTime) -> Decision {
        match self {
            Limiter::FixedWindow(l) => l.check(now),
            Limiter::SlidingLog(l) => l.check(now),
            Limiter::SlidingWindow(l) => l.check(now),
            Limiter::TokenBucket(l) => l.check(now),
            Limiter::LeakyBucket(l) => l.check(now),
            Limiter::Gcra(l) => l.check(now),
        }
    }
}

/// `ceil(a / b)` for `b > 0`, in 128 bits.
fn div_ceil(a: u128, b: u128) -> u128 {
    a.div_ceil(b)
}

/// A duration from a 128-bit count of microseconds (saturating: never reached within the
/// limits above).
fn micros(us: u128) -> SimDuration {
    SimDuration::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
