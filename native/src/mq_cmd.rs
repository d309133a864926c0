//! `distlab mq`: a reliable message queue on Redis Streams (46.2), its consumers killed and
//! started again mid-batch, then Redis audited: every message published once and then applied
//! or dead-lettered, exactly one of the two, once; nothing pending, nothing still delayed; with
//! dedup, no effect applied twice. With `--name` the queue stays in Redis under
//! `distlab:mq-<name>:`, so a run that was interrupted or killed resumes when started again.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use distlab::mq::{Kills, MqRun, MqStats, run_queue};
use distlab::target::Target;
use distlab_engine::mq::streams::StreamAudit;

use crate::bench_cmd::TargetArgs;
use crate::progress::{parse_name, percentile, ticker};
use crate::{Failure, Outcome};

#[derive(Debug, Args)]
pub struct MqArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Producers publishing at once (message ids are shared out among them).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    producers: u64,
    /// Consumers in the group.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    consumers: u64,
    /// Messages in all.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    messages: u64,
    /// The share of deliveries whose handler fails (the message is delivered again).
    #[arg(long, value_name = "PERCENT", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    fail_percent: u32,
    /// Every n-th message is poison, failed by every handler: it ends in the dead-letter stream (0: none).
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    poison_every: u64,
    /// Every n-th message is delayed, through the sorted set (0: none).
    #[arg(long, value_name = "N", default_value_t = 50)]
    delay_every: u64,
    /// How long a delayed message waits, in ms.
    #[arg(long, value_name = "MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    delay_ms: u64,
    /// Consumer kills during the run, one every --kill-every-ms, each consumer in turn, each
    /// started again 100 ms later.
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    kill_consumers: u64,
    #[arg(long, value_name = "MS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    kill_every_ms: u64,
    /// An entry left unacked this long is claimed by another consumer (XAUTOCLAIM's min-idle-time).
    #[arg(long, value_name = "MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    visibility_ms: u64,
    /// Deliveries before a message is dead-lettered.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    max_deliveries: u64,
    /// Messages per publish call, and entries per read and claim (COUNT).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Each handler works a random time up to this long, in µs.
    #[arg(long, value_name = "US", default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=60_000_000))]
    work_us: u64,
    /// Write effects without deduplicating by message id (redeliveries then apply them twice).
    #[arg(long)]
    no_dedup: bool,
    /// Keep the queue in Redis under distlab:mq-NAME: so that running the same command again
    /// resumes it (after a crash, a kill, Ctrl-C). Needs --redis or --cluster.
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    name: Option<String>,
    /// With --name: delete the queue once every message is settled and checked.
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
struct MqReport {
    target: String,
    messages: u64,
    producers: u64,
    consumers: u64,
    acked_per_sec: f64,
    latency_us: Option<Latency>,
    #[serde(flatten)]
    stats: MqStats,
    audit: StreamAudit,
    holds: bool,
}

/// Publish to ack, of the messages this run published.
#[derive(Debug, serde::Serialize)]
struct Latency {
    p50: u64,
    p99: u64,
    p999: u64,
}

impl MqArgs {
    fn run(&self) -> MqRun {
        MqRun {
            tag: "mq".to_owned(),
            producers: self.producers.min(self.messages),
            consumers: self.consumers,
            messages: self.messages,
            fail_percent: self.fail_percent,
            poison_every: self.poison_every,
            delay_every: self.delay_every,
            delay_ms: self.delay_ms,
            visibility_ms: self.visibility_ms,
            max_deliveries: self.max_deliveries,
            batch: self.batch,
            work_us: (0, self.work_us),
            dedup: !self.no_dedup,
            window: 16,
            per_ms: 0,
        }
    }

    /// What a resumed run must repeat: everything that decides what the queue holds.
    fn options(&self) -> String {
        format!(
            "--producers {} --messages {} --poison-every {} --delay-every {} --delay-ms {} --max-deliveries {}{}",
            self.producers,
            self.messages,
            self.poison_every,
            self.delay_every,
            self.delay_ms,
            self.max_deliveries,
            if self.no_dedup { " --no-dedup" } else { "" }
        )
    }
}

pub async fn run(args: &MqArgs) -> Result<Outcome, Failure> {
    let (target, prefix) =
        crate::resume::connect(&args.target.spec(), "mq", "a queue's", "a queue", args.name.as_deref()).await?;
    if !args.json {
        println!("{}", target.description);
    }
    let result = tokio::select! {
        r = queue(&target, args) => r,
        stop = crate::signals::stopped() => Err(stop),
    };
    let kept = crate::resume::Kept { command: "mq", name: args.name.as_deref(), clean: args.clean, prefix: &prefix };
    let report = kept.settle(&target, result, |r| r.holds).await?;
    crate::resume::print(&report, args.json, print_report)?;
    Ok(if report.holds { Outcome::Ok } else { Outcome::PropertyViolated })
}

async fn queue(target: &Target, args: &MqArgs) -> Result<MqReport, Failure> {
    let backend = target.primary();
    crate::resume::same_options(backend, &args.options()).await?;
    let run = args.run();
    let settled = Rc::new(Cell::new(0u64));
    let total = run.messages;
    let ticker = ticker(Rc::clone(&settled), move |n, s| {
        format!("  {n} deliveries acked or dead-lettered by this run (of {total} messages), {s:.0} s")
    });
    let kills = Kills {
        count: args.kill_consumers,
        first: Duration::from_millis(args.kill_every_ms),
        every: Duration::from_millis(args.kill_every_ms),
        down: Duration::from_millis(100),
    };
    let outcome = run_queue(backend, &run, kills, Duration::from_secs(args.timeout), settled).await;
    drop(ticker);
    let (stats, snapshot) = outcome.map_err(|e| Failure::runtime(anyhow!(e)))?;
    let audit = StreamAudit::of(&snapshot, run.messages, run.dedup);
    let holds = audit.holds() && stats.store_errors.is_empty();
    let latency_us = percentile(&stats.latencies_us, 500).map(|p50| Latency {
        p50,
        p99: percentile(&stats.latencies_us, 990).unwrap_or(p50),
        p999: percentile(&stats.latencies_us, 999).unwrap_or(p50),
    });
    Ok(MqReport {
        target: target.description.clone(),
        messages: run.messages,
        producers: run.producers,
        consumers: run.consumers,
        acked_per_sec: stats.acked as f64 / stats.seconds.max(1e-9),
        latency_us,
        stats,
        audit,
        holds,
    })
}

/// The report as text (a closed pipe is an error `main` ends quietly on, not a panic).
fn print_report(out: &mut impl Write, r: &MqReport) -> std::io::Result<()> {
    let s = &r.stats;
    let a = &r.audit;
    writeln!(
        out,
        "queue: {} messages, {} producers, {} consumers; {:.2} s, {:.0} acked/s; {} consumer kills",
        r.messages, r.producers, r.consumers, s.seconds, r.acked_per_sec, s.kills
    )?;
    writeln!(
        out,
        "this run: {} published, {} delivered ({} redeliveries, {} claimed after the visibility timeout), {} handler failures, {} delayed promoted",
        s.published, s.delivered, s.redelivered, s.claimed, s.failures, s.promoted
    )?;
    writeln!(
        out,
        "effects: {} written ({} applied again), {} redeliveries skipped by dedup; {} acked, {} dead-lettered",
        s.applied, s.applied_again, s.skipped, s.acked, s.dead_lettered
    )?;
    if let Some(l) = &r.latency_us {
        writeln!(out, "latency (publish to ack): p50 {} µs, p99 {} µs, p999 {} µs", l.p50, l.p99, l.p999)?;
    }
    let mark = |ok: bool| if ok { "PASS" } else { "FAIL" };
    let list = |ids: &[u64]| {
        let shown: Vec<String> = ids.iter().take(10).map(u64::to_string).collect();
        let more = ids.len().saturating_sub(10);
        if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
    };
    writeln!(out, "checks (reading Redis back):")?;
    writeln!(
        out,
        "  {} published: {}",
        mark(a.unpublished.is_empty()),
        if a.unpublished.is_empty() {
            format!("all {} messages, once each", a.messages)
        } else {
            format!("{} never published: {}", a.unpublished.len(), list(&a.unpublished))
        }
    )?;
    writeln!(
        out,
        "  {} no_loss: {}",
        mark(a.lost.is_empty()),
        if a.lost.is_empty() {
            format!("{} applied, {} dead-lettered, none lost", a.applied, a.dead_lettered)
        } else {
            format!("{} neither applied nor dead-lettered: {}", a.lost.len(), list(&a.lost))
        }
    )?;
    writeln!(
        out,
        "  {} settled_once: {}",
        mark(a.settled_twice.is_empty()),
        if a.settled_twice.is_empty() {
            "no message both applied and dead-lettered, none dead-lettered twice".to_owned()
        } else {
            format!("{} settled twice: {}", a.settled_twice.len(), list(&a.settled_twice))
        }
    )?;
    writeln!(
        out,
        "  {} effectively_once{}: {}",
        if a.dedup { mark(a.applied_twice.is_empty()) } else { "SHOW" },
        if a.dedup { "" } else { " (not promised without dedup)" },
        if a.applied_twice.is_empty() {
            "no effect applied twice".to_owned()
        } else {
            format!("{} effects applied more than once: {}", a.applied_twice.len(), list(&a.applied_twice))
        }
    )?;
    writeln!(
        out,
        "  {} drained: {} entries pending, {} messages still delayed",
        mark(a.pending == 0 && a.delayed == 0),
        a.pending,
        a.delayed
    )?;
    const SHOWN: usize = 5;
    if s.store_errors.len() > SHOWN {
        writeln!(out, "  FAIL store errors: {} (the first {SHOWN} below)", s.store_errors.len())?;
    }
    for e in s.store_errors.iter().take(SHOWN) {
        writeln!(out, "  FAIL store error: {e}")?;
    }
    Ok(())
}
