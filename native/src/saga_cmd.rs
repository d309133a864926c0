//! `distlab saga`: orders as sagas on a real Redis, their log and outbox in it, checked at the
//! end (46.7.3). With `--name` the run's state stays in Redis under `distlab:saga-<name>:`, so a
//! run that was interrupted — or killed — resumes where it stopped when started again.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use clap::Args;
use distlab::saga::{SagaRun, SagaStats};
use distlab::target::Target;
use distlab_engine::txn::saga_store::{SagaAudit, SagaStoreObs};

use crate::bench_cmd::TargetArgs;
use crate::{Failure, Outcome};

#[derive(Debug, Args)]
pub struct SagaArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Orders in all, each a saga of three steps: reserve stock, charge, book shipping.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    orders: u64,
    /// Independent saga worlds side by side (an orchestrator sends one request at a time).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    workers: u64,
    /// The price of an order.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    price: i64,
    /// The share of orders that find a shipping slot; the others are compensated (payment, then
    /// inventory).
    #[arg(long, value_name = "PERCENT", default_value_t = 90, value_parser = clap::value_parser!(u64).range(0..=100))]
    shipping_percent: u64,
    /// Keep the run's state in Redis under distlab:saga-NAME: so that running the same command
    /// again resumes it (after a crash, a kill, Ctrl-C). Needs --redis or --cluster; one process
    /// per name at a time (two at once may set the accounts up twice, which the audit reports).
    #[arg(long, value_name = "NAME", value_parser = crate::progress::parse_name)]
    name: Option<String>,
    /// With --name: delete the state once every saga is over and checked.
    #[arg(long, requires = "name")]
    clean: bool,
    /// Give up after this many seconds.
    #[arg(long, value_name = "S", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, serde::Serialize)]
struct SagaReport {
    target: String,
    orders: u64,
    workers: u64,
    seconds: f64,
    sagas_per_sec: f64,
    #[serde(flatten)]
    stats: SagaStats,
    audit: SagaAudit,
    holds: bool,
}

pub async fn run(args: &SagaArgs) -> Result<Outcome, Failure> {
    let (target, prefix) =
        crate::resume::connect(&args.target.spec(), "saga", "a saga's", "a run's state", args.name.as_deref()).await?;
    if !args.json {
        println!("{}", target.description);
    }
    let run = SagaRun {
        tag: "saga",
        orders: args.orders,
        workers: args.workers.min(args.orders),
        price: args.price,
        shipping_percent: args.shipping_percent,
    };
    let result = tokio::select! {
        r = sagas(&target, &run, args.timeout) => r,
        stop = crate::signals::stopped() => Err(stop),
    };
    let kept = crate::resume::Kept { command: "saga", name: args.name.as_deref(), clean: args.clean, prefix: &prefix };
    let report = kept.settle(&target, result, |r| r.holds).await?;
    crate::resume::print(&report, args.json, print_report)?;
    Ok(if report.holds { Outcome::Ok } else { Outcome::PropertyViolated })
}

/// Runs the sagas to the end, drains the outboxes, and audits what Redis holds.
async fn sagas(target: &Target, run: &SagaRun, timeout_s: u64) -> Result<SagaReport, Failure> {
    let backend = target.primary();
    let options = format!(
        "--orders {} --workers {} --price {} --shipping-percent {}",
        run.orders, run.workers, run.price, run.shipping_percent
    );
    crate::resume::same_options(backend, &options).await?;
    let started = Instant::now();
    let done = Rc::new(Cell::new(0u64));
    let total = run.orders;
    let ticker = crate::progress::ticker(Rc::clone(&done), move |n, s| {
        format!("  {n} sagas finished by this run (of {total} orders), {s:.0} s")
    });
    let deadline = started + Duration::from_secs(timeout_s);
    let world = run.world(backend, 1).with_progress(Rc::clone(&done), |o| {
        matches!(o, SagaStoreObs::Completed { .. } | SagaStoreObs::RolledBack { .. })
    });
    let workers = usize::try_from(run.workers).unwrap_or(usize::MAX);
    let stop = |at_most| distlab::driver::StopWhen::Observations { count: workers, at_most };
    let sagas = world
        .run(stop(deadline.saturating_duration_since(Instant::now())), |o| matches!(o, SagaStoreObs::Finished))
        .await
        .map_err(Failure::runtime)?;
    // Out of time: the sagas still running and the outbox events still on their way would read
    // as dropped and undelivered. Say so instead, as the queue does, and judge nothing.
    let gave_up = |what: String| {
        Failure::limit(anyhow!(
            "{what} after {:.0} s: giving up (raise --timeout; with --name, the same command resumes where this one stopped)",
            started.elapsed().as_secs_f64()
        ))
    };
    let finished = |observations: &[distlab_engine::sim::Observed<SagaStoreObs>], what: fn(&SagaStoreObs) -> bool| {
        observations.iter().filter(|o| what(&o.obs)).count()
    };
    if finished(&sagas.observations, |o| matches!(o, SagaStoreObs::Finished)) < workers {
        return Err(gave_up(format!("{} of {} sagas finished", done.get(), run.orders)));
    }
    let drained = run
        .drain_world(backend, 2)
        .run(stop(deadline.saturating_duration_since(Instant::now())), |o| matches!(o, SagaStoreObs::Drained))
        .await
        .map_err(Failure::runtime)?;
    if finished(&drained.observations, |o| matches!(o, SagaStoreObs::Drained)) < workers {
        return Err(gave_up("every saga finished, the outbox not yet drained,".to_owned()));
    }
    drop(ticker);
    let seconds = started.elapsed().as_secs_f64();
    let audit = run.audit(backend).await.map_err(|e| Failure::runtime(anyhow!("reading the saga state back: {e}")))?;
    let stats = SagaStats::of(run, &sagas.observations);
    let holds = audit.holds() && stats.failures.is_empty();
    Ok(SagaReport {
        target: target.description.clone(),
        orders: run.orders,
        workers: run.workers,
        seconds,
        sagas_per_sec: stats.finished as f64 / seconds.max(1e-9),
        stats,
        audit,
        holds,
    })
}

/// The report as text (a closed pipe is an error `main` ends quietly on, not a panic).
fn print_report(out: &mut impl Write, r: &SagaReport) -> std::io::Result<()> {
    let a = &r.audit;
    writeln!(
        out,
        "sagas: {} finished by this run in {:.2} s ({:.0}/s), {} resumed from an interrupted run, {} compensations",
        r.stats.finished, r.seconds, r.sagas_per_sec, r.stats.resumed, r.stats.compensations
    )?;
    if let Some(p99) = crate::progress::percentile(&r.stats.latencies_us, 990) {
        writeln!(
            out,
            "latency (begin to end): p50 {} µs, p99 {p99} µs",
            crate::progress::percentile(&r.stats.latencies_us, 500).unwrap_or(0)
        )?;
    }
    writeln!(
        out,
        "orders: {} completed, {} rolled back, {} unfinished",
        a.completed,
        a.rolled_back,
        a.unfinished.len()
    )?;
    writeln!(
        out,
        "outbox: {} events written, {} counted once by the consumer, {} left",
        a.events, a.consumed, a.outbox_left
    )?;
    let mark = |ok: bool| if ok { "PASS" } else { "FAIL" };
    writeln!(out, "checks:")?;
    writeln!(
        out,
        "  {} atomicity: {}",
        mark(a.partial.is_empty()),
        if a.partial.is_empty() {
            "every order done everywhere or nowhere".to_owned()
        } else {
            format!("orders half done: {:?}", a.partial)
        }
    )?;
    writeln!(
        out,
        "  {} conservation: {}",
        mark(a.unbalanced.is_empty()),
        if a.unbalanced.is_empty() {
            "stock, money and slots conserved".to_owned()
        } else {
            format!("counters off at {}", a.unbalanced.join(", "))
        }
    )?;
    writeln!(
        out,
        "  {} nothing_dropped: {}",
        mark(a.unfinished.is_empty()),
        if a.unfinished.is_empty() {
            format!("all {} orders finished", r.orders)
        } else {
            format!("{} orders unfinished", a.unfinished.len())
        }
    )?;
    let delivered = a.consumed == a.events && a.outbox_left == 0;
    writeln!(out, "  {} delivered: {} of {} outbox events counted once", mark(delivered), a.consumed, a.events)?;
    // Store errors come in floods (a full Redis fails every write): a few, and how many.
    const SHOWN: usize = 5;
    if r.stats.failures.len() > SHOWN {
        writeln!(out, "  FAIL store errors: {} (the first {SHOWN} below)", r.stats.failures.len())?;
    }
    for f in r.stats.failures.iter().take(SHOWN) {
        writeln!(out, "  FAIL store error: {f}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_short_and_plain() {
        assert!(crate::progress::parse_name("kill-test_1").is_ok());
        assert!(crate::progress::parse_name("").is_err());
        assert!(crate::progress::parse_name("a:b").is_err());
        assert!(crate::progress::parse_name(&"x".repeat(41)).is_err());
    }
}
