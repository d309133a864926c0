//! Eviction policies side by side on the same trace (46.3, exercise 3), advanced in steps so that
//! a view can draw the hit-ratio curves as they grow, with Belady's optimum as their ceiling.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::workload::Workload;
use super::{Access, Fifo, Lfu, Lru, Policy, WTinyLfu, belady_hits};
use crate::config::ConfigError;

/// The online policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    Lru,
    Fifo,
    Lfu,
    #[serde(rename = "w-tinylfu")]
    WTinyLfu,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 4] = [PolicyKind::Lru, PolicyKind::Fifo, PolicyKind::Lfu, PolicyKind::WTinyLfu];

    /// A cache of `capacity` entries with this policy (LFU ages its counts every 10 × capacity
    /// accesses).
    pub fn build(self, capacity: usize) -> Box<dyn Policy> {
        match self {
            PolicyKind::Lru => Box::new(Lru::new(capacity)),
            PolicyKind::Fifo => Box::new(Fifo::new(capacity)),
            PolicyKind::Lfu => Box::new(Lfu::new(capacity, 10 * capacity as u64)),
            PolicyKind::WTinyLfu => Box::new(WTinyLfu::new(capacity)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareConfig {
    pub workload: Workload,
    pub length: usize,
    pub capacity: usize,
    pub seed: u64,
    pub policies: Vec<PolicyKind>,
}

/// The longest trace a comparison holds (the optimum needs all of it at once).
pub const LENGTH_MAX: usize = 5_000_000;

/// Points on each hit-ratio curve.
const CURVE_POINTS: usize = 200;

/// Keys shown in the contents grid.
const HOT_KEYS: usize = 40;

struct Contender {
    kind: PolicyKind,
    policy: Box<dyn Policy>,
    hits: u64,
    curve: Vec<f64>,
}

pub struct Comparison {
    trace: Vec<u64>,
    position: usize,
    contenders: Vec<Contender>,
    opt_hits: u64,
    /// Accesses per key so far, and the position of the last one.
    counts: BTreeMap<u64, (u64, usize)>,
    sample_every: usize,
}

impl std::fmt::Debug for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Comparison").field("length", &self.trace.len()).field("position", &self.position).finish()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicyView {
    pub policy: PolicyKind,
    pub hits: u64,
    pub hit_ratio: f64,
    /// Cumulative hit ratio every `sample_every` accesses.
    pub curve: Vec<f64>,
    pub cached: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct HotKey {
    pub key: u64,
    /// Accesses so far.
    pub count: u64,
    /// The position in the trace of its last access (recency).
    pub last_access: usize,
    /// Whether each policy (in order) holds it now.
    pub cached: Vec<bool>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ComparisonView {
    pub position: usize,
    pub length: usize,
    pub capacity: usize,
    pub sample_every: usize,
    pub policies: Vec<PolicyView>,
    /// The optimum's hit ratio over the whole trace: no online policy can end above it.
    pub opt_hit_ratio: f64,
    /// The most accessed keys so far, and which policy holds them.
    pub hot_keys: Vec<HotKey>,
}

impl Comparison {
    pub fn new(cfg: &CompareConfig) -> Result<Comparison, ConfigError> {
        ConfigError::check_range("length", cfg.length, 1, LENGTH_MAX)?;
        ConfigError::check_range("capacity", cfg.capacity, 1, 10_000_000)?;
        ConfigError::check_range("policies", cfg.policies.len(), 1, PolicyKind::ALL.len())?;
        let trace = cfg.workload.trace(cfg.length, cfg.seed)?;
        let opt_hits = belady_hits(&trace, cfg.capacity) as u64;
        let contenders = cfg
            .policies
            .iter()
            .map(|&kind| Contender { kind, policy: kind.build(cfg.capacity), hits: 0, curve: Vec::new() })
            .collect();
        Ok(Comparison {
            sample_every: cfg.length.div_ceil(CURVE_POINTS).max(1),
            trace,
            position: 0,
            contenders,
            opt_hits,
            counts: BTreeMap::new(),
        })
    }

    /// Feeds the next `n` accesses to every policy; true once the trace is done.
    #[expect(clippy::cast_precision_loss, reason = "ratios of counts below 2^53")]
    pub fn advance(&mut self, n: usize) -> bool {
        let end = self.position.saturating_add(n).min(self.trace.len());
        for i in self.position..end {
            let key = self.trace[i];
            let seen = self.counts.entry(key).or_default();
            *seen = (seen.0 + 1, i);
            for c in &mut self.contenders {
                if c.policy.access(key) == Access::Hit {
                    c.hits += 1;
                }
                if (i + 1) % self.sample_every == 0 || i + 1 == self.trace.len() {
                    c.curve.push(c.hits as f64 / (i + 1) as f64);
                }
            }
        }
        self.position = end;
        self.position == self.trace.len()
    }

    #[expect(clippy::cast_precision_loss, reason = "ratios of counts below 2^53")]
    pub fn view(&self) -> ComparisonView {
        let ratio = |h: u64, n: usize| if n == 0 { 0.0 } else { h as f64 / n as f64 };
        let mut hot: Vec<(u64, (u64, usize))> = self.counts.iter().map(|(&k, &c)| (k, c)).collect();
        hot.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
        hot.truncate(HOT_KEYS);
        ComparisonView {
            position: self.position,
            length: self.trace.len(),
            capacity: self.contenders.first().map_or(0, |c| c.policy.capacity()),
            sample_every: self.sample_every,
            policies: self
                .contenders
                .iter()
                .map(|c| PolicyView {
                    policy: c.kind,
                    hits: c.hits,
                    hit_ratio: ratio(c.hits, self.position),
                    curve: c.curve.clone(),
                    cached: c.policy.len(),
                })
                .collect(),
            opt_hit_ratio: ratio(self.opt_hits, self.trace.len()),
            hot_keys: hot
                .into_iter()
                .map(|(key, (count, last_access))| HotKey {
                    key,
                    count,
                    last_access,
                    cached: self.contenders.iter().map(|c| c.policy.contains(key)).collect(),
                })
                .collect(),
        }
    }
}
