//! `distlab cache compare`: the engine's eviction policies on one trace, side by side with
//! Belady's optimum (46.3, exercise 3). The trace is a generated workload, or a file of keys (one
//! per line, any text) from your own system.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use distlab_engine::cache::compare::{
    CAPACITY_MAX, Comparison, KEY_WEIGHT_MAX, LENGTH_MAX, MAX_WEIGHT_MAX, PolicyKind, Weights,
};
use distlab_engine::cache::workload::Workload;

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
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=LENGTH_MAX as u64))]
    length: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Entries the cache holds.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=CAPACITY_MAX as u64))]
    capacity: u64,
    /// A file of keys, one per line (`-` for stdin), instead of a generated workload.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Bound every cache by total weight as well (each key weighs 1..=--key-weight-max).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_WEIGHT_MAX))]
    max_weight: Option<u64>,
    /// The heaviest key's weight: each key weighs 1 + a hash of it modulo this (with --max-weight).
    #[arg(long, requires = "max_weight", value_parser = clap::value_parser!(u64).range(1..=KEY_WEIGHT_MAX))]
    key_weight_max: Option<u64>,
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
            // Refused as soon as it is too long, not after reading it all.
            if keys.len() == LENGTH_MAX {
                return Err(anyhow!(
                    "{} has more than {LENGTH_MAX} keys: length is at most {LENGTH_MAX}",
                    path.display()
                ));
            }
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
    let capacity = usize::try_from(args.capacity).map_err(|e| Failure::bad_input(anyhow!("--capacity: {e}")))?;
    let weights =
        args.max_weight.map(|max_weight| Weights { key_weight_max: args.key_weight_max.unwrap_or(1), max_weight });
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
            // Every limit, the workload's too, before the trace is drawn.
            Comparison::check_limits(length, capacity, &PolicyKind::ALL, weights).map_err(Failure::bad_input)?;
            workload.validate().map_err(Failure::bad_input)?;
            workload.trace(length, args.seed).map_err(Failure::bad_input)?
        }
    };
    let accesses = trace.len();
    let mut comparison =
        Comparison::on_trace(trace, capacity, &PolicyKind::ALL, weights).map_err(Failure::bad_input)?;
    comparison.advance(accesses);
    let view = comparison.view();
    let opt_hits = |opt: f64| (opt * accesses as f64).round();
    if args.json {
        let mut rows: Vec<_> = view
            .policies
            .iter()
            .map(|p| serde_json::json!({ "policy": p.policy, "hits": p.hits, "hit_ratio": p.hit_ratio, "weight": p.weight }))
            .collect();
        if let Some(opt) = view.opt_hit_ratio {
            rows.push(serde_json::json!({ "policy": "opt", "hits": opt_hits(opt), "hit_ratio": opt }));
        }
        println!(
            "{}",
            serde_json::json!({ "accesses": accesses, "capacity": capacity, "weights": weights, "results": rows })
        );
    } else {
        let bound = weights.map_or(String::new(), |w| {
            format!(", at most {} weight (keys weigh 1..={})", w.max_weight, w.key_weight_max)
        });
        println!("{accesses} accesses, capacity {capacity}{bound}");
        println!("{:<10} {:>12} {:>10} {:>8} {:>12}", "policy", "hits", "hit ratio", "vs OPT", "weight held");
        let vs = |ratio: f64| {
            view.opt_hit_ratio.filter(|&o| o > 0.0).map_or("-".to_owned(), |o| format!("{:.3}", ratio / o))
        };
        for p in &view.policies {
            let name = serde_json::to_value(p.policy).unwrap_or_default();
            println!(
                "{:<10} {:>12} {:>9.2}% {:>8} {:>12}",
                name.as_str().unwrap_or(""),
                p.hits,
                p.hit_ratio * 100.0,
                vs(p.hit_ratio),
                p.weight
            );
        }
        match view.opt_hit_ratio {
            Some(opt) => println!("{:<10} {:>12} {:>9.2}% {:>8}", "opt", opt_hits(opt), opt * 100.0, "1.000"),
            None => {
                println!("opt: not shown with weights (Belady's rule is not optimal for sizes; the optimum is NP-hard)")
            }
        }
    }
    Ok(Outcome::Ok)
}
