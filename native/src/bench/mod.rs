//! `distlab bench`: every pattern's throughput and latency next to Redis's own raw speed,
//! measured in the same run, with the same client library, connection and concurrency.
//!
//! The baselines are plain `SET`, `GET`, `INCR` and `EVALSHA` of the cheapest named script
//! (`compare_and_delete` on a key the client does not own: one `GET` inside Lua). Each pattern
//! names the baseline it should be read against, and its figure is printed as a ratio to it.
//! Later patterns (locks, queues, caches, IDs, rate limiters) add themselves to [`PATTERNS`].
//! The ID generators run on this machine alone: they are read against their layout's limit or a
//! local counter (see [`ids`]).

mod histogram;
mod ids;
mod lb;
pub mod limit;
mod patterns;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use distlab_engine::store::{Cmd, Reply, ScriptName};
use serde::Serialize;

pub use histogram::Histogram;
pub use patterns::PATTERNS;

use crate::backend::{Backend, BackendError};
use crate::driver::DriverError;
use crate::target::Target;

/// How much work each measurement does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    Duration(Duration),
    /// Total operations across all clients.
    Ops(u64),
}

#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub clients: usize,
    pub limit: Limit,
    /// Commands per round trip for the baselines (patterns issue one request at a time).
    pub pipeline: usize,
    /// Only these measurements (baselines are always measured).
    pub only: Vec<String>,
    /// The simulated database's answer time in the cache patterns, (min, max) milliseconds.
    pub db_latency_ms: (u64, u64),
}

/// One row of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    pub name: String,
    pub kind: Kind,
    pub ops: u64,
    pub errors: u64,
    pub seconds: f64,
    pub ops_per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    /// The baseline this row is compared with, and the ratio of their ops/s.
    pub baseline: String,
    pub ratio: f64,
    /// What a pattern measures beyond speed (a cache's hit ratio and database loads).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, f64>,
    /// Redis's error replies, by their text: a row with any has failed operations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub redis_errors: BTreeMap<String, u64>,
    /// Why the measurement stopped before its end (every request failing), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

impl Measurement {
    /// Whether Redis refused some of this row's operations, or all of them.
    pub fn had_errors(&self) -> bool {
        !self.redis_errors.is_empty() || self.failed.is_some()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Baseline,
    Pattern,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub target: String,
    pub clients: usize,
    pub pipeline: usize,
    pub limit: String,
    pub results: Vec<Measurement>,
    /// Patterns the target cannot run, and why.
    pub skipped: Vec<String>,
}

/// Why a benchmark could not finish.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The cause is the error's `source`, which `{:#}` prints after the measurement's name.
    #[error("{measurement}")]
    Backend { measurement: String, source: BackendError },
    #[error("{measurement}")]
    Driver { measurement: String, source: DriverError },
    #[error("{measurement}: {reason}")]
    Http { measurement: String, reason: String },
    /// A measurement that could not be set up (its configuration refused).
    #[error("{measurement}: {reason}")]
    Setup { measurement: String, reason: String },
    #[error("unknown measurement {name:?}: the patterns are {known}")]
    UnknownPattern { name: String, known: String },
}

/// What a measurement produced before it is put next to its baseline.
#[derive(Debug)]
pub struct Sample {
    pub ops: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub latencies: Histogram,
    pub details: BTreeMap<String, f64>,
    /// Redis's error replies, by their text (see [`crate::driver::LiveReport::store_errors`]).
    pub redis_errors: BTreeMap<String, u64>,
}

/// Live counters for the progress line.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    ops: Rc<Cell<u64>>,
}

impl Progress {
    pub fn add(&self, n: u64) {
        self.ops.set(self.ops.get() + n);
    }
}

const BASELINES: [&str; 4] = ["SET", "GET", "INCR", "EVALSHA"];
/// Baselines measured only when a selected pattern is compared with them: `HTTP` is the load
/// balancer's, requests straight to one HTTP backend (see [`lb`]); `ID-LIMIT` the Snowflake
/// layout's limit (4,096 IDs a millisecond: computed, not measured) and `COUNTER` a local
/// counter, the ID generators' (see [`ids`]).
const BASELINES_ON_DEMAND: [&str; 4] = ["XADD", "HTTP", "ID-LIMIT", "COUNTER"];

pub async fn run(target: &Target, opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let patterns: Vec<&patterns::Pattern> = if opts.only.is_empty() {
        PATTERNS.iter().collect()
    } else {
        opts.only.iter().map(|name| find_pattern(name)).collect::<Result<_, _>>()?
    };
    let stores = target.backends.len();
    let skipped: Vec<String> = patterns
        .iter()
        .filter(|p| p.stores_min > stores)
        .map(|p| {
            format!(
                "{}: needs {} independent stores, the target has {stores} (use --redis-nodes)",
                p.name, p.stores_min
            )
        })
        .collect();
    let patterns: Vec<&patterns::Pattern> = patterns.into_iter().filter(|p| p.stores_min <= stores).collect();
    let baselines: Vec<&str> = BASELINES
        .into_iter()
        .chain(BASELINES_ON_DEMAND.into_iter().filter(|b| patterns.iter().any(|p| p.baseline == *b)))
        .collect();
    let total = baselines.len() + patterns.len();
    let backend = target.primary();
    let mut results: Vec<Measurement> = Vec::new();
    for (i, name) in baselines.iter().enumerate() {
        let label = format!("baseline {name}");
        let sample = if *name == "HTTP" {
            with_progress(i + 1, total, &label, opts.limit, |p| lb::baseline(opts, p)).await?
        } else if *name == "ID-LIMIT" {
            ids::limit_baseline()
        } else if *name == "COUNTER" {
            with_progress(i + 1, total, &label, opts.limit, |p| async move {
                Ok::<_, BenchError>(ids::counter_baseline(opts, &p))
            })
            .await?
        } else {
            let run = with_progress(i + 1, total, &label, opts.limit, |p| baseline(backend, name, opts, p));
            let run = script_cost(backend, *name == "EVALSHA", run);
            run.await.map_err(|source| BenchError::Backend { measurement: label.clone(), source })?
        };
        let m = measurement(label, Kind::Baseline, sample, None);
        results.push(m);
    }
    for (i, pattern) in patterns.iter().enumerate() {
        let label = pattern.name.to_owned();
        let base = results.iter().find(|m| m.name == format!("baseline {}", pattern.baseline)).cloned();
        let run = with_progress(baselines.len() + i + 1, total, &label, opts.limit, |p| (pattern.run)(target, opts, p));
        match script_cost(backend, pattern.baseline == "EVALSHA" && pattern.stores_min == 1, run).await {
            Ok(sample) => results.push(measurement(label, Kind::Pattern, sample, base.as_ref())),
            // Every request failing ends this row, not the run: the next rows say whether they
            // fail too, and the command exits 1 at the end.
            Err(BenchError::Driver { source: DriverError::Failing { replies, error, .. }, .. }) => {
                let sample = Sample {
                    ops: 0,
                    errors: replies,
                    elapsed: Duration::ZERO,
                    latencies: Histogram::default(),
                    details: BTreeMap::new(),
                    redis_errors: BTreeMap::from([(error, replies)]),
                };
                let mut m = measurement(label, Kind::Pattern, sample, base.as_ref());
                m.failed = Some(format!(
                    "stopped: {replies} requests in a row, over {} s, were answered with an error",
                    crate::driver::FAILING_FOR.as_secs()
                ));
                results.push(m);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(BenchReport {
        target: target.description.clone(),
        clients: opts.clients,
        pipeline: opts.pipeline,
        limit: match opts.limit {
            Limit::Duration(d) => format!("{} s per measurement", d.as_secs_f64()),
            Limit::Ops(n) => format!("{n} ops per measurement"),
        },
        results,
        skipped,
    })
}

/// Runs a row and, when `measure`, adds what one script call cost the server's thread
/// (`server_us_per_script`, from `INFO commandstats` before and after): on a busy machine
/// throughput moves with everything else running, this far less. A target that cannot say
/// (a cluster, an `INFO` refused) leaves it out.
async fn script_cost<E>(
    backend: &Backend,
    measure: bool,
    run: impl Future<Output = Result<Sample, E>>,
) -> Result<Sample, E> {
    let before = if measure { backend.command_stats("evalsha").await } else { None };
    let mut sample = run.await?;
    if let (Some((calls0, usec0)), Some((calls1, usec1))) = (before, backend.command_stats("evalsha").await)
        && calls1 > calls0
    {
        let per_call = usec1.saturating_sub(usec0) as f64 / (calls1 - calls0) as f64;
        sample.details.insert("server_us_per_script".to_owned(), (per_call * 100.0).round() / 100.0);
    }
    Ok(sample)
}

/// The pattern named `name`, or an error listing the known ones.
pub fn find_pattern(name: &str) -> Result<&'static patterns::Pattern, BenchError> {
    PATTERNS.iter().find(|p| p.name == name).ok_or_else(|| BenchError::UnknownPattern {
        name: name.to_owned(),
        known: PATTERNS.iter().map(|p| p.name).collect::<Vec<_>>().join(", "),
    })
}

fn measurement(name: String, kind: Kind, s: Sample, baseline: Option<&Measurement>) -> Measurement {
    let seconds = s.elapsed.as_secs_f64().max(1e-9);
    let ops_per_sec = s.ops as f64 / seconds;
    let (baseline_name, ratio) = match baseline {
        Some(b) => (b.name.clone(), if b.ops_per_sec > 0.0 { ops_per_sec / b.ops_per_sec } else { 0.0 }),
        None => (name.clone(), 1.0),
    };
    Measurement {
        name,
        kind,
        ops: s.ops,
        errors: s.errors,
        seconds,
        ops_per_sec,
        p50_us: s.latencies.percentile(500),
        p99_us: s.latencies.percentile(990),
        p999_us: s.latencies.percentile(999),
        baseline: baseline_name,
        ratio,
        details: s.details,
        redis_errors: s.redis_errors,
        failed: None,
    }
}

/// Runs one measurement while a progress line ticks on stderr (in place on a terminal, one line
/// at the end otherwise).
async fn with_progress<F, Fut, E>(index: usize, total: usize, label: &str, limit: Limit, f: F) -> Result<Sample, E>
where
    F: FnOnce(Progress) -> Fut,
    Fut: Future<Output = Result<Sample, E>>,
{
    let progress = Progress::default();
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let counter = Rc::clone(&progress.ops);
    let line = move || {
        let done = match limit {
            Limit::Duration(d) => format!("{:.1}/{:.1} s", started.elapsed().as_secs_f64(), d.as_secs_f64()),
            Limit::Ops(n) => format!("{}/{n} ops", counter.get()),
        };
        format!("  [{index}/{total}] {label:<24} {done}, {} ops", counter.get())
    };
    let work = f(progress);
    tokio::pin!(work);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let result = loop {
        tokio::select! {
            r = &mut work => break r,
            _ = tick.tick(), if tty => {
                eprint!("\r{}", line());
                let _ = std::io::stderr().flush();
            }
        }
    };
    if tty {
        eprintln!("\r{}", line());
    } else {
        eprintln!("{}", line());
    }
    result
}

/// Shared budget of a measurement: a deadline, or a number of operations left.
#[derive(Clone)]
struct Budget {
    deadline: Option<Instant>,
    ops_left: Rc<Cell<u64>>,
}

impl Budget {
    fn new(limit: Limit) -> Budget {
        match limit {
            Limit::Duration(d) => Budget { deadline: Some(Instant::now() + d), ops_left: Rc::new(Cell::new(u64::MAX)) },
            Limit::Ops(n) => Budget { deadline: None, ops_left: Rc::new(Cell::new(n)) },
        }
    }

    /// Takes up to `want` operations; 0 when the budget is spent.
    fn take(&self, want: u64) -> u64 {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return 0;
        }
        let n = self.ops_left.get().min(want);
        self.ops_left.set(self.ops_left.get() - n);
        n
    }
}

fn baseline_cmd(name: &str, client: usize, seq: u64) -> Cmd {
    let key = format!("bench:{client}");
    match name {
        "SET" => Cmd::Set { key, value: seq.to_string(), condition: None, expiry: None, get: false },
        "GET" => Cmd::Get { key },
        "INCR" => Cmd::Incr { key: format!("bench:incr:{client}") },
        // One stream per client, as the queue's producers each append to theirs: an entry of
        // two fields like a published message's.
        "XADD" => Cmd::XAdd {
            key: format!("{{bench-xadd-{client}}}:stream"),
            no_mkstream: false,
            maxlen: None,
            id: "*".to_owned(),
            fields: vec![("id".to_owned(), seq.to_string()), ("body".to_owned(), format!("m{seq}"))],
        },
        _ => Cmd::Script { script: ScriptName::CompareAndDelete, keys: vec![key], args: vec!["not-the-owner".into()] },
    }
}

/// `clients` tasks sharing the backend's connection, each sending `pipeline` commands per round
/// trip until the budget is spent.
async fn baseline(
    backend: &Backend,
    name: &str,
    opts: &BenchOptions,
    progress: Progress,
) -> Result<Sample, BackendError> {
    for c in 0..opts.clients {
        backend.exec(&baseline_cmd("SET", c, 0)).await?; // GET and EVALSHA read existing keys
    }
    let name = name.to_owned();
    commands(backend, opts, opts.pipeline, progress, move |c, seq| baseline_cmd(&name, c, seq)).await
}

/// `clients` tasks sharing the backend's connection, each sending `make(client, seq)` commands,
/// `pipeline` per round trip, until the budget is spent.
async fn commands(
    backend: &Backend,
    opts: &BenchOptions,
    pipeline: usize,
    progress: Progress,
    make: impl Fn(usize, u64) -> Cmd + Clone + 'static,
) -> Result<Sample, BackendError> {
    let budget = Budget::new(opts.limit);
    let started = Instant::now();
    // A JoinSet aborts its tasks when dropped: a Ctrl-C that drops this measurement stops every
    // client before the run's keys are cleaned up, so none writes after the cleanup.
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..opts.clients {
        let (backend, budget, progress, make) = (backend.clone(), budget.clone(), progress.clone(), make.clone());
        let pipeline = u64::try_from(pipeline).unwrap_or(1);
        tasks.spawn_local(async move {
            let mut hist = Histogram::default();
            let (mut ops, mut seq) = (0u64, 0u64);
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            loop {
                let n = budget.take(pipeline);
                if n == 0 {
                    break;
                }
                let cmds: Vec<Cmd> = (0..n).map(|k| make(c, seq + k)).collect();
                seq += n;
                let t = Instant::now();
                let replies =
                    if n == 1 { vec![backend.exec(&cmds[0]).await?] } else { backend.exec_pipeline(&cmds).await? };
                hist.record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                // Only answered commands count as throughput: a refused one is an error, not an
                // operation (a full server refusing every SET is not fast).
                for reply in &replies {
                    match reply {
                        Reply::Error(text) => *errors.entry(crate::driver::error_key(text)).or_default() += 1,
                        _ => ops += 1,
                    }
                }
                progress.add(n);
            }
            Ok::<_, BackendError>((ops, errors, hist))
        });
    }
    let mut sample = Sample {
        ops: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Histogram::default(),
        details: BTreeMap::new(),
        redis_errors: BTreeMap::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        let (ops, errors, hist) = joined.map_err(|e| BackendError(e.to_string()))??;
        sample.ops += ops;
        sample.latencies.merge(&hist);
        for (text, n) in errors {
            sample.errors += n;
            *sample.redis_errors.entry(text).or_default() += n;
        }
    }
    sample.elapsed = started.elapsed();
    Ok(sample)
}

/// The report as a table.
pub fn render_table(report: &BenchReport) -> String {
    let mut out = format!("clients {} · pipeline {} · {}\n", report.clients, report.pipeline, report.limit);
    if report.pipeline > 1 {
        out.push_str(&format!("baseline latencies are per round trip of {} commands\n", report.pipeline));
    }
    out.push_str(&format!(
        "{:<26} {:>12} {:>10} {:>10} {:>10} {:>7}  {}\n",
        "measurement", "ops/s", "p50 ms", "p99 ms", "p999 ms", "ratio", "vs"
    ));
    for note in &report.skipped {
        out.push_str(&format!("skipped {note}\n"));
    }
    for m in &report.results {
        let errors = if m.errors > 0 && !m.had_errors() { format!("  ({} failed)", m.errors) } else { String::new() };
        out.push_str(&format!(
            "{:<26} {:>12.0} {:>10.3} {:>10.3} {:>10.3} {:>7.3}  {}{errors}\n",
            m.name,
            m.ops_per_sec,
            m.p50_us as f64 / 1_000.0,
            m.p99_us as f64 / 1_000.0,
            m.p999_us as f64 / 1_000.0,
            m.ratio,
            m.baseline,
        ));
        if !m.details.is_empty() {
            let details: Vec<String> = m.details.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push_str(&format!("{:<26} {}\n", "", details.join(" · ")));
        }
        for (text, n) in &m.redis_errors {
            out.push_str(&format!("{:<26} ! {n} × Redis error: {text}\n", ""));
        }
        if let Some(why) = &m.failed {
            out.push_str(&format!("{:<26} ! {why}\n", ""));
        }
    }
    out
}
