//! Scenario `pn-counter` (46.1): a PN-Counter replicated over N nodes, under a seeded storm of
//! partitions, crashes, pauses, loss, duplication, reordering and clock skew. When the storm
//! ends every link heals and every crashed replica restarts; the convergence checker then demands
//! that all replicas hold the exact sum of every update ever applied.

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::NodeId;
use crate::check::{Verdict, convergence};
use crate::config::{ConfigError, Knobs};
use crate::replication::counter::{CounterObs, CounterProtocol, CounterReplica, MergeRule, ReplicaConfig};
use crate::sim::{Fault, LinkConfig, Ratio, Rng, Sim, SimDuration, SimTime};

/// The scenario's knobs; every field has a default, and unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PnCounterConfig {
    /// Number of replicas, 2..=7.
    pub replicas: u32,
    pub merge: MergeRule,
    pub gossip_interval_ms: u64,
    /// Longest wait between two local updates at one replica.
    pub workload_interval_ms: u64,
    /// Largest absolute delta of one update.
    pub delta_max: i64,
    /// Faults and updates happen during the first `chaos_ms`; then everything heals.
    pub chaos_ms: u64,
    /// How long the run goes on after the chaos, for the replicas to converge.
    pub settle_ms: u64,
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    pub loss_percent: u32,
    pub duplicate_percent: u32,
    pub reorder_percent: u32,
    pub partitions: bool,
    pub crashes: bool,
    pub pauses: bool,
    /// Give each replica a random clock skew of up to ±100 ms (a CRDT needs no clock).
    pub clock_skew: bool,
}

impl Default for PnCounterConfig {
    fn default() -> Self {
        PnCounterConfig {
            replicas: 3,
            merge: MergeRule::Crdt,
            gossip_interval_ms: 100,
            workload_interval_ms: 50,
            delta_max: 5,
            chaos_ms: 5_000,
            settle_ms: 5_000,
            latency_min_ms: 1,
            latency_max_ms: 10,
            loss_percent: 5,
            duplicate_percent: 2,
            reorder_percent: 5,
            partitions: true,
            crashes: true,
            pauses: true,
            clock_skew: true,
        }
    }
}

impl Knobs for PnCounterConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("replicas", self.replicas, 2, 7)?;
        ConfigError::check_range("gossip_interval_ms", self.gossip_interval_ms, 1, 60_000)?;
        ConfigError::check_range("workload_interval_ms", self.workload_interval_ms, 1, 60_000)?;
        ConfigError::check_range("delta_max", self.delta_max, 1, 1_000_000)?;
        ConfigError::check_range("chaos_ms", self.chaos_ms, 0, 3_600_000)?;
        ConfigError::check_range("settle_ms", self.settle_ms, 0, 3_600_000)?;
        ConfigError::check_range("latency_max_ms", self.latency_max_ms, 0, 60_000)?;
        ConfigError::check_range("latency_min_ms", self.latency_min_ms, 0, self.latency_max_ms)?;
        ConfigError::check_range("loss_percent", self.loss_percent, 0, 90)?;
        ConfigError::check_range("duplicate_percent", self.duplicate_percent, 0, 90)?;
        ConfigError::check_range("reorder_percent", self.reorder_percent, 0, 90)?;
        Ok(())
    }
}

impl PnCounterConfig {
    fn link(&self) -> LinkConfig {
        LinkConfig {
            latency_min_us: self.latency_min_ms * 1_000,
            latency_max_us: self.latency_max_ms * 1_000,
            loss: Ratio::percent(self.loss_percent),
            duplicate: Ratio::percent(self.duplicate_percent),
            reorder: Ratio::percent(self.reorder_percent),
            reorder_delay_max_us: (self.latency_max_ms * 1_000).max(1_000) * 3,
        }
    }

    fn chaos_end(&self) -> SimTime {
        SimTime::from_millis(self.chaos_ms)
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: PnCounterConfig = setup.config()?;
    let mut sim = setup.sim(cfg.link());
    let n = usize::try_from(cfg.replicas).unwrap_or(3);
    let ids: Vec<NodeId> = (0..cfg.replicas).map(NodeId).collect();
    let replica_config = ReplicaConfig {
        gossip_interval: SimDuration::from_millis(cfg.gossip_interval_ms),
        workload_interval_max: SimDuration::from_millis(cfg.workload_interval_ms),
        workload_until: cfg.chaos_end(),
        delta_max: cfg.delta_max,
        merge: cfg.merge,
    };
    for (i, id) in ids.iter().enumerate() {
        let peers: Vec<NodeId> = ids.iter().copied().filter(|p| p != id).collect();
        let rc = replica_config.clone();
        sim.add_node(name(i), move |own| CounterReplica::new(i, n, peers.clone(), rc.clone(), own))?;
    }
    let mut fault_rng = Rng::new(setup.seed()).fork();
    for (at, fault) in fault_schedule(&cfg, &mut fault_rng) {
        sim.schedule(at, fault);
    }
    let default_until = cfg.chaos_end() + SimDuration::from_millis(cfg.settle_ms);
    let judge = CounterJudge { replicas: ids, chaos_end: cfg.chaos_end(), merge: cfg.merge };
    setup.run(sim, default_until, judge)
}

fn name(i: usize) -> String {
    format!("r{i}")
}

/// A seeded storm: one fault every 100–700 ms until the chaos ends, each lasting 100–1500 ms (cut
/// short at the end), then a heal. Crashes and pauses only hit replicas that are up.
fn fault_schedule(cfg: &PnCounterConfig, rng: &mut Rng) -> Vec<(SimTime, Fault)> {
    let n = usize::try_from(cfg.replicas).unwrap_or(0);
    let end = cfg.chaos_end();
    let mut out = Vec::new();
    if cfg.clock_skew {
        for i in 0..n {
            out.push((
                SimTime::ZERO,
                Fault::ClockSkew { node: name(i), offset_us: rng.between_i64(-100_000, 100_000) },
            ));
        }
    }
    let kinds: Vec<u8> = [(cfg.partitions, 0), (cfg.crashes, 1), (cfg.pauses, 2)]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
        .collect();
    let mut down_until = vec![SimTime::ZERO; n];
    let mut t = SimTime::from_millis(rng.between(100, 500));
    while t < end && !kinds.is_empty() {
        let stop = (t + SimDuration::from_millis(rng.between(100, 1_500))).min(end);
        let up: Vec<usize> = (0..n).filter(|i| down_until[*i] <= t).collect();
        match rng.pick(&kinds) {
            Some(0) => {
                let mut order: Vec<usize> = (0..n).collect();
                for i in (1..order.len()).rev() {
                    let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
                    order.swap(i, j);
                }
                let cut = usize::try_from(rng.between(1, n as u64 - 1)).unwrap_or(1);
                let groups = vec![
                    order[..cut].iter().map(|i| name(*i)).collect(),
                    order[cut..].iter().map(|i| name(*i)).collect(),
                ];
                out.push((t, Fault::Partition { groups }));
                out.push((stop, Fault::Heal));
            }
            Some(1) => {
                if let Some(&victim) = rng.pick(&up) {
                    down_until[victim] = stop;
                    out.push((t, Fault::Crash { node: name(victim) }));
                    out.push((stop, Fault::Restart { node: name(victim) }));
                }
            }
            _ => {
                if let Some(&victim) = rng.pick(&up) {
                    let duration_us = stop.saturating_since(t).as_micros().max(1);
                    out.push((t, Fault::Pause { node: name(victim), duration_us }));
                }
            }
        }
        t = t + SimDuration::from_millis(rng.between(100, 700));
    }
    out.push((end, Fault::Heal));
    out
}

#[derive(Clone)]
struct CounterJudge {
    replicas: Vec<NodeId>,
    chaos_end: SimTime,
    merge: MergeRule,
}

impl CounterJudge {
    fn convergence(&self, sim: &Sim<CounterProtocol>) -> convergence::Convergence {
        let obs = sim.observations();
        let applied = obs.iter().filter_map(|o| match o.obs {
            CounterObs::Applied { delta } => Some((o.time, delta)),
            CounterObs::Value { .. } => None,
        });
        let (expected, last_update) =
            applied.fold((0i64, SimTime::ZERO), |(sum, _), (t, d)| (sum.saturating_add(d), t));
        let reports = obs.iter().filter_map(|o| match o.obs {
            CounterObs::Value { value } => Some((o.time, o.node, value)),
            CounterObs::Applied { .. } => None,
        });
        convergence::check(&self.replicas, expected, last_update.max(self.chaos_end), reports)
    }
}

impl Judge<CounterProtocol> for CounterJudge {
    fn verdicts(&self, sim: &Sim<CounterProtocol>) -> Vec<Verdict> {
        let names = |n: NodeId| sim.node_name(n).unwrap_or("?").to_owned();
        vec![self.convergence(sim).verdict(sim.now(), names)]
    }

    fn summary(&self, sim: &Sim<CounterProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let c = self.convergence(sim);
        let updates = sim.observations().iter().filter(|o| matches!(o.obs, CounterObs::Applied { .. })).count();
        let faults = sim.faults_applied();
        let finals: serde_json::Map<String, serde_json::Value> =
            c.final_values.iter().map(|(n, v)| (sim.node_name(*n).unwrap_or("?").to_owned(), (*v).into())).collect();
        let mut s = serde_json::Map::new();
        s.insert("merge".into(), serde_json::to_value(self.merge).unwrap_or_default());
        s.insert("updates_applied".into(), updates.into());
        s.insert("expected_total".into(), c.expected.into());
        s.insert("final_values".into(), finals.into());
        s.insert("faults_applied".into(), faults.into());
        s.insert("convergence_ms".into(), c.convergence_time.map(|d| d.as_millis()).into());
        s
    }
}
