//! `distlab check linearizability --model kv FILE`: the engine's linearizability checker on a
//! history recorded elsewhere (46.1) — a test of your own store, a Jepsen-style run.
//!
//! The file is a JSON array of operations, one object each:
//! `{"client": 0, "call": 10, "return": 25, "key": "x", "op": "put", "value": "1"}` or
//! `{"client": 1, "call": 12, "return": 30, "key": "x", "op": "get", "output": "1"}` or a
//! compare-and-set `{"client": 2, "call": 14, "return": 40, "key": "x", "op": "cas",
//! "expected": "1", "value": "2", "output": true}` (`"expected": null`: the key was absent).
//! Times are integers in any one unit; `"return": null` is an unknown outcome (a write that may
//! or may not have happened; a read with it is ignored); `"output": null` reads an absent key.
//! `-` reads the history from stdin.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use distlab::memory::Bytes;
use distlab_engine::check::linearizability::{self, Budget, Exhausted, KvOp, Operation, Outcome as Checked, Shrink};
use distlab_engine::sim::{ParseDurationError, SimDuration};

use crate::{Failure, Outcome};

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Is the history linearizable? Exit 0 if so, 1 if not (with the operations that cannot be
    /// ordered), 2 for a file that is not a valid history, 4 if the search ran out of its time
    /// or memory budget before deciding.
    Linearizability {
        /// The data model of the history.
        #[arg(long, value_enum, default_value_t = Model::Kv)]
        model: Model,
        /// Give up (exit 4, "unknown") after this much wall-clock time, e.g. 500ms, 10s, 5m, or
        /// none. The search is exponential on one key with many concurrent clients.
        #[arg(long, default_value = "10s", value_parser = parse_timeout)]
        timeout: Timeout,
        /// Give up (exit 4) once the search's cache of visited states would pass this, e.g.
        /// 512MiB, 8GiB, none.
        #[arg(long, value_name = "SIZE", default_value = "2GiB")]
        memory_max: Bytes,
        /// Report a violation without shrinking it: the culprits are every operation on the key
        /// called before the return no order could get past, found by the verdict's own search.
        /// By default the shrinking takes at most as many search steps again as the verdict.
        #[arg(long)]
        no_shrink: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// The history (a JSON array of operations), or `-` for stdin.
        file: PathBuf,
    },
}

/// A wall-clock limit, or none.
#[derive(Clone, Copy, Debug)]
pub struct Timeout(Option<Duration>);

fn parse_timeout(s: &str) -> Result<Timeout, String> {
    if s == "none" {
        return Ok(Timeout(None));
    }
    let d: SimDuration = s.parse().map_err(|e: ParseDurationError| format!("{e}, or none"))?;
    Ok(Timeout(Some(Duration::from_micros(d.as_micros()))))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Model {
    /// A key-value store of registers: put(key, value) and get(key).
    Kv,
}

pub fn run(cmd: CheckCommand) -> Result<Outcome, Failure> {
    let CheckCommand::Linearizability { model: Model::Kv, json, file, timeout, memory_max, no_shrink } = cmd;
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the history from stdin")
            .map_err(Failure::bad_input)?;
        s
    } else {
        std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))
            .map_err(Failure::bad_input)?
    };
    let history: Vec<Operation> = linearizability::parse_history(&text)
        .with_context(|| format!("{} (see `distlab check linearizability --help` for the format)", file.display()))
        .map_err(Failure::bad_input)?;
    let started = Instant::now();
    let budget = Budget { steps: u64::MAX, memory_bytes: memory_max.0 };
    let show = std::io::stderr().is_terminal();
    let mut shown = started;
    let mut stop = || {
        let now = Instant::now();
        if show && now.duration_since(shown) >= Duration::from_secs(1) {
            shown = now;
            eprint!("\r  checking: {:.0} s", now.duration_since(started).as_secs_f64());
        }
        timeout.0.is_some_and(|limit| now.duration_since(started) >= limit)
    };
    let shrink = if no_shrink { Shrink::Off } else { Shrink::DEFAULT };
    let outcome = linearizability::check_shrinking(&history, budget, shrink, &mut stop).map_err(Failure::bad_input)?;
    if show && shown != started {
        eprintln!();
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    let describe = |i: usize| {
        let o = &history[i];
        let what = match &o.op {
            KvOp::Put { value } => format!("put({}, {value})", o.key),
            KvOp::Cas { expected, value, output } => format!(
                "cas({}, {} -> {value}) -> {}",
                o.key,
                expected.as_deref().unwrap_or("nothing"),
                output.map_or("unknown", |ok| if ok { "swapped" } else { "refused" })
            ),
            KvOp::Get { output } => format!("get({}) -> {}", o.key, output.as_deref().unwrap_or("nothing")),
        };
        let ret = o.ret.map_or("unknown".to_owned(), |r| r.to_string());
        format!("#{i} client {} {what} [{} .. {ret}]", o.client, o.call)
    };
    match outcome {
        Checked::Linearizable { operations, keys } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "linearizable": true, "operations": operations, "keys": keys, "elapsed_ms": elapsed_ms })
                );
            } else {
                println!("linearizable: {operations} operations on {keys} keys ({elapsed_ms:.1} ms)");
            }
            Ok(Outcome::Ok)
        }
        Checked::Violation { key, culprits } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "linearizable": false, "key": key, "culprits": culprits, "elapsed_ms": elapsed_ms })
                );
            } else {
                println!("not linearizable: key {key}; these {} operations cannot be ordered:", culprits.len());
                for i in culprits {
                    println!("  {}", describe(i));
                }
            }
            Ok(Outcome::PropertyViolated)
        }
        Checked::Unknown { key, exhausted, decided, keys } => {
            let why = match exhausted {
                Exhausted::Stopped => format!("--timeout {}", timeout.0.map_or("none".into(), |d| format!("{d:?}"))),
                Exhausted::Memory => format!("--memory-max {memory_max}"),
                Exhausted::Steps => "its step budget".to_owned(),
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "linearizable": null, "unknown": true, "key": key, "exhausted": why,
                        "keys_decided": decided, "keys": keys, "elapsed_ms": elapsed_ms })
                );
            } else {
                println!(
                    "unknown: the search on key {key} ran out of {why} after {elapsed_ms:.0} ms; {decided} of {keys} keys were linearizable before it (raise the budget, or check fewer concurrent operations per key)"
                );
            }
            Ok(Outcome::Undecided)
        }
    }
}
