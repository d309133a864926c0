//! Distributed IDs in `distlab bench` (46.7.2): the Snowflake on one thread next to its layout's
//! limit (4,096 per millisecond with 12 sequence bits), one lock-free Snowflake shared by every
//! core, UUIDv7 from the `uuid` crate, and Leaf segments claimed from the target next to a local
//! counter; each checks its IDs (no duplicates, in order) and says so in the row's details.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use distlab_engine::id::layout::Layout;
use distlab_engine::id::segment::SegmentConfig;
use distlab_engine::id::snowflake::{Mint, Rollback, Snowflake, SnowflakeConfig};
use uuid::Uuid;

use super::{BenchError, BenchOptions, Histogram, Limit, Progress, Sample};
use crate::ids::{AtomicSnowflake, now_ms, segment_stream, wait_until_ms};
use crate::target::Target;

/// The chapter's layout: the limit the rows are read against.
const LAYOUT: Layout = Layout::CHAPTER;

fn sample(ops: u64, elapsed: Duration, details: BTreeMap<String, f64>) -> Sample {
    Sample { ops, errors: 0, elapsed, latencies: Histogram::default(), details, redis_errors: BTreeMap::new() }
}

/// Runs `next` until the limit, on this thread; returns how many and how long.
fn run_for(limit: Limit, mut next: impl FnMut()) -> (u64, Duration) {
    let started = Instant::now();
    let mut ops = 0u64;
    match limit {
        Limit::Ops(n) => {
            while ops < n {
                next();
                ops += 1;
            }
        }
        Limit::Duration(d) => {
            while started.elapsed() < d {
                for _ in 0..1_024 {
                    next();
                }
                ops += 1_024;
            }
        }
    }
    (ops, started.elapsed())
}

/// The layout's limit, as a baseline: IDs per second one worker can mint at most.
pub fn limit_baseline() -> Sample {
    let details = BTreeMap::from([("sequence_bits".to_owned(), f64::from(LAYOUT.sequence_bits))]);
    sample(LAYOUT.per_second(), Duration::from_secs(1), details)
}

/// A local counter (an `AtomicU64` incremented in place) handing out numbers through the same
/// loop: unique only within one process, what any distributed scheme is read against.
pub fn counter_baseline(opts: &BenchOptions, progress: &Progress) -> Sample {
    let n = std::sync::atomic::AtomicU64::new(0);
    let (ops, elapsed) = run_for(opts.limit, || {
        black_box(n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    });
    progress.add(ops);
    sample(ops, elapsed, BTreeMap::new())
}

/// One Snowflake generator on one thread, waiting (never spinning a whole tick) when a tick's
/// 4,096 IDs are out.
pub fn snowflake(opts: &BenchOptions, progress: &Progress) -> Result<Sample, BenchError> {
    let cfg = SnowflakeConfig {
        layout: LAYOUT,
        datacenter: 1,
        worker: 1,
        rollback: Rollback::Wait { max_ms: 1_000 },
        reserve_ms: 0,
    };
    // Waiting, not the logical clock: borrowing ticks ahead would beat the layout's limit by
    // minting the future's IDs now.
    let mut generator = Snowflake::new(cfg)
        .map_err(|e| BenchError::Setup { measurement: "id-snowflake".to_owned(), reason: e.to_string() })?;
    let (mut last, mut disorder, mut waits) = (0u64, 0u64, 0u64);
    let (ops, elapsed) = run_for(opts.limit, || {
        loop {
            match generator.next(now_ms()) {
                Mint::Id { id } => {
                    disorder += u64::from(id <= last);
                    last = id;
                    return;
                }
                Mint::Wait { until_ms, .. } => {
                    waits += 1;
                    wait_until_ms(until_ms);
                }
                Mint::Refused { .. } => wait_until_ms(now_ms() + 1),
            }
        }
    });
    progress.add(ops);
    let details = BTreeMap::from([
        ("duplicates_or_disorder".to_owned(), disorder as f64),
        ("full_ticks".to_owned(), waits as f64),
        // Against the full ticks: a tick not filled is one the thread was not running in for
        // long enough (a busy machine), not one the generator could not fill.
        ("ticks".to_owned(), elapsed.as_millis() as f64),
    ]);
    Ok(sample(ops, elapsed, details))
}

/// One lock-free Snowflake shared by a thread per core; every ID collected and checked.
pub fn snowflake_threads(opts: &BenchOptions, progress: &Progress) -> Sample {
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let generator = AtomicSnowflake::new(LAYOUT, 1, 2);
    let per_thread = match opts.limit {
        Limit::Ops(n) => Limit::Ops(n.div_ceil(threads as u64)),
        d @ Limit::Duration(_) => d,
    };
    let started = Instant::now();
    let mut all: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut ids = Vec::with_capacity(1 << 20);
                    run_for(per_thread, || ids.push(generator.next()));
                    ids
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let elapsed = started.elapsed();
    let ops = all.len() as u64;
    all.sort_unstable();
    all.dedup();
    progress.add(ops);
    let details = BTreeMap::from([
        ("threads".to_owned(), threads as f64),
        ("duplicates".to_owned(), (ops - all.len() as u64) as f64),
    ]);
    sample(ops, elapsed, details)
}

/// `Uuid::now_v7` (the crate's clock and counter), checked to increase.
pub fn uuidv7(opts: &BenchOptions, progress: &Progress) -> Sample {
    let (mut last, mut disorder) = (Uuid::nil(), 0u64);
    let (ops, elapsed) = run_for(opts.limit, || {
        let u = Uuid::now_v7();
        disorder += u64::from(u <= last);
        last = u;
    });
    progress.add(ops);
    sample(ops, elapsed, BTreeMap::from([("duplicates_or_disorder".to_owned(), disorder as f64)]))
}

/// Leaf segments claimed from the target (one `INCRBY` each, the next claimed at 10% of the
/// current, the step adapting), IDs handed out as fast as this thread can.
pub async fn segment(target: &Target, opts: &BenchOptions, progress: Progress) -> Result<Sample, BenchError> {
    let started = Instant::now();
    let cfg = SegmentConfig::leaf("max_id", 1_000);
    let report = segment_stream(target.primary(), cfg, 0, opts.limit, |_| {})
        .await
        .map_err(|source| BenchError::Backend { measurement: "id-segment".to_owned(), source })?;
    let elapsed = started.elapsed();
    progress.add(report.ids);
    let details = BTreeMap::from([
        ("claims".to_owned(), report.claims as f64),
        ("ids_per_claim".to_owned(), report.ids as f64 / report.claims.max(1) as f64),
        ("claims_per_s".to_owned(), report.claims as f64 / elapsed.as_secs_f64().max(1e-9)),
        ("longest_stall_ms".to_owned(), report.longest_stall.as_secs_f64() * 1_000.0),
        ("duplicates_or_disorder".to_owned(), report.duplicates_or_disorder as f64),
    ]);
    Ok(sample(report.ids, elapsed, details))
}
