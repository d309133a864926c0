//! The patterns `distlab bench` measures. Each runs engine actors through the real-time driver,
//! so what is measured is the very code the simulator runs.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

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
    pub run: for<'a> fn(&'a Target, &'a BenchOptions, Progress) -> PatternFuture<'a>,
}

pub static PATTERNS: [Pattern; 1] = [Pattern {
    name: "actor-kv",
    baseline: "SET",
    about: "engine KvClient actors (SET then GET, one request at a time) through the real-time driver",
    run: |target, opts, progress| Box::pin(actor_kv(target, opts, progress)),
}];

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
    let report =
        world.run(stop).await.map_err(|source| BenchError::Driver { measurement: "actor-kv".into(), source })?;
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
