//! Consistent hashing on real Redis (46.1.1's native column, for 46.4's sharding): keys spread
//! over independent servers by the ring (MD5, virtual nodes, as the chapter's
//! `ConsistentHashing`), by jump hash and by `hash % N`, each written to the server its method
//! picks; then every server is scanned to count what it holds, and a server is added: the keys
//! that must move are counted from what each server actually holds, next to the ideal 1/N. On a
//! Redis Cluster, the cluster's own placement (CRC16 slots over its masters) is counted the same
//! way.
//!
//! Keys live under the run's prefix (`distlab:<run>:shard:<method>:key:<i>`), deleted at the end.

use distlab_engine::hashing::HashRing;
use distlab_engine::hashing::stats::Method;
use distlab_engine::store::Cmd;
use serde::Serialize;

use crate::backend::{Backend, BackendError};

/// Keys written a pipeline at a time.
const BATCH: usize = 500;

/// One method's placement and what adding a server costs it.
#[derive(Clone, Debug, Serialize)]
pub struct Placement {
    pub method: String,
    /// Keys each server holds, as scanned, in the servers' order.
    pub keys_per_node: Vec<u64>,
    /// The busiest server's keys over the mean of those in use.
    pub max_over_mean: f64,
    /// Keys held by the first servers that belong elsewhere once the last one joins (`None` for
    /// the cluster's own placement, which moves slots only when told to).
    pub moved: Option<u64>,
    /// The keys that would ideally move: those the new server takes, keys / servers.
    pub ideal_moved: Option<u64>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct ShardReport {
    pub keys: u64,
    pub nodes: Vec<String>,
    pub placements: Vec<Placement>,
}

fn set(key: String) -> Cmd {
    Cmd::Set { key, value: "1".to_owned(), condition: None, expiry: None, get: false }
}

/// `keys` keys of each method over `backends` (independent servers named `names`): placed over
/// all but the last, counted by scanning, then the moves the last one's joining forces, counted
/// from what each server holds.
pub async fn independent(
    backends: &[Backend],
    names: &[String],
    keys: u64,
    vnodes: u32,
) -> Result<ShardReport, BackendError> {
    let n = backends.len();
    let before = HashRing::with_nodes(vnodes, &names[..n - 1]).map_err(|e| BackendError(e.to_string()))?;
    let after = HashRing::with_nodes(vnodes, names).map_err(|e| BackendError(e.to_string()))?;
    let mut placements = Vec::new();
    for method in [Method::Ring, Method::Jump, Method::Modulo] {
        let tag = match method {
            Method::Ring => "ring",
            Method::Jump => "jump",
            _ => "modulo",
        };
        let key = |i: u64| format!("key:{i}");
        let mut per_node: Vec<Vec<Cmd>> = vec![Vec::new(); n];
        for i in 0..keys {
            let owner = method.owner(&before, &key(i)).unwrap_or_default();
            let index = names.iter().position(|x| x == owner).unwrap_or(0);
            per_node[index].push(set(format!("shard:{tag}:{}", key(i))));
        }
        for (backend, cmds) in backends.iter().zip(&per_node) {
            for chunk in cmds.chunks(BATCH) {
                backend.exec_pipeline(chunk).await?;
            }
        }
        let mut held = Vec::with_capacity(n);
        let mut moved = 0u64;
        for (index, backend) in backends.iter().enumerate() {
            let found = backend.own_keys(&format!("shard:{tag}:")).await?;
            moved += found.iter().filter(|k| method.owner(&after, k) != Some(names[index].as_str())).count() as u64;
            held.push(found.len() as u64);
        }
        placements.push(Placement {
            method: method.name().to_owned(),
            max_over_mean: max_over_mean(&held[..n - 1]),
            keys_per_node: held,
            moved: Some(moved),
            ideal_moved: Some(keys / n as u64),
        });
    }
    Ok(ShardReport { keys, nodes: names.to_vec(), placements })
}

/// `keys` keys through a cluster connection, counted on each master.
pub async fn cluster(backend: &Backend, keys: u64) -> Result<ShardReport, BackendError> {
    let cmds: Vec<Cmd> = (0..keys).map(|i| set(format!("shard:cluster:key:{i}"))).collect();
    for chunk in cmds.chunks(BATCH) {
        for cmd in chunk {
            backend.exec(cmd).await?;
        }
    }
    let held: Vec<(String, u64)> = backend
        .own_keys_by_master("shard:cluster:")
        .await?
        .into_iter()
        .map(|(master, found)| (master, found.len() as u64))
        .collect();
    let counts: Vec<u64> = held.iter().map(|(_, c)| *c).collect();
    Ok(ShardReport {
        keys,
        nodes: held.iter().map(|(m, _)| m.clone()).collect(),
        placements: vec![Placement {
            method: "Redis Cluster slots".to_owned(),
            max_over_mean: max_over_mean(&counts),
            keys_per_node: counts,
            moved: None,
            ideal_moved: None,
        }],
    })
}

fn max_over_mean(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if counts.is_empty() || total == 0 {
        return 0.0;
    }
    let mean = total as f64 / counts.len() as f64;
    counts.iter().copied().max().unwrap_or(0) as f64 / mean
}

/// The report as a table.
pub fn render(report: &ShardReport) -> String {
    let mut out = format!("{} keys over {} servers: {}\n", report.keys, report.nodes.len(), report.nodes.join(", "));
    for p in &report.placements {
        let counts: Vec<String> = p.keys_per_node.iter().map(u64::to_string).collect();
        out.push_str(&format!(
            "{:<22} keys per server {}  (max/mean {:.3})\n",
            p.method,
            counts.join(" "),
            p.max_over_mean
        ));
        if let (Some(moved), Some(ideal)) = (p.moved, p.ideal_moved) {
            out.push_str(&format!(
                "{:<22} adding {}: {moved} keys must move ({:.1}%; ideal {ideal}, {:.1}%)\n",
                "",
                report.nodes.last().map_or("", String::as_str),
                100.0 * moved as f64 / report.keys.max(1) as f64,
                100.0 * ideal as f64 / report.keys.max(1) as f64,
            ));
        }
    }
    out
}
