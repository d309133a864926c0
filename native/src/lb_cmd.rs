//! `distlab lb picks`: the backends a load-balancing algorithm picks (46.4.1, exercise 4), so a
//! student can set the chapter's algorithms beside the fixed ones from the shell: the sequence
//! for the ones that take turns, and one line per key for the ones that hash.

use std::io::{BufRead, Write};

use anyhow::Context;
use clap::{Args, Subcommand};
use distlab_engine::balance::{Algorithm, AlgorithmKind, View};
use distlab_engine::sim::Rng;
use serde_json::json;

use crate::{Failure, Outcome};

#[derive(Debug, Subcommand)]
pub enum LbCommand {
    /// Print the backends an algorithm picks: one per line for the ones that take turns
    /// (--count of them), `key<TAB>backend` for each key of --keys or stdin for the ones that
    /// hash. No request is in flight here: the load-aware algorithms see idle backends.
    Picks(PicksArgs),
}

#[derive(Debug, Args)]
pub struct PicksArgs {
    /// One of: round_robin, smooth_wrr, least_conn, least_outstanding, ip_hash, bounded_load,
    /// maglev, p2c_ewma, random, and the chapter's chapter_round_robin, chapter_weighted,
    /// chapter_least_conn, chapter_ip_hash, chapter_consistent.
    #[arg(long)]
    algorithm: String,
    /// The backends in order, each NAME or NAME=WEIGHT (an integer, 1 when left out).
    #[arg(long, value_delimiter = ',', required = true, value_name = "NAME[=W],...")]
    backends: Vec<String>,
    /// For the algorithms that hash: read keys (client addresses, or request keys) from this
    /// file, one a line; from stdin when left out.
    #[arg(long, value_name = "FILE")]
    keys: Option<std::path::PathBuf>,
    /// For the algorithms that take turns: how many picks [default: 20].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    count: Option<u64>,
    /// Backends out of rotation, comma-separated. For the algorithms that hash, each key's
    /// backend is printed before and after, and how many keys moved goes to stderr.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    down: Vec<String>,
    /// The seed of the random algorithms.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The largest weight accepted: enough for any ratio a lab needs, small enough that smooth
/// weighted round robin's running sums never come near overflowing.
const WEIGHT_MAX: u32 = 1_000_000;

fn bad(message: String) -> Failure {
    Failure::bad_input(anyhow::anyhow!(message))
}

pub fn run(cmd: LbCommand) -> Result<Outcome, Failure> {
    match cmd {
        LbCommand::Picks(args) => picks(&args),
    }
}

fn parse_backends(specs: &[String]) -> Result<View, Failure> {
    let mut pairs: Vec<(String, u32)> = Vec::new();
    for spec in specs {
        let (name, weight) = match spec.split_once('=') {
            Some((name, w)) => {
                let weight = w.parse::<u32>().ok().filter(|w| *w <= WEIGHT_MAX).ok_or_else(|| {
                    bad(format!("--backends {spec:?}: the weight must be an integer 0..={WEIGHT_MAX}"))
                })?;
                (name, weight)
            }
            None => (spec.as_str(), 1),
        };
        if name.is_empty() {
            return Err(bad(format!("--backends {spec:?}: a backend needs a name")));
        }
        if pairs.iter().any(|(n, _)| n == name) {
            return Err(bad(format!("--backends: {name:?} is given twice")));
        }
        pairs.push((name.to_owned(), weight));
    }
    let refs: Vec<(&str, u32)> = pairs.iter().map(|(n, w)| (n.as_str(), *w)).collect();
    Ok(View::new(&refs))
}

fn picks(args: &PicksArgs) -> Result<Outcome, Failure> {
    let names = AlgorithmKind::ALL.map(AlgorithmKind::as_str).join(", ");
    let kind = AlgorithmKind::parse(&args.algorithm)
        .ok_or_else(|| bad(format!("unknown algorithm {:?}: the algorithms are {names}", args.algorithm)))?;
    let all = parse_backends(&args.backends)?;
    let mut view = all.clone();
    for name in &args.down {
        if !view.set_up(name, false) {
            return Err(bad(format!("--down {name:?} is not one of --backends")));
        }
    }
    if !view.backends.iter().any(|b| b.up && b.weight > 0) {
        return Err(bad("no backend is left in rotation (every one is --down or weighs 0)".to_owned()));
    }
    if kind.is_keyed() {
        if args.count.is_some() {
            return Err(bad(format!("{} hashes keys: give them with --keys or on stdin, not --count", kind.as_str())));
        }
        return keyed(kind, &all, &view, args);
    }
    if args.keys.is_some() {
        return Err(bad(format!("{} takes turns and reads no keys: give --count instead", kind.as_str())));
    }
    let mut picker = kind.build(&view);
    let mut rng = Rng::new(args.seed);
    let count = args.count.unwrap_or(20);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut picked = Vec::new();
    for _ in 0..count {
        let Some(i) = picker.pick("", &view, &mut rng) else { break };
        let name = &view.backends[i].name;
        if args.json {
            picked.push(name.clone());
        } else {
            writeln!(out, "{name}").map_err(Failure::runtime)?;
        }
    }
    if args.json {
        let report = json!({ "algorithm": kind.as_str(), "backends": backends_json(&view), "picks": picked });
        writeln!(out, "{report}").map_err(Failure::runtime)?;
    }
    out.flush().map_err(Failure::runtime)?;
    Ok(Outcome::Ok)
}

fn backends_json(view: &View) -> serde_json::Value {
    view.backends.iter().map(|b| json!({ "name": b.name, "weight": b.weight, "up": b.up })).collect()
}

fn keyed(kind: AlgorithmKind, all: &View, view: &View, args: &PicksArgs) -> Result<Outcome, Failure> {
    let input: Box<dyn BufRead> = match &args.keys {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .with_context(|| format!("--keys {}", path.display()))
                .map_err(Failure::bad_input)?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let changed = !args.down.is_empty();
    let (mut before, mut after) = (kind.build(all), kind.build(view));
    let mut rng = Rng::new(args.seed);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut keys, mut moved, mut forced) = (0u64, 0u64, 0u64);
    let mut rows = Vec::new();
    for line in input.lines() {
        let key = line.context("reading keys").map_err(Failure::bad_input)?;
        let key = key.strip_suffix('\r').unwrap_or(&key);
        if key.is_empty() {
            continue;
        }
        let name = |picked: Option<usize>, v: &View| picked.map_or("-", |i| v.backends[i].name.as_str()).to_owned();
        let now = name(after.pick(key, view, &mut rng), view);
        keys += 1;
        if changed {
            let was_index = before.pick(key, all, &mut rng);
            let was = name(was_index, all);
            moved += u64::from(was != now);
            forced += u64::from(was_index.is_some_and(|i| !view.backends[i].up));
            if args.json {
                rows.push(json!({ "key": key, "before": was, "backend": now }));
            } else {
                writeln!(out, "{key}\t{was}\t{now}").map_err(Failure::runtime)?;
            }
        } else if args.json {
            rows.push(json!({ "key": key, "backend": now }));
        } else {
            writeln!(out, "{key}\t{now}").map_err(Failure::runtime)?;
        }
    }
    if args.json {
        let mut report = json!({ "algorithm": kind.as_str(), "backends": backends_json(view), "keys": rows });
        if changed {
            report["moved"] = json!(moved);
            report["forced"] = json!(forced);
        }
        writeln!(out, "{report}").map_err(Failure::runtime)?;
    } else if changed {
        eprintln!(
            "{moved} of {keys} keys moved; {forced} had to (their backend is down), {} more did not",
            moved - forced
        );
    }
    out.flush().map_err(Failure::runtime)?;
    Ok(Outcome::Ok)
}
