//! Token bucket: `burst` tokens, refilled at `limit` per `period`, one taken per request. The
//! level is kept in integer units of 1/`period` token (a token is `period` units, and every
//! microsecond adds `limit` units), so refill never rounds: a bucket refilled in many small
//! steps holds exactly what one big step gives.

use super::{Decision, Rate, div_ceil, micros};
use crate::sim::SimTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    rate: Rate,
    /// Tokens × period; full is `burst × period`.
    level: u128,
    /// When the level was last brought up to date (µs).
    last: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate) -> TokenBucket {
        TokenBucket { rate, level: u128::from(rate.burst) * u128::from(rate.period_us()), last: 0 }
    }

    pub fn check(&mut self, now: SimTime) -> Decision {
        let now = now.as_micros().max(self.last);
        let (p, limit) = (u128::from(self.rate.period_us()), u128::from(self.rate.limit));
        let full = u128::from(self.rate.burst) * p;
        self.level = (self.level + u128::from(now - self.last) * limit).min(full);
        self.last = now;
        if self.level >= p {
            self.level -= p;
            Decision::Admit { remaining: u64::try_from(self.level / p).unwrap_or(u64::MAX) }
        } else {
            Decision::Deny { retry_after: micros(div_ceil(p - self.level, limit)) }
        }
    }
}
