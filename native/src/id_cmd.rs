//! `distlab id gen` and `distlab id parse` (46.7.2): the engine's ID generators on the system
//! clock, and any Snowflake-family ID or UUID read back field by field.

use std::io::Write;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use distlab::bench::Limit;
use distlab::ids::{now_ms, wait_until_ms};
use distlab_engine::id::IdError;
use distlab_engine::id::layout::{Layout, Parsed, chapter_parse_id};
use distlab_engine::id::segment::SegmentConfig;
use distlab_engine::id::snowflake::{Mint, Refusal, Rollback, Snowflake, SnowflakeConfig};
use distlab_engine::id::worker::WorkerLease;
use serde_json::json;
use uuid::Uuid;

use crate::bench_cmd::TargetArgs;
use crate::{Failure, Outcome};
use distlab::target::{Target, TargetSpec};

#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Mint IDs and print them one per line.
    Gen(GenArgs),
    /// Print the fields of a Snowflake-family ID (with the layout that made it) or a UUID.
    Parse(ParseArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// 41/5/5/12 bits of ms since 2024-01-01 by default (--layout, --epoch-ms to change).
    Snowflake,
    /// 39 bits of 10 ms ticks since 2014-09-01, 8 of sequence, 16 of machine id.
    Sonyflake,
    Uuidv4,
    /// RFC 9562 version 7, from the `uuid` crate's own clock and counter.
    Uuidv7,
    /// Leaf segments claimed from Redis with one INCRBY each (--redis or --cluster).
    Segment,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RollbackArg {
    /// Refuse while the clock is behind (the chapter's): exit 1.
    Refuse,
    /// Wait for the clock, up to --max-rollback-ms.
    Wait,
    /// Keep minting on a logical clock up to --max-rollback-ms ahead.
    Logical,
}

#[derive(Debug, Args)]
pub struct LayoutArgs {
    /// Snowflake bits as time/datacenter/worker/sequence (63 in all).
    #[arg(long, value_name = "T/D/W/S")]
    layout: Option<String>,
    /// The layout's epoch in Unix milliseconds (default: the kind's).
    #[arg(long, value_name = "E")]
    epoch_ms: Option<u64>,
}

impl LayoutArgs {
    fn layout(&self, kind: Kind) -> Result<Layout, Failure> {
        let base = if kind == Kind::Sonyflake { Layout::SONYFLAKE } else { Layout::CHAPTER };
        let epoch_ms = self.epoch_ms.unwrap_or(base.epoch_ms);
        let layout = match &self.layout {
            None => Layout { epoch_ms, ..base },
            Some(_) if kind == Kind::Sonyflake => {
                return Err(Failure::bad_input(anyhow!(
                    "--layout: Sonyflake's layout is fixed (39 bits of 10 ms, 8 of sequence, 16 of machine id); use --kind snowflake"
                )));
            }
            Some(text) => Layout::from_bits_text(text, base.tick_ms, epoch_ms).map_err(layout_error)?,
        };
        Ok(layout)
    }
}

#[derive(Debug, Args)]
pub struct GenArgs {
    #[arg(long, value_enum, default_value_t = Kind::Snowflake)]
    kind: Kind,
    /// How many IDs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    count: u64,
    /// Mint for this many seconds instead of --count IDs (Snowflake, Sonyflake and segments).
    #[arg(long, value_name = "S", value_parser = crate::bench_cmd::parse_seconds)]
    duration: Option<std::time::Duration>,
    /// Threads minting at once: one lock-free Snowflake shared by all, or a segment generator
    /// each; the IDs are printed when all are done.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    threads: u64,
    #[command(flatten)]
    layout: LayoutArgs,
    /// The worker (Sonyflake: machine) id.
    #[arg(long, default_value_t = 0)]
    worker: u64,
    #[arg(long, default_value_t = 0)]
    datacenter: u64,
    /// Lease the worker id from Redis (--redis or --cluster) under distlab:id-TAG:worker:N
    /// instead of --worker: processes sharing a tag get different ids.
    #[arg(long, conflicts_with = "worker")]
    lease: bool,
    /// The lease's time to live, renewed every third of it while minting.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(30..=3_600_000))]
    lease_ms: u64,
    /// What a Snowflake does when the clock steps back.
    #[arg(long, value_enum, default_value_t = RollbackArg::Wait)]
    rollback: RollbackArg,
    /// The largest step back waited out (wait) or minted through (logical).
    #[arg(long, value_name = "MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    max_rollback_ms: u64,
    /// Segment mode: IDs per claim (the first; the step then adapts, as Leaf's does).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    step: u64,
    /// The name under which segment counters and worker leases live in Redis: distlab:id-TAG:.
    /// Segment mode's counter, distlab:id-TAG:max_id, is kept between runs.
    #[arg(long, default_value = "default", value_parser = crate::progress::parse_name)]
    tag: String,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// A decimal Snowflake-family ID, or a UUID.
    id: String,
    /// How the ID was made (Snowflake-family IDs only).
    #[arg(long, value_enum, default_value_t = Kind::Snowflake)]
    kind: Kind,
    #[command(flatten)]
    layout: LayoutArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn layout_error(e: IdError) -> Failure {
    Failure::bad_input(anyhow!("{e}"))
}

pub fn run(cmd: IdCommand) -> Result<Outcome, Failure> {
    match cmd {
        IdCommand::Gen(args) => generate(&args),
        IdCommand::Parse(args) => parse(&args),
    }
}

fn generate(args: &GenArgs) -> Result<Outcome, Failure> {
    if matches!(args.kind, Kind::Snowflake | Kind::Sonyflake) {
        let layout = args.layout.layout(args.kind)?;
        // An ID's time counts from the epoch: one still to come would refuse every ID, so it
        // is refused before any work (a worker id leased, a server connected).
        if layout.epoch_ms > now_ms() {
            return Err(Failure::bad_input(anyhow!(
                "--epoch-ms {} ({}) is after the clock's now ({}): IDs count their time from the epoch",
                layout.epoch_ms,
                utc(layout.epoch_ms),
                utc(now_ms())
            )));
        }
    }
    if args.threads > 1 || args.duration.is_some() {
        if matches!(args.kind, Kind::Uuidv4 | Kind::Uuidv7) {
            return Err(Failure::bad_input(anyhow!(
                "--threads and --duration are for snowflake, sonyflake and segment"
            )));
        }
        return crate::on_runtime(|| async move {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            if args.kind == Kind::Segment {
                threaded_segments(args, &mut out).await?;
            } else {
                threaded_snowflakes(args, &mut out).await?;
            }
            out.flush().context("writing the IDs").map_err(Failure::runtime)?;
            Ok(Outcome::Ok)
        });
    }
    if args.kind == Kind::Segment || args.lease {
        return crate::on_runtime(|| async move {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let target = connect(args).await?;
            if args.kind == Kind::Segment {
                segments(args, &target, &mut out).await?;
            } else {
                leased_snowflakes(args, &target, &mut out).await?;
            }
            out.flush().context("writing the IDs").map_err(Failure::runtime)?;
            Ok(Outcome::Ok)
        });
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match args.kind {
        Kind::Snowflake | Kind::Sonyflake => {
            let mut generator = snowflake(args, args.worker)?;
            for _ in 0..args.count {
                let id = mint(&mut generator)?;
                writeln!(out, "{id}").context("writing the IDs").map_err(Failure::runtime)?;
            }
        }
        Kind::Uuidv4 => {
            for _ in 0..args.count {
                writeln!(out, "{}", Uuid::new_v4()).context("writing the IDs").map_err(Failure::runtime)?;
            }
        }
        Kind::Uuidv7 => {
            for _ in 0..args.count {
                writeln!(out, "{}", Uuid::now_v7()).context("writing the IDs").map_err(Failure::runtime)?;
            }
        }
        Kind::Segment => {}
    }
    out.flush().context("writing the IDs").map_err(Failure::runtime)?;
    Ok(Outcome::Ok)
}

/// The target a segment counter or a lease lives on: it must outlive the run (an embedded
/// server does not) and be one store.
async fn connect(args: &GenArgs) -> Result<Target, Failure> {
    let what = if args.kind == Kind::Segment {
        "--kind segment claims IDs from a counter"
    } else {
        "--lease takes the worker id from a key"
    };
    let spec = args.target.spec();
    match spec {
        TargetSpec::Embedded => {
            return Err(Failure::bad_input(anyhow!(
                "{what} in Redis that must outlive this run: give --redis or --cluster"
            )));
        }
        TargetSpec::Nodes(_) => {
            return Err(Failure::bad_input(anyhow!("{what} in one Redis: give --redis or --cluster")));
        }
        _ => {}
    }
    let prefix = format!("distlab:id-{}:", args.tag);
    Target::connect_with(&spec, &prefix, 1).await.map_err(Failure::bad_input)
}

fn snowflake(args: &GenArgs, worker: u64) -> Result<Snowflake, Failure> {
    let layout = args.layout.layout(args.kind)?;
    let rollback = match args.rollback {
        RollbackArg::Refuse => Rollback::Refuse,
        RollbackArg::Wait => Rollback::Wait { max_ms: args.max_rollback_ms },
        RollbackArg::Logical => Rollback::Logical { bound_ms: args.max_rollback_ms },
    };
    let cfg = SnowflakeConfig { layout, datacenter: args.datacenter, worker, rollback, reserve_ms: 0 };
    Snowflake::new(cfg).map_err(layout_error)
}

/// The next ID on the system clock: a full tick or a small step back is waited out (a sleep,
/// never a spin); a refusal ends the run.
fn mint(generator: &mut Snowflake) -> Result<u64, Failure> {
    loop {
        match generator.next(now_ms()) {
            Mint::Id { id } => return Ok(id),
            Mint::Wait { until_ms, .. } => wait_until_ms(until_ms),
            Mint::Refused { why } => {
                let layout = generator.config().layout;
                let why = match why {
                    Refusal::ClockBehind { behind_ms } => {
                        format!("the clock is {behind_ms} ms behind the last ID's time")
                    }
                    Refusal::BeforeEpoch => format!("the clock reads before the epoch ({} ms)", layout.epoch_ms),
                    Refusal::TimeExhausted => format!("the layout's {} time bits are used up", layout.time_bits),
                };
                return Err(Failure::runtime(anyhow!("stopped minting: {why}")));
            }
        }
    }
}

/// The owner name this process leases under: unique per process and start.
fn lease_owner() -> String {
    format!("{}-{}", std::process::id(), now_ms())
}

fn lease_lost(e: distlab::backend::BackendError) -> Failure {
    Failure::runtime(anyhow!("leasing a worker id: {e}"))
}

/// A worker id leased from `target` for `owner`, said on stderr, or why none could be.
async fn lease(args: &GenArgs, target: &Target, owner: &str) -> Result<(WorkerLease, u64), Failure> {
    let max = args.layout.layout(args.kind)?.max_worker();
    let Some(lease) =
        distlab::ids::lease_worker(target.primary(), owner, max, args.lease_ms).await.map_err(lease_lost)?
    else {
        return Err(Failure::runtime(anyhow!("every worker id (0 to {max}) is leased by another process")));
    };
    let worker = lease.worker(now_ms()).unwrap_or(0);
    eprintln!("leased worker id {worker} under distlab:id-{}:worker:{worker}", args.tag);
    Ok((lease, worker))
}

/// Snowflakes under a worker id leased from the target, renewed while minting; minting stops
/// if the lease is lost.
async fn leased_snowflakes(args: &GenArgs, target: &Target, out: &mut impl Write) -> Result<(), Failure> {
    let backend = target.primary();
    let owner = lease_owner();
    let lost = lease_lost;
    let (mut lease, worker) = lease(args, target, &owner).await?;
    let mut generator = snowflake(args, worker)?;
    let mut renewed = now_ms();
    for _ in 0..args.count {
        if now_ms() >= renewed + lease.renew_every_ms() {
            distlab::ids::renew(backend, &mut lease).await.map_err(lost)?;
            renewed = now_ms();
        }
        if lease.worker(now_ms()) != Some(worker) {
            return Err(Failure::runtime(anyhow!("lost the lease on worker id {worker}: stopped minting")));
        }
        let id = mint(&mut generator)?;
        writeln!(out, "{id}").context("writing the IDs").map_err(Failure::runtime)?;
    }
    distlab::ids::release(backend, &lease, &owner).await.map_err(lost)?;
    Ok(())
}

/// What each thread of a threaded run does: until the duration is up, or its share of --count.
fn per_thread(args: &GenArgs) -> Limit {
    match args.duration {
        Some(d) => Limit::Duration(d),
        None => Limit::Ops(args.count.div_ceil(args.threads)),
    }
}

/// Minting threads send their IDs in batches of this many, and at most [`BATCHES`] batches wait
/// to be written: a long run holds a few megabytes of IDs, not every one it made (an hour at
/// 4 M/s would be over 100 GB), and a thread waits while the output catches up.
const BATCH: usize = 16_384;
const BATCHES: usize = 64;

/// A minting thread's end of the batches: IDs are added one at a time and sent a batch at once.
struct Batcher {
    batch: Vec<u64>,
    to: std::sync::mpsc::SyncSender<Vec<u64>>,
}

impl Batcher {
    /// Adds `id`; false once the writer is gone (the output failed), when minting should stop.
    fn push(&mut self, id: u64) -> bool {
        self.batch.push(id);
        self.batch.len() < BATCH || self.to.send(std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH))).is_ok()
    }

    fn finish(self) {
        let _ = self.to.send(self.batch);
    }
}

/// The writer's end: what the threads have sent so far written, `--count` IDs at most in all.
struct Batches {
    from: std::sync::mpsc::Receiver<Vec<u64>>,
    to: std::sync::mpsc::SyncSender<Vec<u64>>,
    written: u64,
    max: Option<u64>,
}

impl Batches {
    fn new(args: &GenArgs) -> Batches {
        let (to, from) = std::sync::mpsc::sync_channel(BATCHES);
        Batches { from, to, written: 0, max: args.duration.is_none().then_some(args.count) }
    }

    fn batcher(&self) -> Batcher {
        Batcher { batch: Vec::with_capacity(BATCH), to: self.to.clone() }
    }

    fn drain(&mut self, out: &mut impl Write) -> Result<(), Failure> {
        for batch in self.from.try_iter() {
            for id in batch {
                if self.max.is_some_and(|m| self.written >= m) {
                    return Ok(());
                }
                writeln!(out, "{id}").context("writing the IDs").map_err(Failure::runtime)?;
                self.written += 1;
            }
        }
        Ok(())
    }
}

/// --threads threads sharing one lock-free Snowflake, under --worker or a leased worker id
/// renewed while they mint; their IDs written as they come.
async fn threaded_snowflakes(args: &GenArgs, out: &mut impl Write) -> Result<(), Failure> {
    let layout = args.layout.layout(args.kind)?;
    snowflake(args, args.worker)?;
    let lease_target = if args.lease { Some(connect(args).await?) } else { None };
    let owner = lease_owner();
    let lost = lease_lost;
    let (mut lease, worker) = match &lease_target {
        Some(target) => {
            let (l, w) = lease(args, target, &owner).await?;
            (Some(l), w)
        }
        None => (None, args.worker),
    };
    let generator = std::sync::Arc::new(distlab::ids::AtomicSnowflake::new(layout, args.datacenter, worker));
    let limit = per_thread(args);
    let mut batches = Batches::new(args);
    let handles: Vec<_> = (0..args.threads)
        .map(|_| {
            let generator = std::sync::Arc::clone(&generator);
            let mut batcher = batches.batcher();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let mut made = 0u64;
                while match limit {
                    Limit::Duration(d) => started.elapsed() < d,
                    Limit::Ops(n) => made < n,
                } {
                    if !batcher.push(generator.next()) {
                        return;
                    }
                    made += 1;
                }
                batcher.finish();
            })
        })
        .collect();
    let mut renewed = now_ms();
    while !handles.iter().all(std::thread::JoinHandle::is_finished) {
        batches.drain(out)?;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        if let (Some(target), Some(l)) = (&lease_target, &mut lease)
            && now_ms() >= renewed + l.renew_every_ms()
        {
            renewed = now_ms();
            distlab::ids::renew(target.primary(), l).await.map_err(lost)?;
            if l.worker(now_ms()) != Some(worker) {
                return Err(Failure::runtime(anyhow!("lost the lease on worker id {worker}: stopped")));
            }
        }
    }
    for h in handles {
        h.join().map_err(|_| Failure::runtime(anyhow!("a minting thread failed")))?;
    }
    batches.drain(out)?;
    if let (Some(target), Some(l)) = (&lease_target, &lease) {
        distlab::ids::release(target.primary(), l, &owner).await.map_err(lost)?;
    }
    Ok(())
}

/// --threads segment generators, each on a thread and a connection of its own, claiming from
/// the one counter; their IDs written as they come.
async fn threaded_segments(args: &GenArgs, out: &mut impl Write) -> Result<(), Failure> {
    connect(args).await?;
    let spec = args.target.spec();
    let prefix = format!("distlab:id-{}:", args.tag);
    let (limit, step) = (per_thread(args), args.step);
    let mut batches = Batches::new(args);
    let handles: Vec<_> = (0..args.threads)
        .map(|_| {
            let (spec, prefix) = (spec.clone(), prefix.clone());
            let mut batcher = batches.batcher();
            std::thread::spawn(move || -> Result<(), String> {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    let target = Target::connect_with(&spec, &prefix, 1).await.map_err(|e| e.to_string())?;
                    distlab::ids::segment_stream(
                        target.primary(),
                        SegmentConfig::leaf("max_id", step),
                        0,
                        limit,
                        |id| {
                            batcher.push(id);
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    batcher.finish();
                    Ok(())
                })
            })
        })
        .collect();
    while !handles.iter().all(std::thread::JoinHandle::is_finished) {
        batches.drain(out)?;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    for h in handles {
        let done = h.join().map_err(|_| Failure::runtime(anyhow!("a minting thread failed")))?;
        done.map_err(|e| Failure::runtime(anyhow!("{e}")))?;
    }
    batches.drain(out)
}

/// Segment mode on the target, claims overlapping the IDs still in hand (Leaf's double buffer).
async fn segments(args: &GenArgs, target: &Target, out: &mut impl Write) -> Result<(), Failure> {
    let mut written = Ok(());
    let cfg = SegmentConfig::leaf("max_id", args.step);
    distlab::ids::segment_stream(target.primary(), cfg, 0, Limit::Ops(args.count), |id| {
        if written.is_ok() {
            written = writeln!(out, "{id}");
        }
    })
    .await
    .map_err(|e| Failure::runtime(anyhow!("{e}")))?;
    written.context("writing the IDs").map_err(Failure::runtime)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of Unix milliseconds (proleptic Gregorian, UTC).
pub fn utc(unix_ms: u64) -> String {
    let (days, ms) = (unix_ms / 86_400_000, unix_ms % 86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = i64::try_from(days).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1_000 % 60, ms % 1_000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

fn parse(args: &ParseArgs) -> Result<Outcome, Failure> {
    let text = args.id.trim();
    let report = if distlab_engine::id::decode::looks_like_uuid(text) {
        let uuid = Uuid::parse_str(text).map_err(|e| Failure::bad_input(anyhow!("{text:?} is not a UUID: {e}")))?;
        let unix_ms = distlab_engine::id::uuids::unix_ms_of(&uuid);
        json!({
            "kind": "uuid",
            "uuid": uuid.to_string(),
            "version": uuid.get_version_num(),
            "variant": format!("{:?}", uuid.get_variant()),
            "unix_ms": unix_ms,
            "time": unix_ms.map(utc),
        })
    } else {
        if !matches!(args.kind, Kind::Snowflake | Kind::Sonyflake) {
            return Err(Failure::bad_input(anyhow!(
                "--kind: parse reads snowflake or sonyflake IDs (a UUID is recognised by itself)"
            )));
        }
        let id: u64 = text.parse().map_err(|_| {
            Failure::bad_input(anyhow!("{text:?} is neither a decimal ID (0 to {}) nor a UUID", i64::MAX))
        })?;
        let layout = args.layout.layout(args.kind)?;
        let parsed = layout.parse(id).map_err(layout_error)?;
        let chapter = chapter_parse_id(id);
        let mut report = fields(&parsed);
        report["kind"] = json!(if args.kind == Kind::Sonyflake { "sonyflake" } else { "snowflake" });
        report["id"] = json!(id);
        report["layout"] = json!({"bits": layout.bits_text(), "tick_ms": layout.tick_ms, "epoch_ms": layout.epoch_ms});
        if layout != Layout::CHAPTER {
            report["chapter_parse_id"] = fields(&chapter);
        }
        report
    };
    if args.json {
        println!("{report}");
    } else {
        print_report(&report);
    }
    Ok(Outcome::Ok)
}

fn fields(p: &Parsed) -> serde_json::Value {
    json!({
        "unix_ms": p.unix_ms,
        "time": utc(p.unix_ms),
        "tick": p.parts.tick,
        "datacenter": p.parts.datacenter,
        "worker": p.parts.worker,
        "sequence": p.parts.sequence,
    })
}

fn print_report(r: &serde_json::Value) {
    let s = |k: &str| r[k].as_str().map_or_else(|| r[k].to_string(), str::to_owned);
    if r["kind"] == "uuid" {
        println!("uuid      {}", s("uuid"));
        println!("version   {}", s("version"));
        println!("variant   {}", s("variant"));
        match r["time"].as_str() {
            Some(t) => println!("time      {t} ({} ms)", s("unix_ms")),
            None => println!("time      none (version {} carries no timestamp)", s("version")),
        }
        return;
    }
    println!("id         {}", s("id"));
    println!(
        "layout     {} ({} ms ticks, epoch {})",
        r["layout"]["bits"].as_str().unwrap_or(""),
        r["layout"]["tick_ms"],
        r["layout"]["epoch_ms"]
    );
    println!("time       {} ({} ms, tick {})", s("time"), s("unix_ms"), s("tick"));
    println!("datacenter {}", s("datacenter"));
    println!("worker     {}", s("worker"));
    println!("sequence   {}", s("sequence"));
    if let Some(c) = r.get("chapter_parse_id") {
        println!(
            "the chapter's parse_id (41/5/5/12, 2024 epoch) would read: time {}, datacenter {}, worker {}, sequence {}",
            c["time"].as_str().unwrap_or(""),
            c["datacenter"],
            c["worker"],
            c["sequence"]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_dates_are_the_calendars() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(1_704_067_200_000), "2024-01-01T00:00:00.000Z");
        assert_eq!(utc(1_709_164_800_123), "2024-02-29T00:00:00.123Z");
        assert_eq!(utc(1_409_529_600_000 + 86_399_999), "2014-09-01T23:59:59.999Z");
    }
}
