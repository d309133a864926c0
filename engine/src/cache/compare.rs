//! Eviction policies side by side on the same trace (46.3, exercise 3), advanced in steps so that
//! a view can draw the hit-ratio curves as they grow, with Belady's optimum as their ceiling.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::index::mix64;
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
    /// The chapter's `FIFOCache` (46.3): it moves a key to the back on every read, so it is LRU
    /// under another name. Offered beside FIFO so the page can show the two curves apart and
    /// this one on top of LRU's; not among [`PolicyKind::ALL`], the real policies.
    ChapterFifo,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 4] = [PolicyKind::Lru, PolicyKind::Fifo, PolicyKind::Lfu, PolicyKind::WTinyLfu];

    /// A cache of `capacity` entries with this policy (LFU ages its counts every 10 × capacity
    /// accesses).
    pub fn build(self, capacity: usize) -> Box<dyn Policy> {
        self.build_weighted(capacity, u64::MAX)
    }

    /// The same, also bounded by `max_weight` (`u64::MAX`: no weight bound).
    pub fn build_weighted(self, capacity: usize, max_weight: u64) -> Box<dyn Policy> {
        match self {
            PolicyKind::Lru => Box::new(Lru::new(capacity).with_max_weight(max_weight)),
            PolicyKind::Fifo => Box::new(Fifo::new(capacity).with_max_weight(max_weight)),
            PolicyKind::Lfu => Box::new(Lfu::new(capacity, 10 * capacity as u64).with_max_weight(max_weight)),
            PolicyKind::WTinyLfu => Box::new(WTinyLfu::new(capacity).with_max_weight(max_weight)),
            PolicyKind::ChapterFifo => Box::new(Lru::new(capacity).with_max_weight(max_weight)),
        }
    }
}

/// Entry weights for a comparison bounded by weight: each key weighs `1 + hash(key) mod
/// key_weight_max` (a size that is the same every time the key is seen), and each cache holds at
/// most `max_weight`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub key_weight_max: u64,
    pub max_weight: u64,
}

impl Weights {
    pub fn of(&self, key: u64) -> u64 {
        1 + mix64(key ^ 0x2545_f491_4f6c_dd1d) % self.key_weight_max.max(1)
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
    /// Bound the caches by weight too (no optimum is shown then: with sizes, Belady's rule is no
    /// longer optimal and the true optimum is NP-hard).
    #[serde(default)]
    pub weights: Option<Weights>,
}

/// The longest trace a comparison holds (the optimum needs all of it at once).
pub const LENGTH_MAX: usize = 5_000_000;
/// The most entries a compared cache may hold.
pub const CAPACITY_MAX: usize = 10_000_000;
/// The heaviest a key may weigh, and the most total weight a cache may hold.
pub const KEY_WEIGHT_MAX: u64 = 1 << 32;
pub const MAX_WEIGHT_MAX: u64 = 1 << 62;

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
    /// Belady's hits, for unweighted comparisons.
    opt_hits: Option<u64>,
    weights: Option<Weights>,
    /// Scratch for `access_weighted`'s evictions, which a comparison does not need.
    evicted: Vec<u64>,
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
    /// The total weight held (the entry count, without weights).
    pub weight: u64,
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
    /// The optimum's hit ratio over the whole trace: no online policy can end above it (none
    /// when bounded by weight).
    pub opt_hit_ratio: Option<f64>,
    /// The most accessed keys so far, and which policy holds them.
    pub hot_keys: Vec<HotKey>,
}

impl Comparison {
    pub fn new(cfg: &CompareConfig) -> Result<Comparison, ConfigError> {
        // Every limit before the trace is drawn: a bad capacity must not cost a trace first.
        Comparison::check_limits(cfg.length, cfg.capacity, &cfg.policies, cfg.weights)?;
        cfg.workload.validate()?;
        let trace = cfg.workload.trace(cfg.length, cfg.seed)?;
        Comparison::on_trace(trace, cfg.capacity, &cfg.policies, cfg.weights)
    }

    /// The limits of a comparison, one place for the engine and the command line alike.
    pub fn check_limits(
        length: usize,
        capacity: usize,
        policies: &[PolicyKind],
        weights: Option<Weights>,
    ) -> Result<(), ConfigError> {
        ConfigError::check_range("length", length, 1, LENGTH_MAX)?;
        ConfigError::check_range("capacity", capacity, 1, CAPACITY_MAX)?;
        ConfigError::check_range("policies", policies.len(), 1, PolicyKind::ALL.len() + 1)?;
        if let Some(w) = weights {
            ConfigError::check_range("key_weight_max", w.key_weight_max, 1, KEY_WEIGHT_MAX)?;
            ConfigError::check_range("max_weight", w.max_weight, 1, MAX_WEIGHT_MAX)?;
        }
        Ok(())
    }

    /// The policies on a given trace (a file of keys, say).
    pub fn on_trace(
        trace: Vec<u64>,
        capacity: usize,
        policies: &[PolicyKind],
        weights: Option<Weights>,
    ) -> Result<Comparison, ConfigError> {
        Comparison::check_limits(trace.len(), capacity, policies, weights)?;
        let max_weight = weights.map_or(u64::MAX, |w| w.max_weight);
        let opt_hits = weights.is_none().then(|| belady_hits(&trace, capacity) as u64);
        let contenders = policies
            .iter()
            .map(|&kind| Contender {
                kind,
                policy: kind.build_weighted(capacity, max_weight),
                hits: 0,
                curve: Vec::new(),
            })
            .collect();
        Ok(Comparison {
            sample_every: trace.len().div_ceil(CURVE_POINTS).max(1),
            trace,
            position: 0,
            contenders,
            opt_hits,
            weights,
            evicted: Vec::new(),
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
                let hit = match self.weights {
                    None => c.policy.access(key) == Access::Hit,
                    Some(w) => {
                        self.evicted.clear();
                        c.policy.access_weighted(key, w.of(key), &mut self.evicted)
                    }
                };
                if hit {
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
                    weight: c.policy.weight(),
                })
                .collect(),
            opt_hit_ratio: self.opt_hits.map(|h| ratio(h, self.trace.len())),
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
