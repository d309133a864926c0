//! The patterns `distlab bench` measures. Each runs engine actors through the real-time driver,
//! so what is measured is the very code the simulator runs.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::collections::BTreeMap;

use distlab_engine::NodeId;
use distlab_engine::coord::lock::{LockClient, LockClientConfig, LockMode, LockOptions};
use distlab_engine::coord::resource::ProtectedResource;
use distlab_engine::coord::{LockObs, LockProtocol};
use distlab_engine::sim::SimDuration;
use distlab_engine::store::workload::{KvClient, KvProtocol};

use super::{BenchError, BenchOptions, Histogram, Limit, Progress, Sample};
use crate::driver::{LiveWorld, StopWhen};
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

pub static PATTERNS: [Pattern; 7] = [
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
    Ok(Sample { ops, errors, elapsed: report.elapsed, latencies })
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
    Ok(Sample { ops, errors, elapsed: report.elapsed, latencies })
}
