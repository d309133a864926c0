//! `distlab cache compare`: the engine's eviction policies on one trace, side by side with
//! Belady's optimum (46.3, exercise 3). The trace is a generated workload, or a file of keys (one
//! per line, any text) from your own system.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use distlab_engine::cache::compare::PolicyKind;
use distlab_engine::cache::workload::Workload;
use distlab_engine::cache::{belady_hits, hits};

use crate::{Failure, Outcome};

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Hit ratios of LRU, FIFO, LFU and W-TinyLFU on one trace, next to the optimum (OPT).
    Compare(CompareArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    Zipf,
    Uniform,
    Scan,
    Loop,
    Shifting,
    ZipfScan,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The generated workload (ignored with --trace).
    #[arg(long, value_enum, default_value_t = Kind::Zipf)]
    workload: Kind,
    /// Distinct keys of the workload.
    #[arg(long, default_value_t = 10_000)]
    keys: u64,
    /// Zipf exponent: 0 is uniform, 1 is classic Zipf, larger is more skewed.
    #[arg(long, default_value_t = 0.9)]
    s: f64,
    /// Accesses between two shifts of the popular keys (`shifting`).
    #[arg(long, default_value_t = 100_000)]
    shift_every: u64,
    /// Accesses in the generated trace.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    length: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Entries the cache holds.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    capacity: u64,
    /// A file of keys, one per line (`-` for stdin), instead of a generated workload.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// A key of a trace file: FNV-1a of its text.
fn key_of(line: &str) -> u64 {
    line.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn read_trace(path: &PathBuf) -> anyhow::Result<Vec<u64>> {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?))
    };
    let mut keys = Vec::new();
    for line in reader.lines() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if !line.is_empty() {
            keys.push(key_of(&line));
        }
    }
    if keys.is_empty() {
        return Err(anyhow!("{} has no keys (one per line)", path.display()));
    }
    Ok(keys)
}

pub fn run(cmd: CacheCommand) -> Result<Outcome, Failure> {
    let CacheCommand::Compare(args) = cmd;
    let trace = match &args.trace {
        Some(path) => read_trace(path).map_err(Failure::bad_input)?,
        None => {
            let (keys, s) = (args.keys, args.s);
            let workload = match args.workload {
                Kind::Zipf => Workload::Zipf { keys, s },
                Kind::Uniform => Workload::Uniform { keys },
                Kind::Scan => Workload::Scan,
                Kind::Loop => Workload::Loop { keys },
                Kind::Shifting => Workload::Shifting { keys, s, shift_every: args.shift_every },
                Kind::ZipfScan => Workload::ZipfScan { keys, s },
            };
            let length = usize::try_from(args.length).map_err(|e| Failure::bad_input(anyhow!("--length: {e}")))?;
            workload.trace(length, args.seed).map_err(Failure::bad_input)?
        }
    };
    let capacity = usize::try_from(args.capacity).map_err(|e| Failure::bad_input(anyhow!("--capacity: {e}")))?;
    let mut policies: Vec<_> = PolicyKind::ALL.iter().map(|k| k.build(capacity)).collect();
    let best = belady_hits(&trace, capacity);
    let n = trace.len() as f64;
    let mut rows: Vec<(&str, usize)> = policies.iter_mut().map(|p| (p.name(), hits(p.as_mut(), &trace))).collect();
    rows.push(("opt", best));
    if args.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(name, h)| serde_json::json!({ "policy": name, "hits": h, "hit_ratio": *h as f64 / n }))
            .collect();
        println!("{}", serde_json::json!({ "accesses": trace.len(), "capacity": capacity, "results": rows }));
    } else {
        println!("{} accesses, capacity {capacity}", trace.len());
        println!("{:<10} {:>12} {:>10} {:>8}", "policy", "hits", "hit ratio", "vs OPT");
        for (name, h) in rows {
            let vs = if best == 0 { 1.0 } else { h as f64 / best as f64 };
            println!("{name:<10} {h:>12} {:>9.2}% {vs:>8.3}", h as f64 / n * 100.0);
        }
    }
    Ok(Outcome::Ok)
}
