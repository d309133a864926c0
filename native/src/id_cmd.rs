//! `distlab id gen` and `distlab id parse` (46.7.2): the engine's ID generators on the system
//! clock, and any Snowflake-family ID or UUID read back field by field.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use distlab_engine::id::IdError;
use distlab_engine::id::layout::{Layout, Parsed, chapter_parse_id};
use distlab_engine::id::segment::{SegmentConfig, Segments};
use distlab_engine::id::snowflake::{Mint, Refusal, Rollback, Snowflake, SnowflakeConfig};
use distlab_engine::store::Reply;
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
    #[command(flatten)]
    layout: LayoutArgs,
    /// The worker (Sonyflake: machine) id.
    #[arg(long, default_value_t = 0)]
    worker: u64,
    #[arg(long, default_value_t = 0)]
    datacenter: u64,
    /// What a Snowflake does when the clock steps back.
    #[arg(long, value_enum, default_value_t = RollbackArg::Wait)]
    rollback: RollbackArg,
    /// The largest step back waited out (wait) or minted through (logical).
    #[arg(long, value_name = "MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    max_rollback_ms: u64,
    /// Segment mode: IDs per claim (the first; the step then adapts, as Leaf's does).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    step: u64,
    /// Segment mode: the counter's name; its key is distlab:id-TAG:max_id, kept between runs.
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

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn generate(args: &GenArgs) -> Result<Outcome, Failure> {
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out.lock());
    match args.kind {
        Kind::Snowflake | Kind::Sonyflake => snowflakes(args, &mut out)?,
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
        Kind::Segment => {
            return crate::on_runtime(|| async move {
                let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
                segments(args, &mut out).await?;
                out.flush().context("writing the IDs").map_err(Failure::runtime)?;
                Ok(Outcome::Ok)
            });
        }
    }
    out.flush().context("writing the IDs").map_err(Failure::runtime)?;
    Ok(Outcome::Ok)
}

fn snowflakes(args: &GenArgs, out: &mut impl Write) -> Result<(), Failure> {
    let layout = args.layout.layout(args.kind)?;
    let rollback = match args.rollback {
        RollbackArg::Refuse => Rollback::Refuse,
        RollbackArg::Wait => Rollback::Wait { max_ms: args.max_rollback_ms },
        RollbackArg::Logical => Rollback::Logical { bound_ms: args.max_rollback_ms },
    };
    let cfg = SnowflakeConfig { layout, datacenter: args.datacenter, worker: args.worker, rollback, reserve_ms: 0 };
    let mut generator = Snowflake::new(cfg).map_err(layout_error)?;
    let mut minted = 0;
    while minted < args.count {
        match generator.next(now_ms()) {
            Mint::Id { id } => {
                writeln!(out, "{id}").context("writing the IDs").map_err(Failure::runtime)?;
                minted += 1;
            }
            // A full tick or a small step back: sleep to the moment, never spin.
            Mint::Wait { until_ms, .. } => {
                std::thread::sleep(
                    Duration::from_millis(until_ms.saturating_sub(now_ms()).max(1)).min(Duration::from_millis(50)),
                );
            }
            Mint::Refused { why } => {
                let why = match why {
                    Refusal::ClockBehind { behind_ms } => {
                        format!("the clock is {behind_ms} ms behind the last ID's time")
                    }
                    Refusal::BeforeEpoch => format!("the clock reads before the epoch ({} ms)", layout.epoch_ms),
                    Refusal::TimeExhausted => format!("the layout's {} time bits are used up", layout.time_bits),
                };
                return Err(Failure::runtime(anyhow!("stopped after {minted} IDs: {why}")));
            }
        }
    }
    Ok(())
}

/// Segment mode on the target: the counter's key outlives the run (it is what keeps IDs unique
/// from one run to the next), so an embedded server, which does not, is refused.
async fn segments(args: &GenArgs, out: &mut impl Write) -> Result<(), Failure> {
    let spec = args.target.spec();
    match spec {
        TargetSpec::Embedded => {
            return Err(Failure::bad_input(anyhow!(
                "--kind segment claims IDs from a counter in Redis that must outlive this run: give --redis or --cluster"
            )));
        }
        TargetSpec::Nodes(_) => {
            return Err(Failure::bad_input(anyhow!("--kind segment uses one counter: give --redis or --cluster")));
        }
        _ => {}
    }
    let prefix = format!("distlab:id-{}:", args.tag);
    let target = Target::connect_with(&spec, &prefix, 1).await.map_err(Failure::bad_input)?;
    let backend = target.primary();
    let mut segments = Segments::new(SegmentConfig::leaf("max_id", args.step)).map_err(layout_error)?;
    let mut minted = 0;
    while minted < args.count {
        // A claim when both buffers are empty, or (the double buffer) when the current segment
        // is a tenth used: here the one caller waits for it, as a thread of Leaf's would not.
        if let Some(mut cmd) = segments.due(now_ms()) {
            loop {
                let reply =
                    backend.exec(&cmd).await.map_err(|e| Failure::runtime(anyhow!("claiming a segment: {e}")))?;
                if let Reply::Error(e) = &reply {
                    return Err(Failure::runtime(anyhow!("claiming a segment: Redis answered {e}")));
                }
                match segments.on_reply(&reply).map_err(|e| Failure::runtime(anyhow!("{e}")))? {
                    Some(next) => cmd = next,
                    None => break,
                }
            }
        }
        if let Some(id) = segments.take() {
            writeln!(out, "{id}").context("writing the IDs").map_err(Failure::runtime)?;
            minted += 1;
        }
    }
    Ok(())
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
    let report = if text.contains('-') || (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())) {
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
