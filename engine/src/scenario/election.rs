//! Scenario `election` (46.1.2): Raft-style leader election among N nodes under a seeded storm of
//! crashes (one node down at a time), partitions and pauses. Judged: at most one leader per term
//! (always promised), and a new leader within `failover_bound_ms` of every leader crash, promised
//! when neither partitions nor pauses can cut the surviving majority apart.

use crate::msg;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::NodeId;
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::coord::election::{ElectionConfig, ElectionNode, ElectionObs, ElectionProtocol};
use crate::sim::{Fault, Happened, LinkConfig, Ratio, Rng, Sim, SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ElectionScenarioConfig {
    pub nodes: u32,
    pub timeout_min_ms: u64,
    pub timeout_max_ms: u64,
    pub heartbeat_ms: u64,
    pub duration_ms: u64,
    pub loss_percent: u32,
    pub crashes: bool,
    pub partitions: bool,
    pub pauses: bool,
    pub failover_bound_ms: u64,
    /// `raft` (one durable vote per term) or `chapter` (grant every vote).
    pub votes: VoteRule,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteRule {
    Raft,
    Chapter,
}

impl Default for ElectionScenarioConfig {
    fn default() -> Self {
        ElectionScenarioConfig {
            nodes: 5,
            timeout_min_ms: 150,
            timeout_max_ms: 300,
            heartbeat_ms: 50,
            duration_ms: 60_000,
            loss_percent: 1,
            crashes: true,
            partitions: true,
            pauses: true,
            failover_bound_ms: 2_000,
            votes: VoteRule::Raft,
        }
    }
}

impl Knobs for ElectionScenarioConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("nodes", self.nodes, 1, 9)?;
        ConfigError::check_range("timeout_min_ms", self.timeout_min_ms, 1, 60_000)?;
        ConfigError::check_range("timeout_max_ms", self.timeout_max_ms, self.timeout_min_ms, 60_000)?;
        ConfigError::check_range("heartbeat_ms", self.heartbeat_ms, 1, self.timeout_min_ms)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1, 3_600_000)?;
        ConfigError::check_range("loss_percent", self.loss_percent, 0, 50)?;
        ConfigError::check_range("failover_bound_ms", self.failover_bound_ms, 1, 600_000)?;
        Ok(())
    }
}

impl ElectionScenarioConfig {
    /// Failover is promised when the survivors of a crash always form a connected majority.
    fn failover_promised(&self) -> bool {
        !self.partitions && !self.pauses && self.nodes >= 3
    }
}

fn name(i: u32) -> String {
    format!("n{i}")
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: ElectionScenarioConfig = setup.config()?;
    let mut sim = setup.sim(LinkConfig {
        latency_min_us: 1_000,
        latency_max_us: 10_000,
        loss: Ratio::percent(cfg.loss_percent),
        ..LinkConfig::default()
    });
    let election = ElectionConfig {
        timeout_min: SimDuration::from_millis(cfg.timeout_min_ms),
        timeout_max: SimDuration::from_millis(cfg.timeout_max_ms),
        heartbeat: SimDuration::from_millis(cfg.heartbeat_ms),
        grant_every_vote: cfg.votes == VoteRule::Chapter,
    };
    let ids: Vec<NodeId> = (0..cfg.nodes).map(NodeId).collect();
    for (i, id) in ids.iter().enumerate() {
        let peers: Vec<NodeId> = ids.iter().copied().filter(|p| p != id).collect();
        let node = name(u32::try_from(i).unwrap_or(0));
        sim.add_node(node, move |d| ElectionNode::new(election, peers.clone(), d))?;
    }
    let mut rng = Rng::new(setup.seed()).fork();
    for (at, fault) in storm(&cfg, &mut rng) {
        sim.schedule(at, fault);
    }
    let judge =
        ElectionJudge { bound: SimDuration::from_millis(cfg.failover_bound_ms), promised: cfg.failover_promised() };
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), judge)
}

/// A fault every 1–4 s over the first 90% of the run; at most one node down at a time.
fn storm(cfg: &ElectionScenarioConfig, rng: &mut Rng) -> Vec<(SimTime, Fault)> {
    let n = cfg.nodes;
    let kinds: Vec<u8> = [(cfg.crashes, 0), (cfg.partitions, 1), (cfg.pauses, 2)]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
        .collect();
    let end = cfg.duration_ms * 9 / 10;
    let mut out = Vec::new();
    let mut busy_until = 0u64;
    let mut t = rng.between(1_000, 4_000);
    while t < end && !kinds.is_empty() && n > 1 {
        let at = SimTime::from_millis(t);
        let victim = name(u32::try_from(rng.below(u64::from(n))).unwrap_or(0));
        match rng.pick(&kinds).copied().unwrap_or(0) {
            0 if busy_until <= t => {
                let back = t + rng.between(500, 3_000);
                busy_until = back;
                out.push((at, Fault::Crash { node: victim.clone() }));
                out.push((SimTime::from_millis(back), Fault::Restart { node: victim }));
            }
            1 => {
                let cut = rng.between(1, u64::from(n) - 1);
                let mut order: Vec<u32> = (0..n).collect();
                for i in (1..order.len()).rev() {
                    let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
                    order.swap(i, j);
                }
                let split = usize::try_from(cut).unwrap_or(1);
                let groups = vec![
                    order[..split].iter().map(|i| name(*i)).collect(),
                    order[split..].iter().map(|i| name(*i)).collect(),
                ];
                out.push((at, Fault::Partition { groups }));
                out.push((SimTime::from_millis(t + rng.between(500, 3_000)), Fault::Heal));
            }
            2 => out.push((at, Fault::Pause { node: victim, duration_us: rng.between(100, 1_000) * 1_000 })),
            _ => {}
        }
        t += rng.between(1_000, 4_000);
    }
    out
}

#[derive(Clone)]
struct ElectionJudge {
    bound: SimDuration,
    promised: bool,
}

/// A leader's crash and how long the cluster went without one.
struct Failover {
    crash: SimTime,
    next_leader: Option<SimTime>,
}

impl ElectionJudge {
    fn leaders_by_term(sim: &Sim<ElectionProtocol>) -> BTreeMap<u64, BTreeSet<NodeId>> {
        let mut by_term: BTreeMap<u64, BTreeSet<NodeId>> = BTreeMap::new();
        for o in sim.observations() {
            if let ElectionObs::Leader { term } = o.obs {
                by_term.entry(term).or_default().insert(o.node);
            }
        }
        by_term
    }

    /// The first term to get a second leader, and when it did: the moment safety broke.
    fn second_leader(sim: &Sim<ElectionProtocol>) -> Option<(u64, SimTime)> {
        let mut by_term: BTreeMap<u64, BTreeSet<NodeId>> = BTreeMap::new();
        sim.observations().iter().find_map(|o| match o.obs {
            ElectionObs::Leader { term } => {
                let leaders = by_term.entry(term).or_default();
                leaders.insert(o.node);
                (leaders.len() > 1).then_some((term, o.time))
            }
            _ => None,
        })
    }

    /// Crashes of the node that was leading at the time, with the next election after each.
    fn failovers(sim: &Sim<ElectionProtocol>) -> Vec<Failover> {
        let mut leader: Option<NodeId> = None;
        let mut out: Vec<Failover> = Vec::new();
        for happened in sim.observations_and_crashes() {
            match happened {
                Happened::Observed(o) => match o.obs {
                    ElectionObs::Leader { .. } => {
                        if let Some(f) = out.last_mut().filter(|f| f.next_leader.is_none()) {
                            f.next_leader = Some(o.time);
                        }
                        leader = Some(o.node);
                    }
                    ElectionObs::SteppedDown { .. } if leader == Some(o.node) => leader = None,
                    _ => {}
                },
                Happened::Crashed { node, time } if leader == Some(node) => {
                    leader = None;
                    out.push(Failover { crash: time, next_leader: None });
                }
                Happened::Crashed { .. } => {}
            }
        }
        out
    }
}

impl Judge<ElectionProtocol> for ElectionJudge {
    fn verdicts(&self, sim: &Sim<ElectionProtocol>) -> Vec<Verdict> {
        let names = |n: &NodeId| sim.node_name(*n).unwrap_or("?").to_owned();
        let by_term = Self::leaders_by_term(sim);
        let safety = match Self::second_leader(sim) {
            Some((term, at)) => Verdict::fails(
                "one_leader_per_term",
                msg!(
                    "election.two_leaders",
                    term = term,
                    count = by_term[&term].len(),
                    leaders = by_term[&term].iter().map(names).collect::<Vec<_>>().join(", ")
                ),
            )
            .at(at.as_micros()),
            None => Verdict::holds("one_leader_per_term", msg!("election.one_leader", terms = by_term.len())),
        };
        let failovers = Self::failovers(sim);
        let horizon = sim.now();
        let late = failovers.iter().find(|f| match f.next_leader {
            Some(t) => t.saturating_since(f.crash) > self.bound,
            None => horizon.saturating_since(f.crash) > self.bound,
        });
        let failover = match late {
            Some(f) => Verdict::fails(
                "failover",
                match f.next_leader {
                    None => msg!("election.no_successor", crash = f.crash, bound = self.bound),
                    Some(t) => msg!(
                        "election.slow_successor",
                        crash = f.crash,
                        took = t.saturating_since(f.crash),
                        bound = self.bound
                    ),
                },
            ),
            None => {
                let worst = failovers.iter().filter_map(|f| f.next_leader.map(|t| t.saturating_since(f.crash))).max();
                Verdict::holds(
                    "failover",
                    msg!(
                        "election.failed_over",
                        crashes = failovers.len(),
                        bound = self.bound,
                        slowest = worst.unwrap_or_default()
                    ),
                )
            }
        };
        vec![safety, if self.promised { failover } else { failover.unpromised() }]
    }

    fn summary(&self, sim: &Sim<ElectionProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let by_term = Self::leaders_by_term(sim);
        let mut times: Vec<u64> = Self::failovers(sim)
            .iter()
            .filter_map(|f| f.next_leader.map(|t| t.saturating_since(f.crash).as_millis()))
            .collect();
        times.sort_unstable();
        let elections = sim.observations().iter().filter(|o| matches!(o.obs, ElectionObs::Candidate { .. })).count();
        let mut s = serde_json::Map::new();
        s.insert("terms_with_a_leader".into(), by_term.len().into());
        s.insert("candidacies".into(), elections.into());
        s.insert("leader_crashes".into(), Self::failovers(sim).len().into());
        s.insert("failover_ms_median".into(), times.get(times.len() / 2).copied().into());
        s.insert("failover_ms_max".into(), times.last().copied().into());
        s
    }
}
