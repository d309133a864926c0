//! `cargo bench -p distlab-engine --bench rate_limit`: nanoseconds per check of the engine's
//! local limiters next to references measured in the same run: its GCRA against the `governor`
//! crate's (both on a clock the benchmark advances by 1 µs per check, so that neither pays for
//! reading a real clock), and its token bucket against a naive one (`f64` tokens behind a
//! `Mutex`, as a first attempt usually is). The rate admits about half of the checks, so both
//! the admit and the deny paths are timed.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use distlab_engine::resilience::limit::{Gcra, Rate, TokenBucket};
use distlab_engine::sim::{SimDuration, SimTime};
use governor::clock::FakeRelativeClock;
use governor::{Quota, RateLimiter};

/// 500,000 per second with a burst of 10: one check per µs is twice the rate.
const PER_SECOND: u32 = 500_000;
const BURST: u32 = 10;

fn rate() -> Rate {
    Rate::new(u64::from(PER_SECOND), SimDuration::from_secs(1), u64::from(BURST)).expect("a valid rate")
}

/// The token bucket as it is often first written: floating-point tokens under a lock.
struct NaiveBucket {
    state: Mutex<(f64, u64)>,
}

impl NaiveBucket {
    fn check(&self, now_us: u64) -> bool {
        let mut state = self.state.lock().expect("never poisoned");
        let (tokens, last) = *state;
        let refilled = (tokens + (now_us - last) as f64 * f64::from(PER_SECOND) / 1e6).min(f64::from(BURST));
        let admitted = refilled >= 1.0;
        *state = (if admitted { refilled - 1.0 } else { refilled }, now_us);
        admitted
    }
}

fn gcra(c: &mut Criterion) {
    let mut group = c.benchmark_group("gcra");
    group.bench_function("governor", |b| {
        let clock = FakeRelativeClock::default();
        let quota = Quota::per_second(NonZeroU32::new(PER_SECOND).expect("non-zero"))
            .allow_burst(NonZeroU32::new(BURST).expect("non-zero"));
        let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
        b.iter(|| {
            clock.advance(Duration::from_micros(1));
            black_box(limiter.check().is_ok())
        });
    });
    group.bench_function("distlab", |b| {
        let mut limiter = Gcra::new(rate());
        let mut now = 0;
        b.iter(|| {
            now += 1;
            black_box(limiter.check(SimTime::from_micros(black_box(now))).admitted())
        });
    });
    group.finish();
}

fn token_bucket(c: &mut Criterion) {
    let mut group = c.benchmark_group("token_bucket");
    group.bench_function("naive_mutex_f64", |b| {
        let bucket = NaiveBucket { state: Mutex::new((f64::from(BURST), 0)) };
        let mut now = 0;
        b.iter(|| {
            now += 1;
            black_box(bucket.check(black_box(now)))
        });
    });
    group.bench_function("distlab", |b| {
        let mut bucket = TokenBucket::new(rate());
        let mut now = 0;
        b.iter(|| {
            now += 1;
            black_box(bucket.check(SimTime::from_micros(black_box(now))).admitted())
        });
    });
    group.finish();
}

criterion_group!(benches, gcra, token_bucket);
criterion_main!(benches);
