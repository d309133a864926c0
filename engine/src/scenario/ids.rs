//! Scenario `ids` (46.7.2, exercise 5): generator nodes `gen-1`… minting IDs for a steady stream
//! of requests, and the store they lease worker ids and claim segments from (see
//! [`crate::id::node`]). `"generator"` is `snowflake`, `segment` or `uuidv7`; `"chapter": true`
//! runs the chapter's version of it (refuse on rollback, nothing kept across a restart, worker
//! ids by hand; racing segment claims refilled only when empty; the v7 that is a v4).
//!
//! Faults on `gen-1` at `incident_at_ms`: its clock steps back `clock_back_ms`; or, with
//! `restart`, it crashes and restarts `restart_after_ms` later with its clock that much behind;
//! the store pauses for `store_pause_ms` (a latency spike); `gen-1` is cut from the store for
//! `partition_ms`; from the start, `gen-2`'s clock is `skew_ms` ahead and `gen-3`'s behind. Stories: `clock-back`, `same-worker`, `restart-behind`, `segment-race`,
//! `segment-stall`, `chapter-v7`, each the chapter's generator failing (add `"chapter": false`
//! for the fix on the same seed).
//!
//! Judged: `unique` (no ID handed out twice, across every node), `monotonic` (each generator's
//! IDs increase, per incarnation), `available` (no request refused), `no_stall` (no request
//! waits longer than [`STALL_MAX`]; promised for segments with the double buffer).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::actor::NodeId;
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::id::layout::Layout;
use crate::id::node::{GenKind, IdNode, IdNodeConfig, IdObs, IdProtocol};
use crate::id::segment::{SegmentConfig, SegmentMode, Segments};
use crate::id::snowflake::{Refusal, Rollback, Snowflake, SnowflakeConfig};
use crate::msg;
use crate::sim::{Fault, LinkConfig, Sim, SimDuration, SimTime};
use crate::store::{StoreConfig, StoreNode};

/// The longest a request may wait for its ID where `no_stall` is promised.
pub const STALL_MAX: SimDuration = SimDuration::from_millis(20);
/// 2026-01-01T00:00:00Z: every node's clock zero, in Unix milliseconds.
pub const UNIX_BASE_MS: u64 = 1_767_225_600_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackKind {
    Refuse,
    Wait,
    Logical,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdsConfig {
    pub generator: GenKind,
    pub chapter: bool,
    pub generators: u32,
    /// Requests per second, per generator.
    pub rate: u64,
    pub duration_ms: u64,
    /// Snowflake bits, time/datacenter/worker/sequence.
    pub layout: String,
    pub rollback: RollbackKind,
    pub max_rollback_ms: u64,
    /// Ticks reserved durably ahead (the high-water mark); 0 keeps nothing.
    pub reserve_ms: u64,
    /// Lease worker ids from the store (`false`: `worker_ids`, by hand).
    pub lease: bool,
    pub lease_ms: u64,
    /// Each generator's worker id by hand (or where its lease starts looking); empty: 1, 2, 3…
    pub worker_ids: Vec<u64>,
    pub step: u64,
    pub double_buffer: bool,
    pub adaptive: bool,
    pub incident_at_ms: u64,
    pub clock_back_ms: u64,
    pub restart: bool,
    pub restart_after_ms: u64,
    pub store_pause_ms: u64,
    pub partition_ms: u64,
    /// From the start, `gen-2`'s clock runs this far ahead of true time and `gen-3`'s this far
    /// behind.
    pub skew_ms: u64,
}

impl Default for IdsConfig {
    fn default() -> Self {
        IdsConfig {
            generator: GenKind::Snowflake,
            chapter: false,
            generators: 3,
            rate: 200,
            duration_ms: 10_000,
            layout: Layout::CHAPTER.bits_text(),
            rollback: RollbackKind::Logical,
            max_rollback_ms: 1_000,
            reserve_ms: 1_000,
            lease: true,
            lease_ms: 3_000,
            worker_ids: Vec::new(),
            step: 100,
            double_buffer: true,
            adaptive: true,
            incident_at_ms: 3_000,
            clock_back_ms: 0,
            restart: false,
            restart_after_ms: 200,
            store_pause_ms: 0,
            partition_ms: 0,
            skew_ms: 0,
        }
    }
}

impl Knobs for IdsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("generators", self.generators, 1, 8)?;
        ConfigError::check_range("rate", self.rate, 1, 100_000)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1_000, 600_000)?;
        ConfigError::check_range("max_rollback_ms", self.max_rollback_ms, 0, 60_000)?;
        ConfigError::check_range("reserve_ms", self.reserve_ms, 0, 60_000)?;
        ConfigError::check_range("lease_ms", self.lease_ms, 30, 600_000)?;
        ConfigError::check_range("step", self.step, 1, 1_000_000)?;
        ConfigError::check_range("incident_at_ms", self.incident_at_ms, 0, self.duration_ms)?;
        ConfigError::check_range("clock_back_ms", self.clock_back_ms, 0, 3_600_000)?;
        ConfigError::check_range("restart_after_ms", self.restart_after_ms, 1, 60_000)?;
        ConfigError::check_range("store_pause_ms", self.store_pause_ms, 0, 60_000)?;
        ConfigError::check_range("partition_ms", self.partition_ms, 0, 600_000)?;
        ConfigError::check_range("skew_ms", self.skew_ms, 0, 3_600_000)?;
        if self.worker_ids.len() > self.generators as usize {
            return Err(ConfigError::out_of_range(
                "worker_ids",
                format!("{:?}", self.worker_ids),
                format!("at most one id per generator ({})", self.generators),
            ));
        }
        let layout = self.layout()?;
        if let Some(w) = self.worker_ids.iter().find(|w| **w > layout.max_worker()) {
            return Err(ConfigError::out_of_range("worker_ids", w, format!("0 to {}", layout.max_worker())));
        }
        Ok(())
    }
}

impl IdsConfig {
    fn layout(&self) -> Result<Layout, ConfigError> {
        Layout::from_bits_text(&self.layout, 1, crate::id::layout::CHAPTER_EPOCH_MS)
            .map_err(|e| ConfigError::out_of_range("layout", &self.layout, e.to_string()))
    }

    fn worker(&self, i: u32) -> u64 {
        self.worker_ids.get(i as usize).copied().unwrap_or(u64::from(i) + 1)
    }

    /// Generator `i`'s Snowflake, its policies the chapter's or the configured ones.
    fn snowflake(&self, i: u32) -> Result<Snowflake, ConfigError> {
        let layout = self.layout()?;
        let worker = self.worker(i) % (layout.max_worker() + 1);
        let cfg = if self.chapter {
            SnowflakeConfig::chapter(layout, 0, worker)
        } else {
            let rollback = match self.rollback {
                RollbackKind::Refuse => Rollback::Refuse,
                RollbackKind::Wait => Rollback::Wait { max_ms: self.max_rollback_ms },
                RollbackKind::Logical => Rollback::Logical { bound_ms: self.max_rollback_ms },
            };
            SnowflakeConfig { layout, datacenter: 0, worker, rollback, reserve_ms: self.reserve_ms }
        };
        Snowflake::new(cfg).map_err(|e| ConfigError::out_of_range("layout", &self.layout, e.to_string()))
    }

    fn segments(&self) -> Result<Segments, ConfigError> {
        let cfg = if self.chapter {
            SegmentConfig::chapter("max_id", self.step)
        } else {
            let leaf = SegmentConfig::leaf("max_id", self.step);
            SegmentConfig {
                mode: SegmentMode::Atomic,
                prefetch_percent: leaf.prefetch_percent.filter(|_| self.double_buffer),
                target_ms: leaf.target_ms.filter(|_| self.adaptive),
                max_step: if self.adaptive { leaf.max_step } else { self.step },
                ..leaf
            }
        };
        Segments::new(cfg).map_err(|e| ConfigError::out_of_range("step", self.step, e.to_string()))
    }

    /// Which properties this configuration promises.
    fn promises(&self, property: &str) -> bool {
        match property {
            "unique" | "monotonic" => !self.chapter,
            "available" => {
                self.generator != GenKind::Snowflake || (!self.chapter && self.rollback != RollbackKind::Refuse)
            }
            "no_stall" => self.generator == GenKind::Segment && !self.chapter && self.double_buffer,
            _ => false,
        }
    }
}

/// A story's defaults: the chapter's generator with the fault that breaks it.
fn story(name: &serde_json::Value) -> Result<serde_json::Value, ConfigError> {
    use serde_json::json;
    Ok(match name.as_str() {
        Some("clock-back") => json!({ "generator": "snowflake", "chapter": true, "clock_back_ms": 300 }),
        Some("same-worker") => json!({ "generator": "snowflake", "chapter": true, "worker_ids": [1, 1, 2] }),
        Some("restart-behind") => {
            json!({ "generator": "snowflake", "chapter": true, "restart": true, "clock_back_ms": 500 })
        }
        Some("segment-race") => json!({ "generator": "segment", "chapter": true }),
        Some("segment-stall") => json!({ "generator": "segment", "chapter": true, "store_pause_ms": 600 }),
        // Several IDs a millisecond, so that the order within one shows.
        Some("chapter-v7") => {
            json!({ "generator": "uuidv7", "chapter": true, "rate": 2_000, "duration_ms": 2_000, "incident_at_ms": 1_000 })
        }
        _ => {
            let value = name.as_str().map_or_else(|| name.to_string(), str::to_owned);
            return Err(ConfigError::out_of_range(
                "story",
                value,
                "\"clock-back\", \"same-worker\", \"restart-behind\", \"segment-race\", \"segment-stall\", \"chapter-v7\"",
            ));
        }
    })
}

pub(super) fn build(mut setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let defaults = match setup.take("story") {
        None | Some(serde_json::Value::Null) => serde_json::json!({}),
        Some(name) => story(&name)?,
    };
    let cfg: IdsConfig = setup.config_over(defaults)?;
    let mut sim = setup.sim(LinkConfig { latency_min_us: 200, latency_max_us: 600, ..LinkConfig::default() });
    let store = sim.add_node("store", |d| StoreNode::new(StoreConfig { persistent: true }, d))?;
    let segments = cfg.segments()?;
    for i in 0..cfg.generators {
        let node = IdNodeConfig {
            kind: cfg.generator,
            chapter_v7: cfg.chapter,
            snowflake: cfg.snowflake(i)?,
            lease_ms: (cfg.lease && !cfg.chapter).then_some(cfg.lease_ms),
            segments: segments.clone(),
            every_us: (1_000_000 / cfg.rate).max(2),
            until: SimDuration::from_millis(cfg.duration_ms),
            unix_base_ms: UNIX_BASE_MS,
            store_timeout: SimDuration::from_millis(250),
        };
        let name = format!("gen-{}", i + 1);
        let owner = name.clone();
        sim.add_node(name, move |d| IdNode::new(node.clone(), store, &owner, d))?;
    }
    let at = SimTime::from_millis(cfg.incident_at_ms);
    let back = -i64::try_from(cfg.clock_back_ms * 1_000).unwrap_or(i64::MAX);
    if cfg.restart {
        let again = SimTime::from_millis(cfg.incident_at_ms + cfg.restart_after_ms);
        sim.schedule(at, Fault::Crash { node: "gen-1".into() });
        sim.schedule(again, Fault::Restart { node: "gen-1".into() });
        // Behind the last ID's time by `clock_back_ms` when it comes back (the restart's gap
        // is taken back too).
        let behind = back - i64::try_from(cfg.restart_after_ms * 1_000).unwrap_or(0);
        if cfg.clock_back_ms > 0 {
            sim.schedule(again, Fault::ClockJump { node: "gen-1".into(), delta_us: behind });
        }
    } else if cfg.clock_back_ms > 0 {
        sim.schedule(at, Fault::ClockJump { node: "gen-1".into(), delta_us: back });
    }
    if cfg.skew_ms > 0 {
        let skew = i64::try_from(cfg.skew_ms * 1_000).unwrap_or(i64::MAX);
        for (i, offset_us) in [(2, skew), (3, -skew)] {
            if cfg.generators >= i {
                sim.schedule(SimTime::ZERO, Fault::ClockSkew { node: format!("gen-{i}"), offset_us });
            }
        }
    }
    if cfg.store_pause_ms > 0 {
        sim.schedule(at, Fault::Pause { node: "store".into(), duration_us: cfg.store_pause_ms * 1_000 });
    }
    if cfg.partition_ms > 0 {
        sim.schedule(at, Fault::Partition { groups: vec![vec!["gen-1".into()], vec!["store".into()]] });
        sim.schedule(at + SimDuration::from_millis(cfg.partition_ms), Fault::Heal);
    }
    let until = SimTime::from_millis(cfg.duration_ms + 1_000);
    setup.run(sim, until, IdsJudge { cfg })
}

#[derive(Clone, Debug)]
struct IdsJudge {
    cfg: IdsConfig,
}

/// An ID handed out twice: the ID, then (node, time µs) of each.
type Duplicate = (String, (String, u64), (String, u64));

#[derive(Debug, Default)]
struct Analysis {
    minted: u64,
    refused: u64,
    claims: u64,
    duplicates: Vec<Duplicate>,
    /// The first ID that came after a larger one from the same generator: (node, before, after, µs).
    out_of_order: Vec<(String, String, String, u64)>,
    /// The longest wait (µs) and when its ID was handed out.
    longest_wait: (u64, u64),
    /// Refusal episodes: (from µs, to µs, refusals).
    outages: Vec<(u64, u64, u64)>,
    /// The worst clock step a refusal reported (ms).
    behind_ms: u64,
    per_node: BTreeMap<String, u64>,
    /// The last IDs handed out: (node, id, µs, whether it was handed out before).
    recent: std::collections::VecDeque<(String, String, u64, bool)>,
}

/// IDs the page's stream shows.
const RECENT: usize = 40;

/// IDs compare as numbers (Snowflake, segments) or as their bytes (UUIDs' hex, which sorts the
/// same way).
fn order_key(id: &str) -> (usize, &str) {
    if id.contains('-') { (0, id) } else { (id.len(), id) }
}

impl IdsJudge {
    fn analyse(&self, sim: &Sim<IdProtocol>) -> Analysis {
        let mut a = Analysis::default();
        let mut seen: BTreeMap<&str, (NodeId, u64)> = BTreeMap::new();
        let mut last: BTreeMap<NodeId, &str> = BTreeMap::new();
        let name = |n: NodeId| sim.node_name(n).unwrap_or_default().to_owned();
        for o in sim.observations() {
            let t = o.time.as_micros();
            match &o.obs {
                IdObs::Minted { id, waited_us } => {
                    a.minted += 1;
                    *a.per_node.entry(name(o.node)).or_default() += 1;
                    if *waited_us > a.longest_wait.0 {
                        a.longest_wait = (*waited_us, t);
                    }
                    let again = if let Some((node, at)) = seen.get(id.as_str()) {
                        a.duplicates.push((id.clone(), (name(*node), *at), (name(o.node), t)));
                        true
                    } else {
                        seen.insert(id, (o.node, t));
                        false
                    };
                    if a.recent.len() == RECENT {
                        a.recent.pop_front();
                    }
                    a.recent.push_back((name(o.node), id.clone(), t, again));
                    if let Some(before) = last.insert(o.node, id)
                        && order_key(before) >= order_key(id)
                    {
                        a.out_of_order.push((name(o.node), before.to_owned(), id.clone(), t));
                    }
                }
                IdObs::Refused { why } => {
                    a.refused += 1;
                    if let Refusal::ClockBehind { behind_ms } = why {
                        a.behind_ms = a.behind_ms.max(*behind_ms);
                    }
                    match a.outages.last_mut() {
                        Some(o) if o.1 + 50_000 >= t => {
                            o.1 = t;
                            o.2 += 1;
                        }
                        _ => a.outages.push((t, t, 1)),
                    }
                }
                IdObs::Claimed { .. } => a.claims += 1,
                IdObs::Resumed { .. } => {
                    last.remove(&o.node);
                }
                IdObs::Worker { .. } => {}
            }
        }
        a
    }

    fn report(&self, a: &Analysis) -> serde_json::Value {
        let outage_us: u64 = a.outages.iter().map(|o| o.1 - o.0).sum();
        serde_json::json!({
            "minted": a.minted,
            "refused": a.refused,
            "duplicates": a.duplicates.len(),
            "out_of_order": a.out_of_order.len(),
            "longest_wait_ms": a.longest_wait.0 as f64 / 1_000.0,
            "outage_ms": outage_us / 1_000,
            "claims": a.claims,
            "per_node": a.per_node,
        })
    }
}

impl Judge<IdProtocol> for IdsJudge {
    fn verdicts(&self, sim: &Sim<IdProtocol>) -> Vec<Verdict> {
        let a = self.analyse(sim);
        let promise = |v: Verdict, p: &str| if self.cfg.promises(p) { v } else { v.unpromised() };
        let unique = match a.duplicates.first() {
            None => Verdict::holds("unique", msg!("ids.unique", minted = a.minted)),
            Some((id, (n1, t1), (n2, t2))) => Verdict::fails(
                "unique",
                msg!(
                    "ids.duplicate",
                    id = id.clone(),
                    first = n1.clone(),
                    first_at = SimTime::from_micros(*t1),
                    second = n2.clone(),
                    second_at = SimTime::from_micros(*t2),
                    count = a.duplicates.len()
                ),
            )
            .at(*t2),
        };
        let monotonic = match a.out_of_order.first() {
            None => Verdict::holds("monotonic", msg!("ids.monotonic")),
            Some((node, before, after, t)) => Verdict::fails(
                "monotonic",
                msg!(
                    "ids.out_of_order",
                    node = node.clone(),
                    before = before.clone(),
                    after = after.clone(),
                    at = SimTime::from_micros(*t),
                    count = a.out_of_order.len()
                ),
            )
            .at(*t),
        };
        let available = match a.outages.first() {
            None => Verdict::holds("available", msg!("ids.available", minted = a.minted)),
            Some((from, to, _)) => {
                let outage: u64 = a.outages.iter().map(|o| o.1 - o.0).sum();
                Verdict::fails(
                    "available",
                    msg!(
                        "ids.refused",
                        refused = a.refused,
                        requests = a.minted + a.refused,
                        from = SimTime::from_micros(*from),
                        to = SimTime::from_micros(*to),
                        outage = SimDuration::from_micros(outage),
                        behind = a.behind_ms
                    ),
                )
                .at(*from)
            }
        };
        let (wait, at) = a.longest_wait;
        let no_stall = if wait <= STALL_MAX.as_micros() {
            Verdict::holds(
                "no_stall",
                msg!("ids.no_stall", longest = SimDuration::from_micros(wait), bound = STALL_MAX),
            )
        } else {
            Verdict::fails(
                "no_stall",
                msg!(
                    "ids.stalled",
                    longest = SimDuration::from_micros(wait),
                    at = SimTime::from_micros(at),
                    bound = STALL_MAX
                ),
            )
            .at(at)
        };
        vec![
            promise(unique, "unique"),
            promise(monotonic, "monotonic"),
            promise(available, "available"),
            promise(no_stall, "no_stall"),
        ]
    }

    fn summary(&self, sim: &Sim<IdProtocol>) -> serde_json::Map<String, serde_json::Value> {
        match self.report(&self.analyse(sim)) {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    fn view(&self, sim: &Sim<IdProtocol>) -> serde_json::Value {
        let a = self.analyse(sim);
        serde_json::json!({
            "duplicates": a.duplicates.iter().take(50).collect::<Vec<_>>(),
            "out_of_order": a.out_of_order.iter().take(50).collect::<Vec<_>>(),
            "outages": a.outages,
            "recent": a.recent,
            "report": self.report(&a),
        })
    }
}
