//! How evenly each method spreads keys, and how many keys move when a node joins or leaves,
//! next to the ideal and to plain `hash % N`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{HashRing, jump, md5_u128, rendezvous};

/// A way of mapping keys to nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The consistent-hash ring (with its virtual nodes and weights).
    Ring,
    Jump,
    Rendezvous,
    /// `MD5(key) % N` over the nodes in join order.
    Modulo,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::Ring, Method::Jump, Method::Rendezvous, Method::Modulo];

    pub fn name(self) -> &'static str {
        match self {
            Method::Ring => "ring",
            Method::Jump => "jump",
            Method::Rendezvous => "rendezvous",
            Method::Modulo => "hash % N",
        }
    }

    /// The node that owns `key` among the ring's nodes.
    pub fn owner<'a>(self, ring: &'a HashRing, key: &str) -> Option<&'a str> {
        let nodes = ring.nodes();
        match self {
            Method::Ring => ring.get_node(key),
            Method::Jump => jump::node(nodes, key),
            Method::Rendezvous => rendezvous::node(nodes, key),
            Method::Modulo => {
                let n = u128::try_from(nodes.len()).ok().filter(|n| *n > 0)?;
                let i = usize::try_from(md5_u128(key) % n).ok()?;
                nodes.get(i).map(String::as_str)
            }
        }
    }
}

/// `count` sample keys: `key:0`, `key:1`, ...
pub fn sample_keys(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("key:{i}")).collect()
}

/// How keys spread over nodes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Load {
    pub keys_per_node: BTreeMap<String, u64>,
    pub mean: f64,
    /// Population standard deviation of keys per node.
    pub std_dev: f64,
    /// The busiest node's keys over the mean: 1.0 is perfect balance.
    pub max_over_mean: f64,
}

pub fn load(ring: &HashRing, method: Method, keys: &[String]) -> Load {
    let mut keys_per_node: BTreeMap<String, u64> = ring.nodes().iter().map(|n| (n.clone(), 0)).collect();
    for k in keys {
        if let Some(owner) = method.owner(ring, k) {
            *keys_per_node.entry(owner.to_owned()).or_default() += 1;
        }
    }
    let n = keys_per_node.len().max(1) as f64;
    let mean = keys.len() as f64 / n;
    let variance = keys_per_node.values().map(|c| (*c as f64 - mean).powi(2)).sum::<f64>() / n;
    let max = keys_per_node.values().copied().max().unwrap_or(0) as f64;
    Load { keys_per_node, mean, std_dev: variance.sqrt(), max_over_mean: if mean > 0.0 { max / mean } else { 0.0 } }
}

/// The fraction of `keys` whose owner differs between `before` and `after`.
pub fn moved_fraction(before: &HashRing, after: &HashRing, method: Method, keys: &[String]) -> f64 {
    if keys.is_empty() {
        return 0.0;
    }
    let moved = match method {
        Method::Rendezvous => rendezvous::moved(before.nodes(), after.nodes(), keys),
        _ => keys.iter().filter(|k| method.owner(before, k) != method.owner(after, k)).count(),
    };
    moved as f64 / keys.len() as f64
}

/// What moves when the node set changes, per method, and the ideal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Movement {
    pub change: String,
    /// The least fraction any method could move: how much of the keyspace changes hands when every
    /// node owns a share proportional to its weight (1/N for one of N equal nodes joining or
    /// leaving, 0 for a change of virtual nodes).
    pub ideal: f64,
    pub moved: BTreeMap<Method, f64>,
}

/// Compares every method on the same keys for the change from `before` to `after`.
pub fn movement(before: &HashRing, after: &HashRing, change: String, keys: &[String]) -> Movement {
    let (b, a) = (weight_shares(before), weight_shares(after));
    let ideal = a.iter().map(|(node, share)| (share - b.get(node).copied().unwrap_or(0.0)).max(0.0)).sum();
    let moved = Method::ALL.iter().map(|m| (*m, moved_fraction(before, after, *m, keys))).collect();
    Movement { change, ideal, moved }
}

/// Each node's weight over the total weight.
fn weight_shares(ring: &HashRing) -> BTreeMap<String, f64> {
    let weights: Vec<(String, f64)> = ring.nodes().iter().map(|n| (n.clone(), ring.weight(n).unwrap_or(0.0))).collect();
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    weights.into_iter().map(|(n, w)| (n, if total > 0.0 { w / total } else { 0.0 })).collect()
}
