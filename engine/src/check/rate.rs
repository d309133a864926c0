//! A rate limiter's promise, checked on the times it admitted (the chapter's fifth learning
//! goal): what `distlab bench limit-audit` reads back from Redis, and what a scenario's limiter
//! is judged by. Each algorithm's worst case is measured against its bound (see the table in
//! `resilience::limit`):
//!
//! - fixed window and sliding window counter: the most admissions in one aligned window, at most
//!   `limit`;
//! - sliding log: the most in any window of length `period`, at most `limit`;
//! - token bucket and GCRA: the most admissions in any interval beyond what the rate refilled
//!   in it (`count − ⌊t × limit / period⌋`), at most `burst`;
//! - leaky bucket (the times given are departures): the most departures in any window of
//!   length `period`, at most `limit` plus one for departures rounded up to the microsecond.

use serde::Serialize;

use crate::resilience::limit::{Algorithm, Rate};

/// The worst case seen and the bound it must not pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RateAudit {
    pub worst: u64,
    pub bound: u64,
    /// What `worst` counts, in words.
    pub measure: &'static str,
}

impl RateAudit {
    pub fn holds(&self) -> bool {
        self.worst <= self.bound
    }
}

/// Audits `times` (µs, sorted) admitted by an `algorithm` limiter at `rate`.
pub fn audit(algorithm: Algorithm, rate: Rate, times: &[u64]) -> RateAudit {
    let p = rate.period.as_micros();
    match algorithm {
        Algorithm::FixedWindow | Algorithm::SlidingWindow => {
            let mut worst = 0u64;
            let mut run = (u64::MAX, 0u64);
            for t in times {
                run = if t / p == run.0 { (run.0, run.1 + 1) } else { (t / p, 1) };
                worst = worst.max(run.1);
            }
            RateAudit { worst, bound: rate.limit, measure: "admitted in one aligned window" }
        }
        Algorithm::SlidingLog | Algorithm::LeakyBucket => {
            // Two pointers: for each j, the admissions in (t_j − p, t_j].
            let (mut i, mut worst) = (0usize, 0u64);
            for (j, t) in times.iter().enumerate() {
                while times[i] + p <= *t {
                    i += 1;
                }
                worst = worst.max((j - i + 1) as u64);
            }
            if algorithm == Algorithm::LeakyBucket {
                RateAudit { worst, bound: rate.limit + 1, measure: "departures in any period" }
            } else {
                RateAudit { worst, bound: rate.limit, measure: "admitted in any period" }
            }
        }
        Algorithm::TokenBucket | Algorithm::Gcra => RateAudit {
            worst: bucket_excess(rate, times),
            bound: rate.burst,
            measure: "admitted beyond the refill in any interval",
        },
    }
}

/// The most admissions in any interval `[t_i, t_j]` beyond what the rate refilled in it,
/// `(j − i + 1) − ⌊(t_j − t_i) × limit / period⌋`, in one pass. With `f(k) = k × period −
/// t_k × limit`, the excess is `⌈(f(j) − f(i) + period) / period⌉` (the floor's fraction is
/// exactly what the ceiling adds back), so the worst interval ending at `j` starts at the
/// smallest `f(i)` before it: a running minimum, where the pairwise search was quadratic
/// (seconds for a minute of a busy limiter, on every redraw of the page).
fn bucket_excess(rate: Rate, times: &[u64]) -> u64 {
    let (p, l) = (i128::from(rate.period.as_micros()), i128::from(rate.limit));
    let mut lowest = i128::MAX;
    let mut worst = 0i128;
    for (k, t) in times.iter().enumerate() {
        let f = k as i128 * p - i128::from(*t) * l;
        lowest = lowest.min(f);
        worst = worst.max((f - lowest + p).div_euclid(p) + i128::from((f - lowest + p).rem_euclid(p) != 0));
    }
    u64::try_from(worst).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::limit::Limiter;
    use crate::sim::{SimDuration, SimTime};

    #[test]
    fn every_limiter_passes_its_own_audit_and_a_burst_fails_it() {
        let rate = Rate::new(10, SimDuration::from_secs(1), 4).unwrap();
        // Ten times the rate for three seconds.
        let arrivals: Vec<u64> = (0..300u64).map(|i| i * 10_000).collect();
        for algorithm in Algorithm::ALL {
            let mut l = Limiter::new(algorithm, rate);
            let mut times: Vec<u64> = arrivals
                .iter()
                .filter_map(|&t| match l.check(SimTime::from_micros(t)) {
                    crate::resilience::limit::Decision::Admit { .. } => Some(t),
                    crate::resilience::limit::Decision::Delay { wait } => Some(t + wait.as_micros()),
                    crate::resilience::limit::Decision::Deny { .. } => None,
                })
                .collect();
            times.sort_unstable();
            let a = audit(algorithm, rate, &times);
            assert!(a.holds(), "{algorithm:?}: {a:?}");
            assert!(a.worst >= a.bound.min(4), "{algorithm:?} was pushed to its bound: {a:?}");
            // Twelve admissions at once break every promise.
            let burst = [5_000_000u64; 12];
            assert!(!audit(algorithm, rate, &burst).holds(), "{algorithm:?}");
        }
    }

    /// The pairwise definition, for the one-pass version to be held to.
    fn excess_pairwise(rate: Rate, times: &[u64]) -> u64 {
        let limit = u128::from(rate.limit);
        let mut worst = 0u64;
        for i in 0..times.len() {
            for (k, t) in times[i..].iter().enumerate() {
                let refill = u128::from(t - times[i]) * limit / u128::from(rate.period.as_micros());
                worst = worst.max(u64::try_from(((k + 1) as u128).saturating_sub(refill)).unwrap_or(u64::MAX));
            }
        }
        worst
    }

    proptest::proptest! {
        #[test]
        fn the_one_pass_bucket_audit_equals_the_pairwise_one(
            limit in 1u64..50,
            period_us in 1u64..3_000_000,
            gaps in proptest::collection::vec(0u64..200_000, 0..120),
        ) {
            let rate = Rate::new(limit, SimDuration::from_micros(period_us), 1).unwrap();
            let times: Vec<u64> = gaps.iter().scan(0u64, |t, g| { *t += g; Some(*t) }).collect();
            proptest::prop_assert_eq!(bucket_excess(rate, &times), excess_pairwise(rate, &times));
        }
    }
}
