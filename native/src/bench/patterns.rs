//! The patterns `distlab bench` measures. Each runs engine actors through the real-time driver,
//! so what is measured is the very code the simulator runs.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::collections::BTreeMap;

use distlab_engine::NodeId;
use distlab_engine::balance::AlgorithmKind;
use distlab_engine::coord::lock::{LockClient, LockClientConfig, LockMode, LockOptions};
use distlab_engine::coord::resource::ProtectedResource;
use distlab_engine::coord::{LockObs, LockProtocol};
use distlab_engine::sim::SimDuration;
use distlab_engine::store::workload::{KvClient, KvProtocol};

use distlab_engine::cache::app::{App, Wiring};
use distlab_engine::cache::database::Database;
use distlab_engine::cache::world::{CacheObs, CacheProtocol, PatternConfig, Source};

use distlab_engine::mq::streams::{GROUP, StreamObs, StreamsProtocol};
use distlab_engine::resilience::limit::Algorithm;
use distlab_engine::txn::saga_store::SagaStoreObs;

use super::{BenchError, BenchOptions, Histogram, Limit, Progress, Sample};
use crate::driver::{LiveReport, LiveWorld, StopWhen};
use crate::mq::{ConsumerBackend, MqRun};
use crate::saga::{SagaRun, SagaStats};
use crate::target::Target;

type PatternFuture<'a> = Pin<Box<dyn Future<Output = Result<Sample, BenchError>> + 'a>>;

/// A benchmarked pattern and the baseline it is compared with.
#[derive(Debug)]
pub struct Pattern {
    pub name: &'static str,
    pub baseline: &'static str,
    pub about: &'static str,
    /// Independent stores the pattern needs; skipped (with a note) on a target with fewer.
    pub stores_min: usize,
    pub run: for<'a> fn(&'a Target, &'a BenchOptions, Progress) -> PatternFuture<'a>,
}

pub static PATTERNS: &[Pattern] = &[
    Pattern {
        name: "actor-kv",
        baseline: "SET",
        about: "engine KvClient actors (SET then GET, one request at a time) through the real-time driver",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(actor_kv(target, opts, progress)),
    },
    Pattern {
        name: "lock",
        baseline: "SET",
        about: "LockClient cycles, each client on its own key: SET NX PX, one write, compare-and-delete",
        stores_min: 1,
        run: |target, opts, progress| {
            Box::pin(lock_cycles(target, opts, progress, "lock", LockShape::plain(LockKeys::PerClient, false)))
        },
    },
    Pattern {
        name: "lock-fenced",
        baseline: "EVALSHA",
        about: "the same with fencing tokens: the acquire_fenced script, one write, compare-and-delete",
        stores_min: 1,
        run: |target, opts, progress| {
            Box::pin(lock_cycles(target, opts, progress, "lock-fenced", LockShape::plain(LockKeys::PerClient, true)))
        },
    },
    Pattern {
        name: "lock-contended-8",
        baseline: "SET",
        about: "all clients on 8 keys (losers retry after 100 ms plus jitter)",
        stores_min: 1,
        run: |target, opts, progress| {
            Box::pin(lock_cycles(
                target,
                opts,
                progress,
                "lock-contended-8",
                LockShape::plain(LockKeys::Shared(8), false),
            ))
        },
    },
    Pattern {
        name: "lock-contended-1",
        baseline: "SET",
        about: "all clients on one key",
        stores_min: 1,
        run: |target, opts, progress| {
            Box::pin(lock_cycles(
                target,
                opts,
                progress,
                "lock-contended-1",
                LockShape::plain(LockKeys::Shared(1), false),
            ))
        },
    },
    Pattern {
        name: "redlock",
        baseline: "SET",
        about: "Redlock cycles over every independent store of the target (5 for the embedded default)",
        stores_min: 3,
        run: |target, opts, progress| {
            Box::pin(lock_cycles(target, opts, progress, "redlock", LockShape::plain(LockKeys::PerClient, false)))
        },
    },
    Pattern {
        name: "lock-reentrant",
        baseline: "EVALSHA",
        about: "Redisson's reentrant lock, each client on its own key: rw_acquire, again, one write, rw_release twice",
        stores_min: 1,
        run: |target, opts, progress| {
            let shape = LockShape { keys: LockKeys::PerClient, fencing: false, mode: LockMode::Write, reentry: 1 };
            Box::pin(lock_cycles(target, opts, progress, "lock-reentrant", shape))
        },
    },
    Pattern {
        name: "cache-aside",
        baseline: "GET",
        about: "engine App servers, one per client, 4 reads or writes in flight each: Zipf 0.9 over 10,000 keys, 5% writes, TTL 60 s, in front of a simulated database (--db-latency-ms, 1-3 by default)",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(cache_aside(target, opts, progress)),
    },
    Pattern {
        name: "cache-stampede",
        baseline: "GET",
        about: "4 servers read one missing key 250 times each at once (a miss wave on a hot key): no protection",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(cache_stampede(target, opts, progress, "cache-stampede", false)),
    },
    Pattern {
        name: "cache-stampede-mutex",
        baseline: "GET",
        about: "the same wave with the SET NX mutex (double-checked): one server loads, the others poll the cache",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(cache_stampede(target, opts, progress, "cache-stampede-mutex", true)),
    },
    Pattern {
        name: "saga",
        baseline: "EVALSHA",
        about: "store-backed sagas (46.7.3), one worker per client with its own accounts, log and outbox: three saga_step scripts per order (the step, its log entry and its outbox event at once), a relay and a deduplicating consumer alongside; ops are sagas, latency is begin to end",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(sagas(target, opts, progress, "saga", 100)),
    },
    Pattern {
        name: "saga-compensated",
        baseline: "EVALSHA",
        about: "the same with no shipping slot: two steps, the third refused, both compensated in reverse (five scripts per order)",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(sagas(target, opts, progress, "saga-compensated", 0)),
    },
    Pattern {
        name: "mq",
        baseline: "XADD",
        about: "the reliable queue on Redis Streams (46.2): 2 producers (mq_publish of up to 50 messages a call, 2 calls in flight each), 10 consumers in one group reading COUNT 50 (blocking on a connection of their own when the stream is empty) and settling each read's effects and acks in one mq_settle; ops are acked messages, latency is publish to ack (--clients does not apply)",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(queue(target, opts, progress, "mq", 1, 10, 0)),
    },
    Pattern {
        name: "mq-fanout",
        baseline: "XADD",
        about: "the same stream read by 3 subscribers, each a consumer group of 4: every message acked once per group; ops are acks. Publishing is paid once and consuming three times, so the producers outrun the groups and its latency is the wait behind a growing backlog",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(queue(target, opts, progress, "mq-fanout", 3, 4, 0)),
    },
    Pattern {
        name: "mq-10k",
        baseline: "XADD",
        about: "the mq row at an offered 10,000 messages/s (2 producers, 5 a millisecond each), 10 consumers in one group: the latency at a rate, not at saturation",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(queue(target, opts, progress, "mq-10k", 1, 10, 5)),
    },
    Pattern {
        name: "lb-round-robin",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (round_robin) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::RoundRobin)),
    },
    Pattern {
        name: "lb-smooth-wrr",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (smooth_wrr) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::SmoothWrr)),
    },
    Pattern {
        name: "lb-least-conn",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (least_conn) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::LeastConn)),
    },
    Pattern {
        name: "lb-least-outstanding",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (least_outstanding) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::LeastOutstanding)),
    },
    Pattern {
        name: "lb-ip-hash",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (ip_hash) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::IpHash)),
    },
    Pattern {
        name: "lb-bounded-load",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (bounded_load) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::BoundedLoad)),
    },
    Pattern {
        name: "lb-maglev",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (maglev) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::Maglev)),
    },
    Pattern {
        name: "lb-p2c-ewma",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (p2c_ewma) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::P2cEwma)),
    },
    Pattern {
        name: "lb-random",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (random) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::Random)),
    },
    Pattern {
        name: "lb-chapter-round-robin",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (chapter_round_robin) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::ChapterRoundRobin)),
    },
    Pattern {
        name: "lb-chapter-weighted",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (chapter_weighted) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::ChapterWeighted)),
    },
    Pattern {
        name: "lb-chapter-least-conn",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (chapter_least_conn) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::ChapterLeastConn)),
    },
    Pattern {
        name: "lb-chapter-ip-hash",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (chapter_ip_hash) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::ChapterIpHash)),
    },
    Pattern {
        name: "lb-chapter-consistent",
        baseline: "HTTP",
        about: "HTTP requests through the proxy running the engine's balancer (chapter_consistent) to three instant backends; then p99 with one backend slowed 10x",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(super::lb::row(opts, progress, AlgorithmKind::ChapterConsistent)),
    },
    Pattern {
        name: "limit-fixed-window",
        baseline: "EVALSHA",
        about: "one rate_limit check per round trip (a counter per aligned window), each client on a key of its own at 1,000/s with a burst of 100, on the server's clock",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(super::limit::row(target, opts, progress, Algorithm::FixedWindow)),
    },
    Pattern {
        name: "limit-sliding-log",
        baseline: "EVALSHA",
        about: "one rate_limit check per round trip (a sorted set of the last period's admissions), each client on a key of its own at 1,000/s with a burst of 100, on the server's clock",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(super::limit::row(target, opts, progress, Algorithm::SlidingLog)),
    },
    Pattern {
        name: "limit-sliding-window",
        baseline: "EVALSHA",
        about: "one rate_limit check per round trip (two window counters, the previous one weighed), each client on a key of its own at 1,000/s with a burst of 100, on the server's clock",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(super::limit::row(target, opts, progress, Algorithm::SlidingWindow)),
    },
    Pattern {
        name: "limit-token-bucket",
        baseline: "EVALSHA",
        about: "one rate_limit check per round trip (a level and a time), each client on a key of its own at 1,000/s with a burst of 100, on the server's clock",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(super::limit::row(target, opts, progress, Algorithm::TokenBucket)),
    },
    Pattern {
        name: "limit-leaky-bucket",
        baseline: "EVALSHA",
        about: "one rate_limit check per round trip (the next departure: a queue at a steady rate), each client on a key of its own at 1,000/s with a burst of 100, on the server's clock",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(super::limit::row(target, opts, progress, Algorithm::LeakyBucket)),
    },
    Pattern {
        name: "limit-gcra",
        baseline: "EVALSHA",
        about: "one rate_limit check per round trip (one theoretical arrival time), each client on a key of its own at 1,000/s with a burst of 100, on the server's clock",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(super::limit::row(target, opts, progress, Algorithm::Gcra)),
    },
    Pattern {
        name: "id-snowflake",
        baseline: "ID-LIMIT",
        about: "the engine's Snowflake (41/5/5/12) on one thread and the system clock, waiting out full ticks; IDs checked to increase",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(async move { super::ids::snowflake(opts, &progress) }),
    },
    Pattern {
        name: "id-snowflake-threads",
        baseline: "ID-LIMIT",
        about: "one lock-free Snowflake (an AtomicU64 compare-and-swap) shared by a thread per core; every ID collected and checked for duplicates",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(async move { Ok(super::ids::snowflake_threads(opts, &progress)) }),
    },
    Pattern {
        name: "id-uuidv7",
        baseline: "COUNTER",
        about: "Uuid::now_v7 from the uuid crate (its 42-bit counter within a millisecond), checked to increase",
        stores_min: 0,
        run: |_, opts, progress| Box::pin(async move { Ok(super::ids::uuidv7(opts, &progress)) }),
    },
    Pattern {
        name: "id-segment",
        baseline: "COUNTER",
        about: "Leaf segments claimed from the target with one INCRBY each, the next claimed at 10% of the current while IDs flow, the step adapting from 1,000",
        stores_min: 1,
        run: |target, opts, progress| Box::pin(super::ids::segment(target, opts, progress)),
    },
];

/// The longest an ops-limited pattern may run, so that a stuck backend cannot hang a benchmark.
const OPS_RUN_MAX: Duration = Duration::from_secs(600);

async fn actor_kv(target: &Target, opts: &BenchOptions, progress: Progress) -> Result<Sample, BenchError> {
    let mut world = LiveWorld::<KvProtocol>::new(1);
    let store = world.add_store("redis", target.primary().clone());
    for c in 0..opts.clients {
        world.add_actor(format!("client{c}"), KvClient::new(store, format!("kv:{c}")));
    }
    let stop = match opts.limit {
        Limit::Duration(d) => StopWhen::After(d),
        Limit::Ops(n) => {
            StopWhen::Observations { count: usize::try_from(n).unwrap_or(usize::MAX), at_most: OPS_RUN_MAX }
        }
    };
    let report = world
        .run(stop, |_| true)
        .await
        .map_err(|source| BenchError::Driver { measurement: "actor-kv".into(), source })?;
    let mut latencies = Histogram::default();
    let mut errors = 0;
    for o in &report.observations {
        latencies.record(o.obs.latency_us);
        errors += u64::from(!o.obs.ok);
    }
    let ops = report.observations.len() as u64;
    progress.add(ops);
    Ok(Sample {
        ops,
        errors,
        elapsed: report.elapsed,
        latencies,
        details: BTreeMap::new(),
        redis_errors: report.store_errors,
    })
}

/// A cache world on the target: the database and the application servers as engine actors, the
/// target's primary store as the cache.
fn cache_world(target: &Target, cfg: &PatternConfig, servers: u32, prefix: &'static str) -> LiveWorld<CacheProtocol> {
    let mut world = LiveWorld::<CacheProtocol>::new(1);
    let cache = world.add_store("redis", target.primary().clone());
    let (lo, hi) = (cfg.db_latency_min_ms * 1_000, cfg.db_latency_max_ms * 1_000);
    let db = world.add_actor("db", Database::new(cfg.keys, lo, hi, None));
    for index in 0..servers {
        world.add_actor(format!("app{index}"), App::new(cfg.clone(), Wiring { index, db, cache, prefix }, None));
    }
    world
}

/// What a cache run measured: one op per finished read or write, its latency, and the cache's
/// effect on the database.
#[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
fn cache_sample(report: &LiveReport<CacheObs>) -> Sample {
    let mut latencies = Histogram::default();
    let (mut ops, mut hits, mut reads, mut loads) = (0u64, 0u64, 0u64, 0u64);
    for o in &report.observations {
        match o.obs {
            CacheObs::Read { source, latency_us, .. } => {
                ops += 1;
                reads += 1;
                hits += u64::from(matches!(source, Source::Cache | Source::Null));
                latencies.record(latency_us);
            }
            CacheObs::WriteAcked { .. } => ops += 1,
            CacheObs::DbLoad { .. } => loads += 1,
            _ => {}
        }
    }
    let details = BTreeMap::from([
        ("hit_ratio".to_owned(), if reads == 0 { 0.0 } else { (hits as f64 / reads as f64 * 1e4).round() / 1e4 }),
        ("db_loads".to_owned(), loads as f64),
    ]);
    Sample { ops, errors: 0, elapsed: report.elapsed, latencies, details, redis_errors: report.store_errors.clone() }
}

async fn cache_aside(target: &Target, opts: &BenchOptions, progress: Progress) -> Result<Sample, BenchError> {
    let cfg = PatternConfig {
        closed_loop: 4,
        keys: 10_000,
        zipf_s: 0.9,
        write_percent: 5,
        ttl_ms: 60_000,
        db_latency_min_ms: opts.db_latency_ms.0,
        db_latency_max_ms: opts.db_latency_ms.1,
        duration_ms: 3_600_000,
        ..PatternConfig::default()
    };
    let servers = u32::try_from(opts.clients).unwrap_or(u32::MAX).max(1);
    let world = cache_world(target, &cfg, servers, "{cache-aside}:");
    let stop = match opts.limit {
        Limit::Duration(d) => StopWhen::After(d),
        Limit::Ops(n) => {
            StopWhen::Observations { count: usize::try_from(n).unwrap_or(usize::MAX), at_most: OPS_RUN_MAX }
        }
    };
    let report = world
        .run(stop, |o| matches!(o, CacheObs::Read { .. } | CacheObs::WriteAcked { .. }))
        .await
        .map_err(|source| BenchError::Driver { measurement: "cache-aside".into(), source })?;
    let sample = cache_sample(&report);
    progress.add(sample.ops);
    Ok(sample)
}

/// The reads of one stampede: 4 servers × 250.
pub const STAMPEDE_READS: usize = 1_000;

/// One miss wave on a cold key, with or without the mutex; reports the database loads it caused.
pub async fn cache_stampede(
    target: &Target,
    opts: &BenchOptions,
    progress: Progress,
    name: &'static str,
    mutex: bool,
) -> Result<Sample, BenchError> {
    let cfg = PatternConfig {
        rate_per_s: 0,
        burst: 250,
        burst_at_ms: 0,
        mutex,
        db_latency_min_ms: opts.db_latency_ms.0,
        db_latency_max_ms: opts.db_latency_ms.1,
        ..PatternConfig::default()
    };
    let prefix = if mutex { "{cache-stampede-mutex}:" } else { "{cache-stampede}:" };
    let world = cache_world(target, &cfg, 4, prefix);
    let stop = StopWhen::Observations { count: STAMPEDE_READS, at_most: OPS_RUN_MAX };
    let report = world
        .run(stop, |o| matches!(o, CacheObs::Read { .. }))
        .await
        .map_err(|source| BenchError::Driver { measurement: name.to_owned(), source })?;
    let sample = cache_sample(&report);
    progress.add(sample.ops);
    Ok(sample)
}

/// Which lock each client takes.
#[derive(Clone, Copy, Debug)]
enum LockKeys {
    PerClient,
    /// Clients share this many keys (client i takes key i mod K).
    Shared(usize),
}

/// What each client of a lock benchmark takes.
#[derive(Clone, Copy, Debug)]
struct LockShape {
    keys: LockKeys,
    fencing: bool,
    mode: LockMode,
    reentry: u32,
}

impl LockShape {
    fn plain(keys: LockKeys, fencing: bool) -> Self {
        LockShape { keys, fencing, mode: LockMode::Plain, reentry: 0 }
    }
}

/// Lock cycles (acquire, one write to an in-process protected resource, release) through the
/// real-time driver, with the chapter's lock options (lease 30 s, wait 10 s, retry 100 ms).
/// One operation is one cycle; its latency runs from the first acquire attempt to the release.
async fn lock_cycles(
    target: &Target,
    opts: &BenchOptions,
    progress: Progress,
    name: &str,
    shape: LockShape,
) -> Result<Sample, BenchError> {
    let LockShape { keys, fencing, mode, reentry } = shape;
    let mut world = LiveWorld::<LockProtocol>::new(1);
    // Redlock takes every independent store; the other lock patterns the primary one.
    let backends = if name == "redlock" { target.backends.clone() } else { vec![target.primary().clone()] };
    let stores: Vec<NodeId> =
        backends.into_iter().enumerate().map(|(i, b)| world.add_store(format!("redis{i}"), b)).collect();
    let resource = world.add_actor("resource", ProtectedResource::new(fencing, None));
    for c in 0..opts.clients {
        let k = match keys {
            LockKeys::PerClient => c,
            LockKeys::Shared(n) => c % n.max(1),
        };
        let config = LockClientConfig {
            stores: stores.clone(),
            resource,
            key: format!("{{{name}:{k}}}"), // each pattern its own locks: a stopped run leaves some held
            options: LockOptions::default(),
            watchdog: false,
            fencing,
            writes: 1,
            compute: SimDuration::ZERO,
            think: SimDuration::ZERO,
            first_round_after: Some(SimDuration::ZERO),
            zookeeper: None,
            mode,
            reentry,
        };
        world.add_actor(format!("client{c}"), LockClient::new(config, None));
    }
    let stop = match opts.limit {
        Limit::Duration(d) => StopWhen::After(d),
        Limit::Ops(n) => {
            StopWhen::Observations { count: usize::try_from(n).unwrap_or(usize::MAX), at_most: OPS_RUN_MAX }
        }
    };
    let report = world
        .run(stop, |o| matches!(o, LockObs::Unlocking { .. }))
        .await
        .map_err(|source| BenchError::Driver { measurement: name.to_owned(), source })?;
    let mut latencies = Histogram::default();
    let (mut ops, mut errors) = (0u64, 0u64);
    let mut started: BTreeMap<NodeId, u64> = BTreeMap::new();
    for o in &report.observations {
        match o.obs {
            LockObs::Acquired { waited_us, .. } => {
                started.insert(o.node, o.time.as_micros().saturating_sub(waited_us));
            }
            LockObs::Unlocking { .. } => {
                if let Some(start) = started.remove(&o.node) {
                    latencies.record(o.time.as_micros().saturating_sub(start));
                    ops += 1;
                }
            }
            LockObs::GaveUp | LockObs::RenewalFailed { .. } | LockObs::LeaseExpired { .. } => errors += 1,
            _ => {}
        }
    }
    progress.add(ops);
    Ok(Sample {
        ops,
        errors,
        elapsed: report.elapsed,
        latencies,
        details: BTreeMap::new(),
        redis_errors: report.store_errors,
    })
}

/// Sagas on the store until the budget is spent; `shipping_percent` of the orders complete, the
/// others are compensated.
async fn sagas(
    target: &Target,
    opts: &BenchOptions,
    progress: Progress,
    name: &'static str,
    shipping_percent: u64,
) -> Result<Sample, BenchError> {
    let workers = u64::try_from(opts.clients).unwrap_or(1).max(1);
    // A duration-limited run never runs out of orders; an ops-limited one has exactly that many.
    let (orders, stop) = match opts.limit {
        Limit::Duration(d) => (workers * 1_000_000_000, StopWhen::After(d)),
        Limit::Ops(n) => (
            n.max(workers),
            StopWhen::Observations { count: usize::try_from(workers).unwrap_or(usize::MAX), at_most: OPS_RUN_MAX },
        ),
    };
    let run = SagaRun { tag: name, orders, workers, price: 10, shipping_percent };
    let report = run
        .world(target.primary(), 1)
        .run(stop, |o| matches!(o, SagaStoreObs::Finished))
        .await
        .map_err(|source| BenchError::Driver { measurement: name.into(), source })?;
    let stats = SagaStats::of(&run, &report.observations);
    let mut latencies = Histogram::default();
    for &us in &stats.latencies_us {
        latencies.record(us);
    }
    progress.add(stats.finished);
    let per_saga =
        |n: u64| if stats.finished == 0 { 0.0 } else { (n as f64 / stats.finished as f64 * 100.0).round() / 100.0 };
    let details = BTreeMap::from([
        ("compensations_per_saga".to_owned(), per_saga(stats.compensations)),
        ("store_requests_per_saga".to_owned(), per_saga(report.store_requests)),
    ]);
    Ok(Sample {
        ops: stats.finished,
        errors: stats.failures.len() as u64,
        elapsed: report.elapsed,
        latencies,
        details,
        redis_errors: report.store_errors,
    })
}

/// The queue on Redis Streams: `groups` consumer groups of `members` consumers each reading one
/// stream, until the budget is spent (a duration-limited run never runs out of messages); ops
/// are acks, latency is from each message's publish to each ack of it.
async fn queue(
    target: &Target,
    opts: &BenchOptions,
    progress: Progress,
    name: &'static str,
    groups: u64,
    members: u64,
    per_ms: u64,
) -> Result<Sample, BenchError> {
    let (messages, limit) = match opts.limit {
        Limit::Duration(d) => (u64::MAX / 2, d),
        Limit::Ops(n) => (n.div_ceil(groups).max(1), OPS_RUN_MAX),
    };
    let run = MqRun {
        tag: name.to_owned(),
        // Two producers with two calls of up to 50 messages each in flight keep ten consumers
        // busy without burying them (more only queue up: the server is the bottleneck).
        producers: 2,
        consumers: members,
        messages,
        fail_percent: 0,
        poison_every: 0,
        delay_every: 0,
        delay_ms: 0,
        visibility_ms: 5_000,
        max_deliveries: 5,
        batch: 50,
        work_us: (0, 0),
        dedup: true,
        window: 2,
        per_ms,
    };
    let backend = target.primary();
    let started = std::time::Instant::now();
    let sink: crate::driver::Sink<StreamsProtocol> = (std::rc::Rc::new(std::cell::RefCell::new(Vec::new())), started);
    let acked = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let failed = |source| BenchError::Driver { measurement: name.into(), source };
    // Dropping a world's run stops it: every world ends when this measurement does.
    let mut worlds = tokio::task::JoinSet::new();
    let producers = run.producer_world(backend, 1, sink.clone());
    worlds.spawn_local(producers.run(StopWhen::After(limit), |_| false));
    for g in 0..groups {
        let group = if groups == 1 { GROUP.to_owned() } else { format!("subscriber-{}", g + 1) };
        for i in 0..members {
            let via = ConsumerBackend::connect(backend)
                .await
                .map_err(|source| BenchError::Backend { measurement: name.into(), source })?;
            let world = run
                .member_world(&via, &group, i, 100 * g + i + 2, sink.clone())
                .with_progress(std::rc::Rc::clone(&acked), |o| matches!(o, StreamObs::Acked { .. }));
            worlds.spawn_local(world.run(StopWhen::After(limit), |_| false));
        }
    }
    let wanted = messages.saturating_mul(groups);
    while acked.get() < wanted && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if let Some(Ok(Err(e))) = worlds.try_join_next() {
            return Err(failed(e));
        }
    }
    let elapsed = started.elapsed();
    worlds.abort_all();
    let observations = sink.0.borrow();
    let mut published = BTreeMap::new();
    let mut latencies = Histogram::default();
    let mut errors = 0;
    let mut redis_errors = BTreeMap::new();
    for o in observations.iter() {
        match &o.obs {
            StreamObs::Published { id, .. } => {
                published.insert(*id, o.time.as_micros());
            }
            StreamObs::Acked { id } => {
                if let Some(at) = published.get(id) {
                    latencies.record(o.time.as_micros().saturating_sub(*at));
                }
            }
            StreamObs::StoreFailed { error } => {
                errors += 1;
                *redis_errors.entry(error.clone()).or_default() += 1;
            }
            _ => {}
        }
    }
    let ops = acked.get();
    progress.add(ops);
    let details =
        BTreeMap::from([("groups".to_owned(), groups as f64), ("consumers_per_group".to_owned(), members as f64)]);
    Ok(Sample { ops, errors, elapsed, latencies, details, redis_errors })
}
