//! Scenario `failover` (the chapter's fifth learning goal, "故障转移"): an active–passive pair
//! (`node-a` primary, `node-b` standby) with heartbeats as leases (see
//! [`crate::resilience::failover`]), writers writing through
//! whichever is primary, and the storage the writes land in. At `incident_at_ms` the primary is
//! paused for `pause_ms` (a GC pause: it comes back believing it is still primary) or crashes.
//! `"story": "split-brain"` is the pause without fencing.
//!
//! Judged: `single_writer` (once a write of epoch e is stored, no write of an older epoch is
//! stored after it: at most one primary writes; promised with fencing, shown broken without it)
//! and `failover` (after the incident, a write is stored by the new primary within
//! [`FAILOVER_MAX`] past the lease).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::msg;
use crate::resilience::failover::{FailoverObs, FailoverProtocol, PairConfig, PairNode, Role, Storage, Writer};
use crate::sim::{Fault, LinkConfig, Sim, SimDuration, SimTime};

/// How long past the lease the standby may take to store its first write.
pub const FAILOVER_MAX: SimDuration = SimDuration::from_secs(1);

/// What happens to the primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryIncident {
    None,
    /// `Fault::Pause` for `pause_ms`.
    Pause,
    /// `Fault::Crash`, for good.
    Crash,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailoverConfig {
    pub writers: u32,
    pub write_every_ms: u64,
    pub timeout_ms: u64,
    pub heartbeat_ms: u64,
    pub lease_ms: u64,
    pub work_ms: u64,
    pub fencing: bool,
    pub incident: PrimaryIncident,
    pub incident_at_ms: u64,
    pub pause_ms: u64,
    pub duration_ms: u64,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        FailoverConfig {
            writers: 3,
            write_every_ms: 20,
            timeout_ms: 300,
            heartbeat_ms: 100,
            lease_ms: 1_000,
            work_ms: 20,
            fencing: true,
            incident: PrimaryIncident::Pause,
            incident_at_ms: 5_000,
            pause_ms: 3_000,
            duration_ms: 15_000,
        }
    }
}

impl Knobs for FailoverConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("writers", self.writers, 1, 16)?;
        ConfigError::check_range("write_every_ms", self.write_every_ms, 1, 60_000)?;
        ConfigError::check_range("timeout_ms", self.timeout_ms, 1, 60_000)?;
        ConfigError::check_range("heartbeat_ms", self.heartbeat_ms, 1, 60_000)?;
        ConfigError::check_range("lease_ms", self.lease_ms, self.heartbeat_ms + 1, 600_000)?;
        ConfigError::check_range("work_ms", self.work_ms, 0, 60_000)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1_000, 600_000)?;
        ConfigError::check_range("incident_at_ms", self.incident_at_ms, 0, self.duration_ms)?;
        ConfigError::check_range("pause_ms", self.pause_ms, 1, 600_000)?;
        Ok(())
    }
}

pub(super) fn build(mut setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let defaults = match setup.take("story") {
        None | Some(serde_json::Value::Null) => serde_json::json!({}),
        Some(v) if v == "split-brain" => serde_json::json!({ "fencing": false, "incident": "pause" }),
        Some(v) => {
            let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            return Err(ConfigError::out_of_range("story", value, "\"split-brain\"").into());
        }
    };
    let cfg: FailoverConfig = setup.config_over(defaults)?;
    let mut sim = setup.sim(LinkConfig { latency_min_us: 200, latency_max_us: 600, ..LinkConfig::default() });
    // Node ids in the order added: the pair, the storage, then the writers.
    let (a, b, storage) = (crate::actor::NodeId(0), crate::actor::NodeId(1), crate::actor::NodeId(2));
    let writers: Vec<crate::actor::NodeId> = (0..cfg.writers).map(|i| crate::actor::NodeId(3 + i)).collect();
    let pair = PairConfig {
        heartbeat: SimDuration::from_millis(cfg.heartbeat_ms),
        lease: SimDuration::from_millis(cfg.lease_ms),
        work: SimDuration::from_millis(cfg.work_ms),
    };
    let list = writers.clone();
    sim.add_node("node-a", move |_| PairNode::new(pair, Role::Primary, b, storage, list.clone()))?;
    let list = writers.clone();
    sim.add_node("node-b", move |_| PairNode::new(pair, Role::Standby, a, storage, list.clone()))?;
    let names: BTreeMap<_, _> = [(a, "node-a".to_owned()), (b, "node-b".to_owned())].into();
    let fencing = cfg.fencing;
    sim.add_node("storage", move |_| Storage::new(fencing, names.clone()))?;
    let until = SimDuration::from_millis(cfg.duration_ms);
    for i in 0..cfg.writers {
        let (every, timeout) = (SimDuration::from_millis(cfg.write_every_ms), SimDuration::from_millis(cfg.timeout_ms));
        let base = u64::from(i + 1) * 1_000_000_000;
        sim.add_node(format!("writer-{}", i + 1), move |_| Writer::new([a, b], every, timeout, until, base))?;
    }
    let at = SimTime::from_millis(cfg.incident_at_ms);
    match cfg.incident {
        PrimaryIncident::None => {}
        PrimaryIncident::Pause => {
            sim.schedule(at, Fault::Pause { node: "node-a".into(), duration_us: cfg.pause_ms * 1_000 });
        }
        PrimaryIncident::Crash => sim.schedule(at, Fault::Crash { node: "node-a".into() }),
    }
    let judge = FailoverJudge { cfg: cfg.clone() };
    setup.run(sim, SimTime::from_millis(cfg.duration_ms + 1_000), judge)
}

#[derive(Clone, Debug)]
struct FailoverJudge {
    cfg: FailoverConfig,
}

/// A write stored after a newer epoch's: (id, its epoch, the newer epoch, who stored it, when).
type Stale = (u64, u64, u64, String, u64);

#[derive(Debug, Default)]
struct Analysis {
    stored: u64,
    fenced: u64,
    acked: u64,
    /// Every write stored from a deposed epoch.
    stale: Vec<Stale>,
    /// When each epoch's first write was stored.
    first_stored: BTreeMap<u64, u64>,
    /// The longest stretch without an acknowledged write (µs), and when it began.
    gap: (u64, u64),
    promotions: Vec<(u64, u64, String)>,
}

impl FailoverJudge {
    fn analyse(&self, sim: &Sim<FailoverProtocol>) -> Analysis {
        let mut a = Analysis::default();
        let mut highest = 0u64;
        let mut last_ack = 0u64;
        for o in sim.observations() {
            let t = o.time.as_micros();
            match &o.obs {
                FailoverObs::Stored { id, epoch, primary } => {
                    a.stored += 1;
                    if *epoch < highest {
                        a.stale.push((*id, *epoch, highest, primary.clone(), t));
                    }
                    highest = highest.max(*epoch);
                    a.first_stored.entry(*epoch).or_insert(t);
                }
                FailoverObs::Fenced { .. } => a.fenced += 1,
                FailoverObs::Acked { .. } => {
                    a.acked += 1;
                    if t - last_ack > a.gap.0 {
                        a.gap = (t - last_ack, last_ack);
                    }
                    last_ack = t;
                }
                FailoverObs::Primary { epoch } => {
                    a.promotions.push((t, *epoch, sim.node_name(o.node).unwrap_or_default().to_owned()));
                }
                FailoverObs::SteppedDown { .. } | FailoverObs::Accepted { .. } => {}
            }
        }
        a
    }

    fn report(&self, a: &Analysis) -> serde_json::Value {
        serde_json::json!({
            "stored": a.stored,
            "acked": a.acked,
            "fenced": a.fenced,
            "stale_stored": a.stale.len(),
            "longest_gap_ms": a.gap.0 / 1_000,
            "promotions": a.promotions.len().saturating_sub(1),
        })
    }
}

impl Judge<FailoverProtocol> for FailoverJudge {
    fn verdicts(&self, sim: &Sim<FailoverProtocol>) -> Vec<Verdict> {
        let a = self.analyse(sim);
        let mut out = Vec::new();
        let v = match a.stale.first() {
            None => Verdict::holds("single_writer", msg!("failover.single", stored = a.stored, fenced = a.fenced)),
            Some((id, epoch, newer, primary, at)) => Verdict::fails(
                "single_writer",
                msg!(
                    "failover.split",
                    primary = primary.clone(),
                    id = *id,
                    epoch = *epoch,
                    newer = *newer,
                    at = SimTime::from_micros(*at),
                    stale = a.stale.len()
                ),
            )
            .at(*at),
        };
        out.push(if self.cfg.fencing { v } else { v.unpromised() });
        if self.cfg.incident != PrimaryIncident::None {
            let incident = self.cfg.incident_at_ms * 1_000;
            let bound = SimDuration::from_millis(self.cfg.lease_ms) + FAILOVER_MAX;
            let deadline = incident + bound.as_micros();
            out.push(match a.first_stored.range(2..).next() {
                Some((_, t)) if *t <= deadline => Verdict::holds(
                    "failover",
                    msg!(
                        "failover.took_over",
                        after = SimDuration::from_micros(t.saturating_sub(incident)),
                        bound = bound
                    ),
                ),
                Some((_, t)) => Verdict::fails(
                    "failover",
                    msg!("failover.slow", after = SimDuration::from_micros(t.saturating_sub(incident)), bound = bound),
                ),
                None if sim.now().as_micros() <= deadline => {
                    Verdict::holds("failover", msg!("failover.waiting", bound = bound))
                }
                None => Verdict::fails("failover", msg!("failover.none", bound = bound)),
            });
        }
        out
    }

    fn summary(&self, sim: &Sim<FailoverProtocol>) -> serde_json::Map<String, serde_json::Value> {
        match self.report(&self.analyse(sim)) {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    fn view(&self, sim: &Sim<FailoverProtocol>) -> serde_json::Value {
        let a = self.analyse(sim);
        serde_json::json!({
            "promotions": a.promotions,
            "stale": a.stale,
            "report": self.report(&a),
        })
    }
}
