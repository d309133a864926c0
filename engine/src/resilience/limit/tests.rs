//! Each limiter's promise over random arrival patterns (proptest), the exactness of every
//! `retry_after`, GCRA ≡ token bucket decision for decision, and the fixed window's boundary
//! burst shown.

use proptest::prelude::*;

use super::*;

fn rate(limit: u64, period_us: u64, burst: u64) -> Rate {
    Rate::new(limit, SimDuration::from_micros(period_us), burst).unwrap()
}

/// Runs `algorithm` over arrivals (µs, non-decreasing); every decision with its time.
fn run(algorithm: Algorithm, rate: Rate, arrivals: &[u64]) -> Vec<(u64, Decision)> {
    let mut l = Limiter::new(algorithm, rate);
    arrivals.iter().map(|&t| (t, l.check(SimTime::from_micros(t)))).collect()
}

fn admitted(decisions: &[(u64, Decision)]) -> Vec<u64> {
    decisions.iter().filter(|(_, d)| d.admitted()).map(|(t, _)| *t).collect()
}

/// A rate and arrivals: bursts of simultaneous requests and gaps from 0 to two periods.
fn case() -> impl Strategy<Value = (Rate, Vec<u64>)> {
    (1u64..=12, 1u64..=5_000, 1u64..=12).prop_flat_map(|(limit, period, burst)| {
        let gaps = proptest::collection::vec(prop_oneof![3 => Just(0u64), 7 => 0..=2 * period], 1..160);
        gaps.prop_map(move |gaps| {
            let arrivals = gaps.iter().scan(0u64, |t, g| {
                *t += g;
                Some(*t)
            });
            (rate(limit, period, burst), arrivals.collect())
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn window_limiters_admit_at_most_limit_per_aligned_window((rate, arrivals) in case()) {
        for algorithm in [Algorithm::FixedWindow, Algorithm::SlidingWindow, Algorithm::SlidingLog] {
            let times = admitted(&run(algorithm, rate, &arrivals));
            let p = rate.period.as_micros();
            let mut per_window = std::collections::BTreeMap::<u64, u64>::new();
            for t in &times {
                *per_window.entry(t / p).or_default() += 1;
            }
            prop_assert!(per_window.values().all(|&n| n <= rate.limit), "{algorithm:?}: {per_window:?}");
        }
    }

    #[test]
    fn the_sliding_log_admits_at_most_limit_in_every_window((rate, arrivals) in case()) {
        let times = admitted(&run(Algorithm::SlidingLog, rate, &arrivals));
        let p = rate.period.as_micros();
        for (j, &t) in times.iter().enumerate() {
            let inside = times[..=j].iter().filter(|&&s| s + p > t).count() as u64;
            prop_assert!(inside <= rate.limit, "{inside} admitted in the period ending at {t}");
        }
        // And it is exact: a request is refused only when `limit` were admitted in the period.
        for (t, d) in run(Algorithm::SlidingLog, rate, &arrivals) {
            if !d.admitted() {
                let inside = times.iter().filter(|&&s| s <= t && s + p > t).count() as u64;
                prop_assert_eq!(inside, rate.limit);
            }
        }
    }

    #[test]
    fn the_token_bucket_admits_at_most_burst_plus_the_refill_in_any_interval((rate, arrivals) in case()) {
        let times = admitted(&run(Algorithm::TokenBucket, rate, &arrivals));
        let (p, limit) = (u128::from(rate.period.as_micros()), u128::from(rate.limit));
        for i in 0..times.len() {
            for j in i..times.len() {
                let count = (j - i + 1) as u128;
                let refill = u128::from(times[j] - times[i]) * limit / p;
                prop_assert!(count <= u128::from(rate.burst) + refill, "{count} in [{}, {}]", times[i], times[j]);
            }
        }
    }

    #[test]
    fn gcra_makes_exactly_the_token_buckets_decisions((rate, arrivals) in case()) {
        prop_assert_eq!(run(Algorithm::Gcra, rate, &arrivals), run(Algorithm::TokenBucket, rate, &arrivals));
    }

    #[test]
    fn the_leaky_bucket_spaces_departures_and_bounds_its_queue((rate, arrivals) in case()) {
        let (p, limit) = (u128::from(rate.period.as_micros()), u128::from(rate.limit));
        let mut departures: Vec<u64> = Vec::new();
        for (t, d) in run(Algorithm::LeakyBucket, rate, &arrivals) {
            let waiting = departures.iter().filter(|&&x| x > t).count() as u64;
            match d {
                Decision::Admit { .. } => {
                    prop_assert_eq!(waiting, 0, "admitted at once only when nobody waits");
                    departures.push(t);
                }
                Decision::Delay { wait } => {
                    prop_assert!(waiting < rate.burst, "{waiting} already waiting at {t}");
                    departures.push(t + wait.as_micros());
                }
                Decision::Deny { .. } => prop_assert!(waiting + 1 >= rate.burst, "refused with {waiting} waiting"),
            }
        }
        // k intervals between departures i and i + k, up to the microsecond each is rounded to.
        for (i, a) in departures.iter().enumerate() {
            for (k, b) in departures[i + 1..].iter().enumerate() {
                let k = (k + 1) as u128;
                prop_assert!(u128::from(b - a) * limit + limit >= k * p, "{k} intervals in {} µs", b - a);
            }
        }
    }

    #[test]
    fn every_retry_after_is_exact((rate, arrivals) in case()) {
        // Refused at t with retry_after r: still refused at t + r − 1, admitted at t + r.
        for algorithm in Algorithm::ALL {
            let mut l = Limiter::new(algorithm, rate);
            for &t in &arrivals {
                let before = l.clone();
                if let Decision::Deny { retry_after } = l.check(SimTime::from_micros(t)) {
                    let r = retry_after.as_micros();
                    prop_assert!(r >= 1, "{algorithm:?}");
                    let at = |dt: u64| before.clone().check(SimTime::from_micros(t + dt));
                    prop_assert!(!at(r - 1).admitted(), "{algorithm:?}: admitted before {r} µs at {t}");
                    prop_assert!(at(r).admitted(), "{algorithm:?}: still refused {r} µs after {t}");
                }
            }
        }
    }
}

#[test]
fn a_token_bucket_under_overload_admits_its_burst_then_exactly_the_rate() {
    // 10 per second, burst 5, a request every millisecond for 10 s: 5 + 100.
    let times: Vec<u64> = (0..=10_000u64).map(|ms| ms * 1_000).collect();
    for algorithm in [Algorithm::TokenBucket, Algorithm::Gcra] {
        let admitted = admitted(&run(algorithm, rate(10, 1_000_000, 5), &times)).len();
        assert_eq!(admitted, 105, "{algorithm:?}");
    }
    // A rate that does not divide a second: 3 per second, a token every 333⅓ ms. With room for
    // two tokens nothing is lost to rounding: 2 + 30 in 10 s, the bound exactly.
    let count = |burst| admitted(&run(Algorithm::TokenBucket, rate(3, 1_000_000, burst), &times)).len();
    assert_eq!(count(2), 32);
    // With room for one, a token that arrives between two requests waits for the next one, and
    // the refill past a full bucket is lost: a request every 334 ms, 30 in 10 s.
    assert_eq!(count(1), 30);
}

#[test]
fn a_fixed_window_lets_twice_its_limit_through_across_a_boundary() {
    // 10 per second: 10 in the last millisecond of one window, 10 in the first of the next.
    let r = rate(10, 1_000_000, 10);
    let arrivals: Vec<u64> = (0..10).map(|_| 999_500).chain((0..10).map(|_| 1_000_100)).collect();
    assert_eq!(admitted(&run(Algorithm::FixedWindow, r, &arrivals)).len(), 20, "20 within 600 µs");
    assert_eq!(admitted(&run(Algorithm::SlidingLog, r, &arrivals)).len(), 10);
    // The sliding window weighs the previous window at 99.99%: an estimate of 9.999 lets one
    // more through, then the rest of the second burst is refused.
    assert_eq!(admitted(&run(Algorithm::SlidingWindow, r, &arrivals)).len(), 11);
}

#[test]
fn decisions_say_what_is_left_and_when_to_come_back() {
    let r = rate(2, 1_000_000, 2);
    let mut fixed = FixedWindow::new(r);
    let at = |ms: u64| SimTime::from_millis(ms);
    assert_eq!(fixed.check(at(100)), Decision::Admit { remaining: 1 });
    assert_eq!(fixed.check(at(200)), Decision::Admit { remaining: 0 });
    assert_eq!(fixed.check(at(300)), Decision::Deny { retry_after: SimDuration::from_millis(700) });
    let mut log = SlidingLog::new(r);
    log.check(at(100));
    log.check(at(200));
    assert_eq!(log.check(at(300)), Decision::Deny { retry_after: SimDuration::from_millis(800) });
    let mut bucket = TokenBucket::new(r);
    bucket.check(at(0));
    assert_eq!(bucket.check(at(0)), Decision::Admit { remaining: 0 });
    assert_eq!(bucket.check(at(100)), Decision::Deny { retry_after: SimDuration::from_millis(400) });
    let mut leaky = LeakyBucket::new(rate(2, 1_000_000, 3));
    assert_eq!(leaky.check(at(0)), Decision::Admit { remaining: 2 });
    assert_eq!(leaky.check(at(0)), Decision::Delay { wait: SimDuration::from_millis(500) });
    assert_eq!(leaky.check(at(100)), Decision::Delay { wait: SimDuration::from_millis(900) });
    assert_eq!(leaky.check(at(100)), Decision::Delay { wait: SimDuration::from_millis(1_400) }, "three waiting");
    // A fourth would wait 1.9 s, three intervals or more: refused until the queue has moved.
    assert_eq!(leaky.check(at(100)), Decision::Deny { retry_after: SimDuration::from_micros(400_001) });
}

#[test]
fn rates_out_of_range_are_refused() {
    let s = SimDuration::from_secs(1);
    assert_eq!(Rate::new(0, s, 1), Err(RateError::Limit(0)));
    assert_eq!(Rate::new(1, s, 0), Err(RateError::Burst(0)));
    assert_eq!(Rate::new(1, SimDuration::ZERO, 1), Err(RateError::Period(0)));
    assert_eq!(
        Rate::new(1, SimDuration::from_secs(86_401), 1).unwrap_err().to_string(),
        "period = 86401000000 µs is out of range: allowed 1..=86400000000 µs"
    );
}
