//! `distlab ring locate` and `distlab ring stats`: the engine's consistent-hash ring (46.1.1)
//! for scripts and for a quick look at balance and movement.

use std::io::{BufRead, Write};

use anyhow::Context;
use clap::{Args, Subcommand};
use distlab_engine::hashing::stats::{self, Method};
use distlab_engine::hashing::{HashRing, RingError, VNODES_DEFAULT};
use serde_json::json;

use crate::{Failure, Outcome};

#[derive(Debug, Subcommand)]
pub enum RingCommand {
    /// Read keys from stdin (one per line) and print `key<TAB>node[,node...]` for each.
    Locate {
        #[command(flatten)]
        ring: RingArgs,
        /// How many distinct nodes per key (the owner, then its replicas clockwise).
        #[arg(long, default_value_t = 1)]
        replicas: usize,
    },
    /// Balance per node and keys moved by a node joining or leaving, for every method.
    Stats {
        #[command(flatten)]
        ring: RingArgs,
        /// How many sample keys (key:0, key:1, ...).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        keys: u64,
        /// The change to measure: a node joining (default: one named "new")...
        #[arg(long, value_name = "NODE", conflicts_with = "remove")]
        add: Option<String>,
        /// ...or a node leaving.
        #[arg(long, value_name = "NODE")]
        remove: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RingArgs {
    /// The nodes, comma-separated, in join order.
    #[arg(long, value_delimiter = ',', required = true)]
    nodes: Vec<String>,
    /// Virtual nodes per node (per unit of weight).
    #[arg(long, default_value_t = VNODES_DEFAULT)]
    vnodes: u32,
    /// Node weights, e.g. a=2,b=0.5 (others weigh 1).
    #[arg(long, value_delimiter = ',', value_name = "NODE=W")]
    weights: Vec<String>,
}

impl RingArgs {
    fn build(&self) -> Result<HashRing, Failure> {
        let mut weights = std::collections::BTreeMap::new();
        for w in &self.weights {
            let (node, value) =
                w.rsplit_once('=').ok_or_else(|| bad(format!("--weights {w:?}: expected NODE=WEIGHT")))?;
            let value: f64 = value.parse().map_err(|_| bad(format!("--weights {w:?}: {value:?} is not a number")))?;
            if !self.nodes.iter().any(|n| n == node) {
                return Err(bad(format!("--weights {w:?}: {node:?} is not one of --nodes")));
            }
            if weights.insert(node.to_owned(), value).is_some() {
                return Err(bad(format!("--weights: {node:?} is given twice")));
            }
        }
        HashRing::new(self.vnodes).map_err(|e| bad(format!("--vnodes: {e}")))?;
        let nodes: Vec<(&str, f64)> =
            self.nodes.iter().map(|n| (n.as_str(), weights.get(n).copied().unwrap_or(1.0))).collect();
        HashRing::with_weighted_nodes(self.vnodes, &nodes).map_err(|e| match e {
            RingError::Weight(_) => bad(format!("--weights: {e}")),
            _ => bad(format!("--nodes: {e}")),
        })
    }
}

fn bad(message: String) -> Failure {
    Failure::bad_input(anyhow::anyhow!(message))
}

pub fn run(cmd: RingCommand) -> Result<Outcome, Failure> {
    match cmd {
        RingCommand::Locate { ring, replicas } => locate(&ring.build()?, replicas),
        RingCommand::Stats { ring, keys, add, remove, json } => {
            let ring = ring.build()?;
            let keys = stats::sample_keys(usize::try_from(keys).unwrap_or(usize::MAX));
            print_stats(&ring, &keys, add, remove, json)
        }
    }
}

fn locate(ring: &HashRing, replicas: usize) -> Result<Outcome, Failure> {
    let nodes = ring.nodes().len();
    if replicas == 0 || replicas > nodes {
        return Err(bad(format!("--replicas {replicas} is out of range: allowed 1..={nodes} (the number of nodes)")));
    }
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lines() {
        let key = line.context("reading keys from stdin").map_err(Failure::bad_input)?;
        let key = key.strip_suffix('\r').unwrap_or(&key);
        if key.is_empty() {
            continue;
        }
        writeln!(out, "{key}\t{}", ring.get_nodes(key, replicas).join(",")).map_err(Failure::runtime)?;
    }
    out.flush().map_err(Failure::runtime)?;
    Ok(Outcome::Ok)
}

fn print_stats(
    ring: &HashRing,
    keys: &[String],
    add: Option<String>,
    remove: Option<String>,
    json: bool,
) -> Result<Outcome, Failure> {
    let mut after = ring.clone();
    let change = match (add, remove) {
        (_, Some(node)) => {
            if ring.nodes() == [node.clone()] {
                return Err(bad(format!("--remove {node:?}: it is the only node, and an empty ring places no key")));
            }
            after.remove_node(&node).map_err(|e| bad(format!("--remove: {e}")))?;
            format!("remove {node}")
        }
        (add, None) => {
            let node = add.unwrap_or_else(|| "new".to_owned());
            after.add_node(&node, 1.0).map_err(|e| bad(format!("--add: {e}")))?;
            format!("add {node}")
        }
    };
    let loads: Vec<(Method, stats::Load)> = Method::ALL.iter().map(|m| (*m, stats::load(ring, *m, keys))).collect();
    let movement = stats::movement(ring, &after, change, keys);
    if json {
        let loads: serde_json::Map<String, serde_json::Value> =
            loads.iter().map(|(m, l)| (m.name().to_owned(), serde_json::to_value(l).unwrap_or_default())).collect();
        let out = json!({
            "nodes": ring.nodes(),
            "virtual_nodes": ring.virtual_nodes(),
            "keys": keys.len(),
            "load": loads,
            "movement": movement,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(Outcome::Ok);
    }
    println!(
        "{} nodes, {} virtual nodes per unit of weight, {} keys",
        ring.nodes().len(),
        ring.virtual_nodes(),
        keys.len()
    );
    println!("\nkeys per node (ring):");
    let ring_load = &loads[0].1;
    for (node, count) in &ring_load.keys_per_node {
        println!("  {node:<16} {count:>9}  {:5.1}%", *count as f64 * 100.0 / keys.len() as f64);
    }
    println!("\nbalance:");
    println!("  {:<12} {:>10} {:>10} {:>9}", "method", "std dev", "% of mean", "max/mean");
    for (m, l) in &loads {
        let pct = if l.mean > 0.0 { l.std_dev * 100.0 / l.mean } else { 0.0 };
        println!("  {:<12} {:>10.1} {:>9.1}% {:>9.3}", m.name(), l.std_dev, pct, l.max_over_mean);
    }
    println!("\nkeys moved by \"{}\" (ideal {:.1}%):", movement.change, movement.ideal * 100.0);
    for (m, f) in &movement.moved {
        println!("  {:<12} {:>6.1}%", m.name(), f * 100.0);
    }
    Ok(Outcome::Ok)
}
