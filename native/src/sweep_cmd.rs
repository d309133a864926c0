//! `distlab sweep cap`: the replicated store over many seeds for every (R, W) pair, or for the
//! values of one parameter, with the violation rate and the availability of each (46.1). The page
//! runs the same sweep in a Web Worker. Natively the seeds of a point run on every core.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::anyhow;
use clap::{Args, Subcommand};
use distlab::memory::Bytes;
use distlab_engine::scenario::cap::{self, SweepPoint};

use crate::{Failure, Outcome};

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Sweep the `cap` scenario: every (read_quorum, write_quorum) pair by default.
    Cap(SweepArgs),
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Seeds per point (0, 1, 2, ...).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    seeds: u64,
    /// The scenario configuration the sweep starts from, as a JSON object.
    #[arg(long, default_value = "{}")]
    config: String,
    /// The parameter to vary; `rw` (the default) is every (read_quorum, write_quorum) pair.
    #[arg(long, default_value = "rw")]
    param: String,
    /// The parameter's values, comma-separated (numbers, booleans or names), unless it is `rw`.
    #[arg(long, value_delimiter = ',')]
    values: Vec<String>,
    /// Runs at once, each on a thread of its own (default: one per core). The results do not
    /// depend on it: each seed's run is the same, and a point sums them in seed order.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: Option<u64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Stop with exit code 3 once the process's resident memory passes this during a run (e.g.
    /// 512MiB, none).
    #[arg(long, value_name = "SIZE", default_value = "4GiB")]
    memory_max: Bytes,
}

pub fn run(cmd: SweepCommand) -> Result<Outcome, Failure> {
    let SweepCommand::Cap(args) = cmd;
    let base = crate::config_arg::parse_object("--config", &args.config)?;
    let points: Vec<(String, serde_json::Value)> = if args.param == "rw" {
        if !args.values.is_empty() {
            return Err(Failure::bad_input(anyhow!("--values goes with a --param other than rw")));
        }
        // The replica count bounds the n × n points: checked on its own first, so that a huge
        // one is refused before any point is made.
        let mut smallest = base.clone();
        smallest["read_quorum"] = 1.into();
        smallest["write_quorum"] = 1.into();
        distlab_engine::scenario::build("cap", &smallest, 0).map_err(Failure::bad_input)?;
        let n = base.get("replicas").and_then(serde_json::Value::as_u64).unwrap_or(3);
        (1..=n)
            .flat_map(|r| (1..=n).map(move |w| (r, w)))
            .map(|(r, w)| {
                let mut c = base.clone();
                c["read_quorum"] = r.into();
                c["write_quorum"] = w.into();
                let overlap = if r + w > n { "R+W>N" } else { "R+W<=N" };
                (format!("R={r} W={w} {overlap}"), c)
            })
            .collect()
    } else {
        if args.values.is_empty() {
            return Err(Failure::bad_input(anyhow!("--param {} needs --values, e.g. --values 1,2,3", args.param)));
        }
        args.values
            .iter()
            .map(|v| {
                let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.clone()));
                let mut c = base.clone();
                c[&args.param] = value;
                (format!("{}={v}", args.param), c)
            })
            .collect()
    };
    // Every point's configuration checked before any work: a bad value fails at once, not
    // after the points before it have run.
    for (label, config) in &points {
        distlab_engine::scenario::build("cap", config, 0).map_err(|e| Failure::bad_input(anyhow!("{label}: {e}")))?;
    }
    let total = points.len();
    let cores = || std::thread::available_parallelism().map_or(1, usize::from);
    let jobs = args.jobs.map_or_else(cores, |j| usize::try_from(j).unwrap_or(1));
    let mut rows = Vec::new();
    for (i, (label, config)) in points.into_iter().enumerate() {
        eprint!("  [{}/{total}] {label}: {} seeds...", i + 1, args.seeds);
        let _ = std::io::stderr().flush();
        let sample = |seed: u64| -> Result<cap::SweepSample, Failure> {
            let mut run = distlab_engine::scenario::build("cap", &config, seed).map_err(Failure::bad_input)?;
            run.set_trace_held(false);
            let until = run.default_until();
            crate::sim_cmd::run_bounded(run.as_mut(), until, args.memory_max).map_err(Failure::limit)?;
            Ok(cap::sample(run.as_ref()))
        };
        let samples = seeds_on_threads(args.seeds, jobs, sample).map_err(|(seed, f)| {
            eprintln!();
            Failure { error: f.error.context(format!("{label}, seed {seed}")), ..f }
        })?;
        let point = SweepPoint::of(&samples);
        let undecided = match point.undecided {
            0 => String::new(),
            n => format!(", {n} undecided (the checker's budget ran out)"),
        };
        eprintln!(" {:.1}% violated{undecided}", point.violation_rate * 100.0);
        rows.push((label, point));
    }
    if args.json {
        let rows: Vec<_> = rows.iter().map(|(label, p)| serde_json::json!({ "point": label, "result": p })).collect();
        println!("{}", serde_json::json!({ "seeds": args.seeds, "config": base, "points": rows }));
    } else {
        println!("{:<22} {:>10} {:>13} {:>13} {:>12}", "point", "violated", "availability", "minority", "stale/run");
        for (label, p) in &rows {
            println!(
                "{label:<22} {:>9.1}% {:>12.1}% {:>12.1}% {:>12.2}",
                p.violation_rate * 100.0,
                p.availability * 100.0,
                p.availability_minority * 100.0,
                p.stale_reads_per_run
            );
        }
    }
    Ok(Outcome::Ok)
}

/// `sample` of every seed in `0..seeds`, `jobs` at a time: each thread takes the next seed
/// until none is left. In seed order; on failures, the lowest seed's.
fn seeds_on_threads<T: Send>(
    seeds: u64,
    jobs: usize,
    sample: impl Fn(u64) -> Result<T, Failure> + Sync,
) -> Result<Vec<T>, (u64, Failure)> {
    let next = AtomicU64::new(0);
    let mut done: Vec<(u64, Result<T, Failure>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let seed = next.fetch_add(1, Ordering::Relaxed);
                        if seed >= seeds {
                            return mine;
                        }
                        let result = sample(seed);
                        let failed = result.is_err();
                        mine.push((seed, result));
                        if failed {
                            // The others finish their seeds; none takes a new one past this.
                            next.fetch_max(seeds, Ordering::Relaxed);
                            return mine;
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    done.sort_by_key(|(seed, _)| *seed);
    done.into_iter().map(|(seed, r)| r.map_err(|f| (seed, f))).collect()
}
