//! The consistent-hash ring itself.

use std::collections::BTreeMap;

use serde::Serialize;

use super::md5_u128;

/// The chapter's default number of virtual nodes per node.
pub const VNODES_DEFAULT: u32 = 150;
/// More virtual nodes than this per unit of weight buys nothing but memory.
pub const VNODES_MAX: u32 = 10_000;
/// A node's weight scales its virtual nodes; beyond this it is a typo.
pub const WEIGHT_MAX: f64 = 100.0;

/// A change to the ring that cannot be made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RingError {
    #[error("node {0:?} is already on the ring")]
    DuplicateNode(String),
    #[error("node {0:?} is not on the ring")]
    UnknownNode(String),
    #[error("a node name must not be empty")]
    EmptyName,
    #[error("virtual_nodes = {0} is out of range: allowed 1..={VNODES_MAX}")]
    VirtualNodes(u32),
    #[error("weight = {0} is out of range: allowed above 0 up to {WEIGHT_MAX}")]
    Weight(f64),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct NodeInfo {
    weight: f64,
    points: u32,
}

/// A consistent-hash ring with weighted virtual nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct HashRing {
    virtual_nodes: u32,
    nodes: BTreeMap<String, NodeInfo>,
    /// Node names in the order they joined (what `hash % N` and jump hash number by).
    order: Vec<String>,
    /// Every virtual node as (position, node), sorted by position then node name.
    points: Vec<(u128, String)>,
}

impl HashRing {
    /// An empty ring whose nodes get `virtual_nodes` points per unit of weight.
    pub fn new(virtual_nodes: u32) -> Result<HashRing, RingError> {
        if !(1..=VNODES_MAX).contains(&virtual_nodes) {
            return Err(RingError::VirtualNodes(virtual_nodes));
        }
        Ok(HashRing { virtual_nodes, nodes: BTreeMap::new(), order: Vec::new(), points: Vec::new() })
    }

    /// A ring of `names`, each with weight 1.
    pub fn with_nodes<S: AsRef<str>>(virtual_nodes: u32, names: &[S]) -> Result<HashRing, RingError> {
        let weighted: Vec<(&str, f64)> = names.iter().map(|n| (n.as_ref(), 1.0)).collect();
        HashRing::with_weighted_nodes(virtual_nodes, &weighted)
    }

    /// A ring of `nodes` with their weights, in this join order: every point collected, then
    /// sorted once (O(V log V) for V points), where adding the nodes one by one would merge the
    /// whole ring each time (O(N · V) for N nodes: minutes for 10,000). Errors as [`add_node`].
    ///
    /// [`add_node`]: HashRing::add_node
    pub fn with_weighted_nodes(virtual_nodes: u32, nodes: &[(&str, f64)]) -> Result<HashRing, RingError> {
        let mut ring = HashRing::new(virtual_nodes)?;
        let mut points = Vec::new();
        for &(name, weight) in nodes {
            ring.check_new(name, weight)?;
            let count = ring.points_for(weight);
            points.extend((0..count).map(|i| (md5_u128(&format!("{name}#{i}")), name.to_owned())));
            ring.nodes.insert(name.to_owned(), NodeInfo { weight, points: count });
            ring.order.push(name.to_owned());
        }
        points.sort_unstable();
        ring.points = points;
        Ok(ring)
    }

    /// Whether `name` may join with `weight`.
    fn check_new(&self, name: &str, weight: f64) -> Result<(), RingError> {
        if name.is_empty() {
            return Err(RingError::EmptyName);
        }
        if !(weight > 0.0 && weight <= WEIGHT_MAX) {
            return Err(RingError::Weight(weight));
        }
        if self.nodes.contains_key(name) {
            return Err(RingError::DuplicateNode(name.to_owned()));
        }
        Ok(())
    }

    pub fn virtual_nodes(&self) -> u32 {
        self.virtual_nodes
    }

    /// Node names in the order they joined.
    pub fn nodes(&self) -> &[String] {
        &self.order
    }

    pub fn weight(&self, node: &str) -> Option<f64> {
        self.nodes.get(node).map(|n| n.weight)
    }

    /// Every virtual node as (position, node), in ring order.
    pub fn points(&self) -> &[(u128, String)] {
        &self.points
    }

    /// How many points a node of `weight` gets: `round(virtual_nodes * weight)`, at least one.
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "clamped to 1..=1e6 first")]
    fn points_for(&self, weight: f64) -> u32 {
        let n = (f64::from(self.virtual_nodes) * weight).round();
        if n < 1.0 { 1 } else { n.min(f64::from(VNODES_MAX) * WEIGHT_MAX) as u32 }
    }

    /// Adds `name` with `weight` (1.0 is a plain node). Only the new node's points are hashed.
    pub fn add_node(&mut self, name: &str, weight: f64) -> Result<(), RingError> {
        self.check_new(name, weight)?;
        let count = self.points_for(weight);
        let mut new: Vec<(u128, String)> =
            (0..count).map(|i| (md5_u128(&format!("{name}#{i}")), name.to_owned())).collect();
        new.sort();
        self.points = merge_sorted(std::mem::take(&mut self.points), new);
        self.nodes.insert(name.to_owned(), NodeInfo { weight, points: count });
        self.order.push(name.to_owned());
        Ok(())
    }

    /// Removes `name` and only its points.
    pub fn remove_node(&mut self, name: &str) -> Result<(), RingError> {
        if self.nodes.remove(name).is_none() {
            return Err(RingError::UnknownNode(name.to_owned()));
        }
        self.points.retain(|(_, n)| n != name);
        self.order.retain(|n| n != name);
        Ok(())
    }

    /// Changes a node's weight: its points are recomputed, no other node's are.
    pub fn set_weight(&mut self, name: &str, weight: f64) -> Result<(), RingError> {
        let index = self.order.iter().position(|n| n == name).ok_or_else(|| RingError::UnknownNode(name.to_owned()))?;
        if !(weight > 0.0 && weight <= WEIGHT_MAX) {
            return Err(RingError::Weight(weight));
        }
        self.remove_node(name)?;
        self.add_node(name, weight)?;
        let moved = self.order.pop().unwrap_or_default();
        self.order.insert(index, moved); // keep its place in the join order
        Ok(())
    }

    /// The index in [`HashRing::points`] of the first point at or after `hash`, wrapping.
    fn first_at_or_after(&self, hash: u128) -> usize {
        let i = self.points.partition_point(|(p, _)| *p < hash);
        if i == self.points.len() { 0 } else { i }
    }

    /// The node that owns `key`, or `None` on an empty ring. O(log V).
    pub fn get_node(&self, key: &str) -> Option<&str> {
        if self.points.is_empty() {
            return None;
        }
        Some(self.points[self.first_at_or_after(md5_u128(key))].1.as_str())
    }

    /// Up to `count` distinct nodes for `key`, walking clockwise from its position: the owner
    /// first, then its replicas.
    pub fn get_nodes(&self, key: &str, count: usize) -> Vec<&str> {
        let wanted = count.min(self.nodes.len());
        let mut out: Vec<&str> = Vec::with_capacity(wanted);
        if wanted == 0 {
            return out;
        }
        let start = self.first_at_or_after(md5_u128(key));
        for step in 0..self.points.len() {
            let node = self.points[(start + step) % self.points.len()].1.as_str();
            if !out.contains(&node) {
                out.push(node);
                if out.len() == wanted {
                    break;
                }
            }
        }
        out
    }

    /// Each node's share of the ring's circumference (0..=1), from its points' arcs.
    pub fn arc_shares(&self) -> BTreeMap<String, f64> {
        let mut shares: BTreeMap<String, f64> = self.nodes.keys().map(|n| (n.clone(), 0.0)).collect();
        let n = self.points.len();
        for (i, (pos, node)) in self.points.iter().enumerate() {
            let prev = if i == 0 { self.points[n - 1].0 } else { self.points[i - 1].0 };
            let arc = pos.wrapping_sub(prev);
            let arc = if n == 1 { u128::MAX } else { arc };
            *shares.entry(node.clone()).or_default() += arc as f64 / u128::MAX as f64;
        }
        shares
    }
}

fn merge_sorted(a: Vec<(u128, String)>, b: Vec<(u128, String)>) -> Vec<(u128, String)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}
