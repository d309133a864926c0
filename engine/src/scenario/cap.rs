//! Scenario `cap` (46.1): the replicated store of [`crate::replication::cap`] under a partition,
//! with clients on both sides, judged by the checker its consistency level promises.
//!
//! Replicas `r0`…, clients `c0`… (client i lives beside replica i mod N and is partitioned with
//! it). The partition (`partition`) starts at `partition_at_ms` and heals at `heal_at_ms`:
//! `majority-minority` (the last ⌊(N−1)/2⌋ replicas on their own), `isolate-one` (the last
//! replica alone), `bridge` (two halves that only the middle replica reaches), `storm` (random
//! splits and heals, and crashes when `crashes` is on), or `none`.
//!
//! Promises: `strong` is linearizable; `eventual` answers every request that reaches a replica,
//! on both sides, and converges within `convergence_bound_ms` of the heal; `causal` is causally
//! consistent and converges too. `quorum` promises nothing: the lab shows that it is not
//! linearizable.

use crate::msg;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::NodeId;
use crate::check::linearizability::{self, Budget, KvOp, Operation, Outcome};
use crate::check::{Arg, Mark, Message, Status, Verdict, causal};
use crate::config::{ConfigError, Knobs};
use crate::replication::cap::{
    CapClient, CapConfig, CapObs, CapProtocol, ClientConfig, ClientOp, Consistency, OpResult, Replica,
};
use crate::sim::{Fault, LinkConfig, Ratio, Rng, Sim, SimDuration, SimTime, TraceKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionPreset {
    None,
    MajorityMinority,
    IsolateOne,
    Bridge,
    Storm,
}

/// The chapter's `DistributedConfig` (`replication_factor`, `read_quorum`, `write_quorum`,
/// `consistency_level`) plus the workload and the faults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapScenarioConfig {
    pub replicas: u32,
    pub read_quorum: u32,
    pub write_quorum: u32,
    pub consistency: Consistency,
    pub lww: bool,
    pub clients: u32,
    pub keys: u32,
    pub op_interval_ms: u64,
    pub write_percent: u32,
    /// Of the writes, the share that are compare-and-set (never promised linearizable).
    pub cas_percent: u32,
    pub timeout_ms: u64,
    pub client_timeout_ms: u64,
    pub anti_entropy_ms: u64,
    pub partition: PartitionPreset,
    pub partition_at_ms: u64,
    pub heal_at_ms: u64,
    pub duration_ms: u64,
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    pub loss_percent: u32,
    pub duplicate_percent: u32,
    /// Messages held back (and overtaken) on a link; links are otherwise FIFO.
    pub reorder_percent: u32,
    pub crashes: bool,
    pub convergence_bound_ms: u64,
    /// The clients stop this long before the end, so that the replicas can be seen converging.
    pub quiet_ms: u64,
}

impl Default for CapScenarioConfig {
    fn default() -> Self {
        CapScenarioConfig {
            replicas: 3,
            read_quorum: 2,
            write_quorum: 2,
            consistency: Consistency::Strong,
            lww: false,
            clients: 3,
            keys: 2,
            op_interval_ms: 50,
            write_percent: 50,
            cas_percent: 0,
            timeout_ms: 300,
            client_timeout_ms: 1_000,
            anti_entropy_ms: 200,
            partition: PartitionPreset::MajorityMinority,
            partition_at_ms: 2_000,
            heal_at_ms: 6_000,
            duration_ms: 10_000,
            latency_min_ms: 1,
            latency_max_ms: 10,
            loss_percent: 1,
            duplicate_percent: 1,
            reorder_percent: 5,
            crashes: false,
            convergence_bound_ms: 2_000,
            quiet_ms: 3_000,
        }
    }
}

impl Knobs for CapScenarioConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("replicas", self.replicas, 1, 7)?;
        let quorum = |field: &str, v: u32| {
            if (1..=self.replicas).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::out_of_range(field, v, format!("1..={} (the number of replicas)", self.replicas)))
            }
        };
        quorum("read_quorum", self.read_quorum)?;
        quorum("write_quorum", self.write_quorum)?;
        ConfigError::check_range("clients", self.clients, 1, 20)?;
        ConfigError::check_range("keys", self.keys, 1, 26)?;
        ConfigError::check_range("op_interval_ms", self.op_interval_ms, 1, 60_000)?;
        ConfigError::check_range("write_percent", self.write_percent, 0, 100)?;
        ConfigError::check_range("cas_percent", self.cas_percent, 0, 100)?;
        ConfigError::check_range("timeout_ms", self.timeout_ms, 1, 60_000)?;
        ConfigError::check_range("client_timeout_ms", self.client_timeout_ms, 1, 600_000)?;
        ConfigError::check_range("anti_entropy_ms", self.anti_entropy_ms, 1, 60_000)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1, 3_600_000)?;
        ConfigError::check_range("partition_at_ms", self.partition_at_ms, 0, self.duration_ms)?;
        ConfigError::check_range("heal_at_ms", self.heal_at_ms, self.partition_at_ms, self.duration_ms)?;
        ConfigError::check_range("latency_min_ms", self.latency_min_ms, 0, 10_000)?;
        ConfigError::check_range("latency_max_ms", self.latency_max_ms, self.latency_min_ms, 10_000)?;
        ConfigError::check_range("loss_percent", self.loss_percent, 0, 50)?;
        ConfigError::check_range("duplicate_percent", self.duplicate_percent, 0, 50)?;
        ConfigError::check_range("reorder_percent", self.reorder_percent, 0, 50)?;
        ConfigError::check_range("convergence_bound_ms", self.convergence_bound_ms, 1, 600_000)?;
        ConfigError::check_range("quiet_ms", self.quiet_ms, 0, self.duration_ms)?;
        // The checkers hold the whole history: keep it to what they (and a page) can handle.
        let operations = u64::from(self.clients) * self.duration_ms / self.op_interval_ms;
        if operations > OPERATIONS_MAX {
            return Err(ConfigError::out_of_range(
                "duration_ms",
                self.duration_ms,
                format!("at most {OPERATIONS_MAX} × op_interval_ms / clients ({operations} operations asked for)"),
            ));
        }
        Ok(())
    }
}

impl CapScenarioConfig {
    /// The two sides of the partition, by replica index (the bridge replica is on both).
    fn sides(&self) -> Option<(Vec<u32>, Vec<u32>)> {
        let n = self.replicas;
        let minority = match self.partition {
            PartitionPreset::None | PartitionPreset::Storm => return None,
            _ if n < 2 => return None,
            PartitionPreset::MajorityMinority => ((n - 1) / 2).max(1),
            PartitionPreset::IsolateOne => 1,
            PartitionPreset::Bridge => {
                if n < 3 {
                    return None;
                }
                let mid = n / 2;
                return Some(((0..=mid).collect(), (mid..n).collect()));
            }
        };
        Some(((0..n - minority).collect(), (n - minority..n).collect()))
    }

    fn workload_end(&self) -> SimTime {
        SimTime::from_millis(self.duration_ms - self.quiet_ms)
    }

    /// Convergence is timed from the heal or the last operation, whichever is later.
    fn settle_from(&self) -> SimTime {
        SimTime::from_millis(self.heal_at_ms).max(self.workload_end())
    }

    fn client_home(&self, client: u32) -> u32 {
        client % self.replicas
    }
}

/// The most operations a run may plan (clients × duration / interval).
const OPERATIONS_MAX: u64 = 200_000;

fn replica_name(i: u32) -> String {
    format!("r{i}")
}

fn client_name(i: u32) -> String {
    format!("c{i}")
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: CapScenarioConfig = setup.config()?;
    let mut sim = setup.sim(LinkConfig {
        latency_min_us: cfg.latency_min_ms * 1_000,
        latency_max_us: cfg.latency_max_ms * 1_000,
        loss: Ratio::percent(cfg.loss_percent),
        duplicate: Ratio::percent(cfg.duplicate_percent),
        reorder: Ratio::percent(cfg.reorder_percent),
        reorder_delay_max_us: cfg.latency_max_ms * 3_000,
    });
    let store = CapConfig {
        consistency: cfg.consistency,
        replicas: (0..cfg.replicas).map(NodeId).collect(),
        read_quorum: usize::try_from(cfg.read_quorum).unwrap_or(1),
        write_quorum: usize::try_from(cfg.write_quorum).unwrap_or(1),
        lww: cfg.lww,
        timeout: SimDuration::from_millis(cfg.timeout_ms),
        anti_entropy: SimDuration::from_millis(cfg.anti_entropy_ms),
    };
    for i in 0..cfg.replicas {
        let store = store.clone();
        let index = usize::try_from(i).unwrap_or(0);
        sim.add_node(replica_name(i), move |d| Replica::new(store.clone(), index, d))?;
    }
    let keys: Vec<String> =
        (0..cfg.keys).map(|k| char::from(b'a' + u8::try_from(k).unwrap_or(0)).to_string()).collect();
    for c in 0..cfg.clients {
        let client = ClientConfig {
            home: usize::try_from(cfg.client_home(c)).unwrap_or(0),
            keys: keys.clone(),
            interval: SimDuration::from_millis(cfg.op_interval_ms),
            write_percent: cfg.write_percent,
            cas_percent: cfg.cas_percent,
            timeout: SimDuration::from_millis(cfg.client_timeout_ms),
            retry: SimDuration::from_millis((cfg.client_timeout_ms / 5).max(1)),
            stop_at: cfg.workload_end(),
        };
        let store = store.clone();
        sim.add_node(client_name(c), move |_| CapClient::new(store.clone(), client.clone()))?;
    }
    let mut rng = Rng::new(setup.seed()).fork();
    for (at, fault) in faults(&cfg, &mut rng) {
        sim.schedule(at, fault);
    }
    let judge = CapJudge { cfg: cfg.clone() };
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), judge)
}

/// The nodes of one side: its replicas and the clients that live beside them.
fn members(cfg: &CapScenarioConfig, replicas: &[u32]) -> Vec<String> {
    let mut out: Vec<String> = replicas.iter().map(|r| replica_name(*r)).collect();
    out.extend((0..cfg.clients).filter(|c| replicas.contains(&cfg.client_home(*c))).map(client_name));
    out
}

fn faults(cfg: &CapScenarioConfig, rng: &mut Rng) -> Vec<(SimTime, Fault)> {
    let (start, heal) = (SimTime::from_millis(cfg.partition_at_ms), SimTime::from_millis(cfg.heal_at_ms));
    let mut out = Vec::new();
    if let Some((a, b)) = cfg.sides() {
        let shared: Vec<u32> = a.iter().copied().filter(|r| b.contains(r)).collect();
        if shared.is_empty() {
            out.push((start, Fault::Partition { groups: vec![members(cfg, &a), members(cfg, &b)] }));
        } else {
            // A bridge: cut every link between the two sides except through the shared replica.
            let only = |side: &[u32]| side.iter().copied().filter(|r| !shared.contains(r)).collect::<Vec<_>>();
            for x in members(cfg, &only(&a)) {
                for y in members(cfg, &only(&b)) {
                    out.push((start, Fault::Cut { from: x.clone(), to: y.clone() }));
                    out.push((start, Fault::Cut { from: y.clone(), to: x.clone() }));
                }
            }
        }
        out.push((heal, Fault::Heal));
    } else if cfg.partition == PartitionPreset::Storm && cfg.replicas >= 2 {
        let mut t = cfg.partition_at_ms;
        while t < cfg.heal_at_ms {
            let mut shuffled: Vec<u32> = (0..cfg.replicas).collect();
            for i in (1..shuffled.len()).rev() {
                let j = usize::try_from(rng.below(u64::try_from(i + 1).unwrap_or(1))).unwrap_or(0);
                shuffled.swap(i, j);
            }
            let split = usize::try_from(rng.between(1, u64::from(cfg.replicas - 1))).unwrap_or(1);
            let (a, b) = shuffled.split_at(split);
            out.push((SimTime::from_millis(t), Fault::Partition { groups: vec![members(cfg, a), members(cfg, b)] }));
            t += rng.between(300, 1_500);
            out.push((SimTime::from_millis(t.min(cfg.heal_at_ms)), Fault::Heal));
            t += rng.between(100, 800);
        }
        out.push((heal, Fault::Heal));
    }
    if cfg.crashes {
        let mut t = cfg.partition_at_ms + rng.between(0, 1_000);
        while t < cfg.heal_at_ms {
            let node = replica_name(u32::try_from(rng.below(u64::from(cfg.replicas))).unwrap_or(0));
            let back = (t + rng.between(200, 1_500)).min(cfg.heal_at_ms);
            out.push((SimTime::from_millis(t), Fault::Crash { node: node.clone() }));
            out.push((SimTime::from_millis(back), Fault::Restart { node }));
            t = back + rng.between(300, 1_500);
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// One client operation as the judge sees it.
#[derive(Clone, Debug)]
struct Op {
    client: NodeId,
    /// The replica the client sent it to.
    replica: NodeId,
    call: SimTime,
    ret: Option<SimTime>,
    op: ClientOp,
    result: Option<OpResult>,
}

#[derive(Clone)]
struct CapJudge {
    cfg: CapScenarioConfig,
}

/// The register history of a `cap` run, from its trace: what the checkers judge, and what the
/// page draws (and `distlab check linearizability` reads, once saved as JSON).
pub fn history(run: &dyn ScenarioRun) -> Vec<Operation> {
    let observed = run.trace().records().iter().filter_map(|r| match &r.kind {
        TraceKind::Observe { node, obs } => obs.parse::<CapObs>().ok().map(|o| (r.time, *node, o)),
        _ => None,
    });
    CapJudge::history(&CapJudge::ops_from(observed))
}

/// One client operation as the page draws it: a bar from `call` to `ret` (µs) on its client's
/// lane; `ret` is `None` while pending or after the client gave up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpView {
    pub client: String,
    pub call: u64,
    pub ret: Option<u64>,
    pub op: ClientOp,
    pub result: Option<OpResult>,
    /// A read that returned a value already overwritten before it began.
    pub stale: bool,
}

impl CapJudge {
    /// Every client operation so far, as the history timeline draws it.
    fn operations(sim: &Sim<CapProtocol>) -> Vec<OpView> {
        let ops = Self::ops(sim);
        ops.iter()
            .map(|o| OpView {
                client: sim.node_name(o.client).unwrap_or("?").to_owned(),
                call: o.call.as_micros(),
                ret: o.ret.map(SimTime::as_micros),
                op: o.op.clone(),
                result: o.result.clone(),
                stale: CapJudge::is_stale(&ops, o),
            })
            .collect()
    }
}

impl CapJudge {
    fn ops(sim: &Sim<CapProtocol>) -> Vec<Op> {
        Self::ops_from(sim.observations().iter().map(|o| (o.time, o.node, o.obs.clone())))
    }

    fn ops_from(observed: impl Iterator<Item = (SimTime, NodeId, CapObs)>) -> Vec<Op> {
        let mut open: BTreeMap<(NodeId, u64), usize> = BTreeMap::new();
        let mut ops = Vec::new();
        for (time, node, obs) in observed {
            match obs {
                CapObs::Invoked { req, op, replica } => {
                    open.insert((node, req), ops.len());
                    ops.push(Op { client: node, replica, call: time, ret: None, op, result: None });
                }
                CapObs::Completed { req, result } => {
                    if let Some(i) = open.remove(&(node, req)) {
                        ops[i].ret = Some(time);
                        ops[i].result = Some(result);
                    }
                }
                CapObs::TimedOut { req } => {
                    open.remove(&(node, req));
                }
                CapObs::State { .. } | CapObs::LostWrite { .. } => {}
            }
        }
        ops
    }

    /// The register history the checkers read: writes whatever their outcome (unknown unless
    /// acknowledged), reads that returned a value.
    fn history(ops: &[Op]) -> Vec<Operation> {
        let mut history = Vec::new();
        for o in ops {
            let known = |ret: Option<SimTime>| ret.map(SimTime::as_micros);
            let entry = match (&o.op, &o.result) {
                (ClientOp::Put { key, value }, Some(OpResult::Ok)) => {
                    Some((key, KvOp::Put { value: value.clone() }, known(o.ret)))
                }
                (ClientOp::Put { .. }, Some(OpResult::Rejected)) => None, // it did not happen
                (ClientOp::Put { key, value }, _) => Some((key, KvOp::Put { value: value.clone() }, None)),
                (ClientOp::Cas { .. }, Some(OpResult::Rejected)) => None,
                (ClientOp::Cas { key, expected, value }, result) => {
                    let output = match result {
                        Some(OpResult::Swapped { ok }) => Some(*ok),
                        _ => None,
                    };
                    let ret = if output.is_some() { known(o.ret) } else { None };
                    Some((key, KvOp::Cas { expected: expected.clone(), value: value.clone(), output }, ret))
                }
                (ClientOp::Get { key }, Some(OpResult::Value { value })) => {
                    Some((key, KvOp::Get { output: value.clone() }, known(o.ret)))
                }
                _ => None,
            };
            if let Some((key, op, ret)) = entry {
                history.push(Operation {
                    client: u64::from(o.client.0),
                    call: o.call.as_micros(),
                    ret,
                    key: key.clone(),
                    op,
                });
            }
        }
        history
    }

    fn answered(o: &Op) -> bool {
        o.result.as_ref().is_some_and(|r| !matches!(r, OpResult::Unavailable | OpResult::Rejected))
    }

    /// Availability of the operations invoked while partitioned, on each side (labelled as
    /// the summary's keys are; [`side_count`] words them).
    fn availability(&self, sim: &Sim<CapProtocol>, ops: &[Op]) -> Vec<(String, usize, usize)> {
        // Operations that began and had to end inside the partition (answer or client timeout).
        let from = SimTime::from_millis(self.cfg.partition_at_ms);
        let to = SimTime::from_millis(self.cfg.heal_at_ms.saturating_sub(self.cfg.client_timeout_ms));
        let side_of_replica = |r: u32| -> Option<usize> {
            let (a, b) = self.cfg.sides()?;
            Some(match (a.contains(&r), b.contains(&r)) {
                (true, false) => 0,
                (false, true) => 1,
                _ => 2,
            })
        };
        let side_of = |client: NodeId| -> Option<usize> {
            let c: u32 = sim.node_name(client)?.trim_start_matches('c').parse().ok()?;
            side_of_replica(self.cfg.client_home(c))
        };
        // Availability is about the replicas a request can reach: one sent (after a failover)
        // to a replica across the partition says nothing about the system's choice.
        let reachable = |o: &Op| {
            let (client, replica) = (side_of(o.client), side_of_replica(o.replica.0));
            client == replica || client == Some(2) || replica == Some(2)
        };
        let during: Vec<&Op> = ops.iter().filter(|o| o.call >= from && o.call < to && reachable(o)).collect();
        let labels = ["majority", "minority", "bridge"];
        let mut out = Vec::new();
        let sides: BTreeSet<Option<usize>> = during.iter().map(|o| side_of(o.client)).collect();
        for side in sides {
            let mine: Vec<&&Op> = during.iter().filter(|o| side_of(o.client) == side).collect();
            let label = match (side, self.cfg.partition) {
                (Some(s), PartitionPreset::Bridge) => ["side A", "side B", "bridge"][s].to_owned(),
                (Some(s), _) => labels[s].to_owned(),
                (None, _) => "all".to_owned(),
            };
            out.push((label, mine.iter().filter(|o| Self::answered(o)).count(), mine.len()));
        }
        out
    }

    /// Reads that returned a value already overwritten before they began: w1's value, although
    /// a write invoked after w1 completed had itself completed before the read was invoked.
    fn stale_reads(ops: &[Op]) -> usize {
        ops.iter().filter(|r| Self::is_stale(ops, r)).count()
    }

    /// The (key, value) a write acknowledged as done wrote.
    fn wrote(o: &Op) -> Option<(&str, &str)> {
        match (&o.op, &o.result) {
            (ClientOp::Put { key, value }, Some(OpResult::Ok))
            | (ClientOp::Cas { key, value, .. }, Some(OpResult::Swapped { ok: true })) => Some((key, value)),
            _ => None,
        }
    }

    fn is_stale(ops: &[Op], r: &Op) -> bool {
        {
            let (ClientOp::Get { key }, Some(_)) = (&r.op, r.ret) else { return false };
            let seen: Vec<&str> = match &r.result {
                Some(OpResult::Value { value: Some(v) }) => vec![v.as_str()],
                Some(OpResult::Values { values }) => values.iter().map(String::as_str).collect(),
                Some(OpResult::Value { value: None }) => Vec::new(),
                _ => return false,
            };
            let completed =
                |w: &&Op| Self::wrote(w).is_some_and(|(k, _)| k == key) && w.ret.is_some_and(|t| t < r.call);
            let overwritten = seen.iter().all(|v| {
                ops.iter().filter(completed).any(|w1| {
                    Self::wrote(w1).is_some_and(|(_, value)| value == *v)
                        && ops.iter().filter(completed).any(|w2| w1.ret.is_some_and(|t| w2.call > t))
                })
            });
            if seen.is_empty() {
                // Nothing, although a write of this key had completed before the read began.
                return ops.iter().any(|w| completed(&w));
            }
            overwritten
        }
    }

    /// When the replicas' data last became (and stayed) equal, if it is equal at the end.
    fn converged_at(sim: &Sim<CapProtocol>, replicas: u32) -> Option<SimTime> {
        let mut latest: BTreeMap<NodeId, &str> = BTreeMap::new();
        let mut since: Option<SimTime> = None;
        for o in sim.observations() {
            if let CapObs::State { digest } = &o.obs
                && o.node.0 < replicas
            {
                latest.insert(o.node, digest.as_str());
                let equal = latest.len() == usize::try_from(replicas).unwrap_or(0)
                    && latest.values().collect::<BTreeSet<_>>().len() == 1;
                since = match (equal, since) {
                    (true, None) => Some(o.time),
                    (true, s) => s,
                    (false, _) => None,
                };
            }
        }
        since
    }
}

/// One side's answered requests, as a message.
fn side_count(side: &str, answered: usize, sent: usize) -> Message {
    match side {
        "majority" => msg!("cap.side_majority", answered = answered, sent = sent),
        "minority" => msg!("cap.side_minority", answered = answered, sent = sent),
        "bridge" => msg!("cap.side_bridge", answered = answered, sent = sent),
        "side A" => msg!("cap.side_a", answered = answered, sent = sent),
        "side B" => msg!("cap.side_b", answered = answered, sent = sent),
        _ => msg!("cap.side_all", answered = answered, sent = sent),
    }
}

impl Judge<CapProtocol> for CapJudge {
    fn view(&self, sim: &Sim<CapProtocol>) -> serde_json::Value {
        serde_json::json!({ "operations": Self::operations(sim) })
    }

    fn verdicts(&self, sim: &Sim<CapProtocol>) -> Vec<Verdict> {
        let ops = Self::ops(sim);
        let history = Self::history(&ops);
        let names = |n: NodeId| sim.node_name(n).unwrap_or("?").to_owned();
        let describe = |h: &Operation| {
            let client = names(NodeId(u32::try_from(h.client).unwrap_or(0)));
            let (key, call) = (h.key.as_str(), SimTime::from_micros(h.call));
            let end = h.ret.map_or(Arg::from(msg!("cap.never_answered")), |r| Arg::from(SimTime::from_micros(r)));
            match &h.op {
                KvOp::Put { value } => {
                    msg!("cap.put", client = client, key = key, value = value.as_str(), call = call, end = end)
                }
                KvOp::Get { output } => {
                    let output = output.as_deref().map_or(Arg::from(msg!("cap.nothing")), Arg::from);
                    msg!("cap.get", client = client, key = key, output = output, call = call, end = end)
                }
                KvOp::Cas { expected, value, output } => {
                    let expected = expected.as_deref().map_or(Arg::from(msg!("cap.nothing")), Arg::from);
                    let outcome = match output {
                        Some(true) => msg!("cap.swapped"),
                        Some(false) => msg!("cap.refused"),
                        None => msg!("cap.unknown"),
                    };
                    let value = value.as_str();
                    msg!(
                        "cap.cas",
                        client = client,
                        key = key,
                        expected = expected,
                        value = value,
                        outcome = outcome,
                        call = call,
                        end = end
                    )
                }
            }
        };
        let mut verdicts = Vec::new();
        if matches!(self.cfg.consistency, Consistency::Strong | Consistency::Quorum) {
            let v = match linearizability::check_within(&history, Budget::SCENARIO, &mut || false) {
                Ok(Outcome::Linearizable { operations, keys }) => {
                    Verdict::holds("linearizability", msg!("cap.linearizable", operations = operations, keys = keys))
                }
                Ok(Outcome::Violation { key, culprits }) => {
                    let marks = culprits
                        .iter()
                        .map(|&i| Mark {
                            node: names(NodeId(u32::try_from(history[i].client).unwrap_or(0))),
                            from_us: history[i].call,
                            to_us: history[i].ret.unwrap_or(sim.now().as_micros()),
                        })
                        .collect();
                    let list: Vec<_> = culprits.iter().map(|&i| describe(&history[i])).collect();
                    Verdict::fails(
                        "linearizability",
                        msg!("cap.not_linearizable", key = key, count = culprits.len(), operations = list),
                    )
                    .marked(marks)
                }
                Ok(Outcome::Unknown { key, decided, keys, .. }) => Verdict::unknown(
                    "linearizability",
                    msg!("cap.linearizability_unknown", key = key, decided = decided, keys = keys),
                ),
                Err(e) => Verdict::fails("linearizability", msg!("cap.bad_history", error = e.to_string())),
            };
            // ABD needs every read quorum to meet every write quorum: only then is it promised.
            // Compare-and-set needs consensus, which quorum reads and writes cannot give.
            let intersect = self.cfg.read_quorum + self.cfg.write_quorum > self.cfg.replicas;
            let promised = self.cfg.consistency == Consistency::Strong && intersect && self.cfg.cas_percent == 0;
            verdicts.push(if promised { v } else { v.unpromised() });
        }
        if self.cfg.consistency == Consistency::Causal {
            let v = match causal::check(&history) {
                Ok(()) => Verdict::holds("causal_consistency", msg!("cap.causal", operations = history.len())),
                Err(e) => {
                    let ids: Vec<usize> = match &e {
                        causal::CausalViolation::ThinAir { read } => vec![*read],
                        causal::CausalViolation::Cycle { operations } => operations.clone(),
                        causal::CausalViolation::InitialAfterWrite { write, read } => vec![*write, *read],
                        causal::CausalViolation::OverwrittenRead { read_from, newer, read } => {
                            vec![*read_from, *newer, *read]
                        }
                        causal::CausalViolation::FlipFlop { first, second, third } => vec![*first, *second, *third],
                    };
                    let list: Vec<_> = ids.iter().map(|&i| describe(&history[i])).collect();
                    let m = match e {
                        causal::CausalViolation::ThinAir { .. } => msg!("cap.thin_air", operations = list),
                        causal::CausalViolation::Cycle { .. } => msg!("cap.cycle", operations = list),
                        causal::CausalViolation::InitialAfterWrite { .. } => {
                            msg!("cap.initial_after_write", operations = list)
                        }
                        causal::CausalViolation::OverwrittenRead { .. } => {
                            msg!("cap.overwritten_read", operations = list)
                        }
                        causal::CausalViolation::FlipFlop { .. } => msg!("cap.flip_flop", operations = list),
                    };
                    Verdict::fails("causal_consistency", m)
                }
            };
            verdicts.push(v);
        }
        if matches!(self.cfg.consistency, Consistency::Eventual | Consistency::Causal) {
            let settle = self.cfg.settle_from();
            let bound = SimDuration::from_millis(self.cfg.convergence_bound_ms);
            let v = match Self::converged_at(sim, self.cfg.replicas) {
                Some(at) if at <= settle + bound => Verdict::holds(
                    "convergence",
                    msg!(
                        "cap.converged",
                        at = at,
                        took = SimDuration::from_micros(at.as_micros().saturating_sub(settle.as_micros()))
                    ),
                ),
                Some(at) => {
                    Verdict::fails("convergence", msg!("cap.converged_late", at = at, bound = bound, settle = settle))
                }
                None => Verdict::fails("convergence", msg!("cap.diverged")),
            };
            verdicts.push(if self.cfg.crashes { v.unpromised() } else { v });
        }
        if self.cfg.consistency == Consistency::Eventual {
            let sides = self.availability(sim, &ops);
            let all_ok = sides.iter().all(|(_, ok, n)| ok == n);
            let text: Vec<_> = sides.iter().map(|(s, ok, n)| side_count(s, *ok, *n)).collect();
            let v = if all_ok {
                Verdict::holds("availability", msg!("cap.available", sides = text))
            } else {
                Verdict::fails("availability", msg!("cap.unavailable", sides = text))
            };
            verdicts.push(if self.cfg.crashes { v.unpromised() } else { v });
        }
        verdicts
    }

    fn summary(&self, sim: &Sim<CapProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let ops = Self::ops(sim);
        let mut s = serde_json::Map::new();
        let answered = ops.iter().filter(|o| Self::answered(o)).count();
        s.insert("operations".into(), ops.len().into());
        s.insert("answered".into(), answered.into());
        let refused = |o: &&Op| matches!(o.result, Some(OpResult::Unavailable | OpResult::Rejected));
        s.insert("unavailable".into(), ops.iter().filter(refused).count().into());
        s.insert("timed_out".into(), ops.iter().filter(|o| o.result.is_none() && o.ret.is_none()).count().into());
        for (side, ok, n) in self.availability(sim, &ops) {
            let ratio = if n == 0 { 1.0 } else { ok as f64 / n as f64 };
            s.insert(
                format!("availability_{}", side.replace(' ', "_")),
                serde_json::json!((ratio * 1000.0).round() / 1000.0),
            );
        }
        s.insert("stale_reads".into(), Self::stale_reads(&ops).into());
        let lost: BTreeSet<&str> = sim
            .observations()
            .iter()
            .filter_map(|o| match &o.obs {
                CapObs::LostWrite { value } => Some(value.as_str()),
                _ => None,
            })
            .collect();
        s.insert("lost_writes".into(), lost.len().into());
        let siblings = ops
            .iter()
            .filter_map(|o| match &o.result {
                Some(OpResult::Values { values }) => Some(values.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        s.insert("siblings_max".into(), siblings.into());
        if matches!(self.cfg.consistency, Consistency::Eventual | Consistency::Causal)
            && let Some(at) = Self::converged_at(sim, self.cfg.replicas)
        {
            let settle = self.cfg.settle_from().as_micros();
            s.insert("converged_after_ms".into(), (at.as_micros().saturating_sub(settle) / 1_000).into());
        }
        let sent = sim.net_stats().sent;
        let per_op = if ops.is_empty() { 0.0 } else { sent as f64 / ops.len() as f64 };
        s.insert("messages_per_op".into(), serde_json::json!((per_op * 10.0).round() / 10.0));
        let faults = sim.faults_applied();
        s.insert("faults_applied".into(), faults.into());
        s
    }
}

/// One seed of a sweep: did the run keep its level's property, and how available and fresh was it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSample {
    /// The level's main property failed: linearizability for `strong` and `quorum`, causal
    /// consistency for `causal`, availability or convergence for `eventual`.
    pub violated: bool,
    /// The main property's checker ran out of its budget (neither violated nor held).
    pub undecided: bool,
    pub availability: f64,
    /// Availability during the partition on its smaller side (1.0 without a partition).
    pub availability_minority: f64,
    pub stale_reads: u64,
    pub operations: u64,
}

/// Runs `config` with `seed` to its end and samples it.
pub fn sweep_sample(config: &serde_json::Value, seed: u64) -> Result<SweepSample, ScenarioError> {
    let mut run = super::build("cap", config, seed)?;
    run.set_trace_held(false);
    let until = run.default_until();
    run.run_until(until)?;
    Ok(sample(run.as_ref()))
}

/// What a sweep takes from one finished `cap` run.
pub fn sample(run: &dyn ScenarioRun) -> SweepSample {
    let main = ["linearizability", "causal_consistency", "availability", "convergence"];
    let verdicts = run.verdicts();
    let main_verdicts = || verdicts.iter().filter(|v| main.contains(&v.property.as_str()));
    let undecided = main_verdicts().any(|v| v.status == Status::Unknown);
    let violated = main_verdicts().any(|v| !v.holds && v.status != Status::Unknown);
    let s = run.summary();
    let number = |k: &str| s.get(k).and_then(serde_json::Value::as_f64);
    let operations = number("operations").unwrap_or(0.0);
    SweepSample {
        violated,
        undecided,
        availability: if operations > 0.0 { number("answered").unwrap_or(0.0) / operations } else { 1.0 },
        availability_minority: number("availability_minority").unwrap_or(1.0),
        stale_reads: s.get("stale_reads").and_then(serde_json::Value::as_u64).unwrap_or(0),
        operations: s.get("operations").and_then(serde_json::Value::as_u64).unwrap_or(0),
    }
}

/// A sweep point: the samples of many seeds, summed up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub runs: u64,
    pub violation_rate: f64,
    /// Runs whose main property the checker could not decide within its budget (not counted
    /// as violated).
    #[serde(default)]
    pub undecided: u64,
    pub availability: f64,
    pub availability_minority: f64,
    pub stale_reads_per_run: f64,
}

impl SweepPoint {
    pub fn of(samples: &[SweepSample]) -> SweepPoint {
        let n = samples.len().max(1) as f64;
        let mean = |f: fn(&SweepSample) -> f64| samples.iter().map(f).sum::<f64>() / n;
        SweepPoint {
            runs: samples.len() as u64,
            violation_rate: mean(|s| if s.violated { 1.0 } else { 0.0 }),
            undecided: samples.iter().filter(|s| s.undecided).count() as u64,
            availability: mean(|s| s.availability),
            availability_minority: mean(|s| s.availability_minority),
            stale_reads_per_run: mean(|s| s.stale_reads as f64),
        }
    }
}
