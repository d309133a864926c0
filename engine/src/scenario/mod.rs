//! The catalogue of runnable worlds. A scenario is a function from a validated configuration
//! and a seed to a world of actors, a fault schedule and the properties it promises; the CLI, the
//! page and the tests all start scenarios through [`build`], so they all run the same thing.

pub mod branch;
pub mod cache;
pub mod cap;
mod detector;
mod election;
pub mod failover;
pub mod ha;
mod ids;
pub mod lb;
mod lock;
mod mq;
mod mq_streams;
mod orders;
pub mod outbox;
pub mod parts;
mod pn_counter;
pub mod replay;
pub mod saga;
pub mod saga_choreo;
pub mod saga_store;
pub mod schedule;
pub mod shrink;
pub mod speed;
pub mod tcc;
pub mod two_phase;

use std::cell::RefCell;

use serde::Serialize;

use crate::actor::Protocol;
use crate::check::Verdict;
use crate::config::{self, ConfigError, Knobs};
use crate::sim::{Fault, FaultError, Sim, SimConfig, SimError, SimTime, Trace, WorldSnapshot};

pub use parts::Part;
pub use pn_counter::PnCounterConfig;

/// Builds a scenario's world from what [`Setup`] hands it.
type BuildFn = fn(Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError>;

/// A scenario as listed in the catalogue. Titles exist in English and Chinese.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ScenarioSpec {
    pub name: &'static str,
    /// The part of the chapter whose module builds it (see [`parts`]).
    pub part: Part,
    /// The chapter section it teaches, e.g. `46.1`.
    pub section: &'static str,
    pub title_en: &'static str,
    pub title_zh: &'static str,
    /// The properties its checkers judge: each run judges some of them (which depends on its
    /// configuration: `cap`'s consistency level chooses its checker), the configurations together
    /// all of them (a test holds every entry to this).
    pub properties: &'static [&'static str],
    /// The whole-number knobs that size its workload (clients, orders, how long it runs), which a
    /// shrink may lower: smaller is always a valid, smaller run of the same world.
    pub workload: &'static [&'static str],
}

/// A scenario that could not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario {name:?}: the scenarios are {known}")]
    Unknown { name: String, known: String },
    /// A scenario of a part this program does not have (a page module has only its own part).
    #[error(
        "scenario {name:?} is in the chapter's part \"{part}\" ({section}), which this program did not load (it has: {loaded})"
    )]
    NotLoaded { name: String, part: Part, section: &'static str, loaded: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A run that hit one of the simulator's limits (only where a scenario is run to its end).
    #[error(transparent)]
    Sim(#[from] SimError),
    /// An explicit `schedule` naming a node the world does not have.
    #[error("schedule: {0}")]
    Schedule(FaultError),
}

/// Every scenario, in chapter order.
pub fn catalog() -> &'static [ScenarioSpec] {
    CATALOG
}

static CATALOG: &[ScenarioSpec] = &[
    ScenarioSpec {
        name: "pn-counter",
        part: Part::Foundations,
        section: "46.1",
        title_en: "PN-Counter CRDT over 3 replicas with anti-entropy gossip (set \"merge\": \"chapter\" for the chapter's broken merge)",
        title_zh: "三副本 PN-Counter CRDT 与反熵 gossip（设 \"merge\": \"chapter\" 可重现本章错误的 merge）",
        properties: &["convergence"],
        workload: &[],
    },
    ScenarioSpec {
        name: "cap",
        part: Part::Foundations,
        section: "46.1",
        title_en: "A replicated key-value store under a partition: strong (CP), eventual (AP), causal, or bare quorums, judged by linearizability, causal and convergence checkers",
        title_zh: "分区下的复制键值存储：强一致（CP）、最终一致（AP）、因果一致或仅法定人数，由线性一致性、因果与收敛检查器判定",
        properties: &["linearizability", "causal_consistency", "convergence", "availability"],
        workload: &["clients", "keys", "duration_ms"],
    },
    ScenarioSpec {
        name: "failure-detector",
        part: Part::Foundations,
        section: "46.1.2",
        title_en: "Heartbeats with jitter, GC pauses and a crash: fixed-timeout vs phi-accrual failure detection",
        title_zh: "带抖动、GC 暂停与崩溃的心跳：固定超时与 phi-accrual 故障检测对比",
        properties: &["crash_detected"],
        workload: &["duration_ms"],
    },
    ScenarioSpec {
        name: "election",
        part: Part::Foundations,
        section: "46.1.2",
        title_en: "Raft-style leader election under crashes, partitions and pauses (set \"votes\": \"chapter\" to grant every vote)",
        title_zh: "Raft 式领导者选举，在崩溃、分区与暂停下（设 \"votes\": \"chapter\" 可重现“每票都投”的错误）",
        properties: &["one_leader_per_term", "failover"],
        workload: &["duration_ms"],
    },
    ScenarioSpec {
        name: "mq",
        part: Part::Queues,
        section: "46.2",
        title_en: "A broker with acks, visibility timeouts, retries with backoff, dead letters, delayed delivery, persistence and publisher confirms, under consumer and broker crashes (set \"topology\" to \"pubsub\" or \"partitioned\"; \"mode\": \"chapter\" for the chapter's queue)",
        title_zh: "带确认、可见性超时、退避重试、死信、延迟投递、持久化与发布确认的消息代理，在消费者与代理崩溃下（设 \"topology\" 为 \"pubsub\" 或 \"partitioned\"；\"mode\": \"chapter\" 为本章的队列）",
        properties: &[
            "settled",
            "no_loss",
            "effectively_once",
            "partition_order",
            "errors_reported",
            "delay_respected",
        ],
        workload: &["producers", "consumers", "messages", "duration_ms"],
    },
    ScenarioSpec {
        name: "mq-streams",
        part: Part::Queues,
        section: "46.2",
        title_en: "The reliable queue on Redis Streams: idempotent publishes, a consumer group, XAUTOCLAIM after the visibility timeout, dead letters and delayed messages by script, effects deduplicated in the same write; consumers crash (what `distlab mq` runs on Redis)",
        title_zh: "基于 Redis Streams 的可靠队列：幂等发布、消费者组、可见性超时后 XAUTOCLAIM、脚本实现的死信与延迟消息、与效果同一次写入的去重；消费者会崩溃（即 `distlab mq` 在 Redis 上运行的代码）",
        properties: &["settled", "no_loss", "effectively_once"],
        workload: &["producers", "consumers", "messages"],
    },
    ScenarioSpec {
        name: "cache",
        part: Part::Caching,
        section: "46.3",
        title_en: "Application servers, a cache and a slow database: cache-aside (and its stale-fill race), read-through, write-through, write-behind, and the protections against penetration, avalanche and breakdown",
        title_zh: "应用服务器、缓存与慢数据库：旁路缓存（及其回填竞态）、读穿透、写穿透、写回，以及针对穿透、雪崩与击穿的防护",
        properties: &["fresh_reads", "no_lost_writes"],
        workload: &["apps", "rate_per_s", "keys", "duration_ms"],
    },
    ScenarioSpec {
        name: "lb",
        part: Part::Balancing,
        section: "46.4",
        title_en: "Clients, balancers and backends: every load-balancing algorithm with active and passive health checks and slow start, a backend crashing and coming back (set \"algorithm\" to one of the chapter's, \"health\": \"chapter\" for its checker)",
        title_zh: "客户端、负载均衡器与后端：各种负载均衡算法，配合主动与被动健康检查及慢启动，一个后端崩溃后恢复（设 \"algorithm\" 为本章的算法，\"health\": \"chapter\" 为本章的健康检查器）",
        properties: &["no_route_to_down", "weighted_shares", "bounded_remap"],
        workload: &["clients", "keys", "duration_ms"],
    },
    ScenarioSpec {
        name: "ha",
        part: Part::Availability,
        section: "46.5",
        title_en: "Callers, a service and its dependency: rate limiting, adaptive load shedding, deadlines, a bulkhead, a circuit breaker, fallbacks, retries with backoff and a retry budget, through a slow or failed dependency (set \"story\" to \"cascade\" or \"retry-storm\" to turn every protection off)",
        title_zh: "调用方、服务与其依赖：限流、自适应降载、截止时间、舱壁隔离、熔断、降级兜底、退避重试与重试预算，应对变慢或故障的依赖（设 \"story\" 为 \"cascade\" 或 \"retry-storm\" 可关闭全部保护）",
        properties: &["limit_kept", "breaker_legal", "retries_within_budget", "goodput_recovers", "no_cascade"],
        workload: &["clients", "duration_ms"],
    },
    ScenarioSpec {
        name: "failover",
        part: Part::Availability,
        section: "46.5",
        title_en: "An active–passive pair with heartbeats and a lease, writers and the storage: the primary paused or crashed, the standby promoted, and the split brain a paused primary causes unless the storage fences old epochs (set \"story\": \"split-brain\" for no fencing)",
        title_zh: "带心跳与租约的主备对、写入方与存储：主节点暂停或崩溃，备节点升主；若存储不隔离旧纪元，暂停的主节点会造成脑裂（设 \"story\": \"split-brain\" 可关闭隔离）",
        properties: &["single_writer", "failover"],
        workload: &["duration_ms"],
    },
    ScenarioSpec {
        name: "lock",
        part: Part::Locks,
        section: "46.7.1",
        title_en: "Clients sharing a lock with lease, watchdog and fencing tokens under pauses, clock jumps, partitions and crashes",
        title_zh: "带租约、看门狗续期与 fencing token 的分布式锁，在暂停、时钟跳变、分区与崩溃下",
        properties: &["mutual_exclusion", "lock_belief"],
        workload: &["clients", "writes", "duration_ms"],
    },
    ScenarioSpec {
        name: "lock-kleppmann",
        part: Part::Locks,
        section: "46.7.1",
        title_en: "Kleppmann's scenario: a client paused past its lease writes late (set \"fencing\": true to stop it)",
        title_zh: "Kleppmann 场景：暂停超过租约的客户端迟到写入（设 \"fencing\": true 可阻止）",
        properties: &["mutual_exclusion", "lock_belief"],
        workload: &[],
    },
    ScenarioSpec {
        name: "redlock",
        part: Part::Locks,
        section: "46.7.1",
        title_en: "Redlock over 5 independent stores under the same storm (set \"story\": \"clock-jump\" for Kleppmann's clock-jump case)",
        title_zh: "基于 5 个独立存储的 Redlock，在同样的故障下（设 \"story\": \"clock-jump\" 重现 Kleppmann 的时钟跳变案例）",
        properties: &["mutual_exclusion", "lock_belief"],
        workload: &["clients", "writes", "duration_ms"],
    },
    ScenarioSpec {
        name: "zk-lock",
        part: Part::Locks,
        section: "46.7.1",
        title_en: "The ZooKeeper lock recipe: ephemeral sequential nodes, a watch on the predecessor, sessions as leases",
        title_zh: "ZooKeeper 锁：临时顺序节点、只监听前驱、会话即租约",
        properties: &["mutual_exclusion", "lock_belief"],
        workload: &["clients", "writes", "duration_ms"],
    },
    ScenarioSpec {
        name: "rw-lock",
        part: Part::Locks,
        section: "46.7.1",
        title_en: "Redisson's reentrant read-write lock: writers re-entering their lock, readers sharing it",
        title_zh: "Redisson 的可重入读写锁：写者重入自己的锁，读者共享",
        properties: &["mutual_exclusion", "lock_belief"],
        workload: &["clients", "writes", "duration_ms"],
    },
    ScenarioSpec {
        name: "exercise-1",
        part: Part::Locks,
        section: "46.7.1",
        title_en: "Exercise 1 step by step (set \"step\": 1 crash while holding, 2 long work and the watchdog, 3 a pause beyond the lease, 4 a store restart without persistence)",
        title_zh: "练习 1 逐步演示（设 \"step\"：1 持锁时崩溃，2 长任务与看门狗，3 暂停超过租约，4 存储无持久化重启）",
        properties: &["mutual_exclusion", "lock_belief"],
        workload: &[],
    },
    ScenarioSpec {
        name: "ids",
        part: Part::Ids,
        section: "46.7.2",
        title_en: "ID generator nodes and their store (Snowflake, Leaf segments or UUIDv7) under clock steps, restarts, shared worker ids and store stalls: every ID unique? (set \"chapter\": true for the chapter's generators, \"story\" for one of their failures)",
        title_zh: "ID 生成节点与存储（雪花算法、Leaf 号段或 UUIDv7），在时钟回拨、重启、重复 worker id 与存储卡顿下：每个 ID 都唯一吗？（设 \"chapter\": true 使用本章的生成器，\"story\" 选择其一种失败）",
        properties: &["unique", "monotonic", "available", "no_stall"],
        workload: &["generators", "duration_ms"],
    },
    ScenarioSpec {
        name: "2pc",
        part: Part::Transactions,
        section: "46.7.3",
        title_en: "Two-phase commit of orders over inventory, payment and shipping, with durable logs and recovery (set \"crash_coordinator_at_ms\" to leave the participants in doubt)",
        title_zh: "库存、支付、物流三个服务上的两阶段提交，带持久化日志与恢复（设 \"crash_coordinator_at_ms\" 可让参与者陷入不确定状态）",
        properties: &["atomicity", "conservation"],
        workload: &["orders"],
    },
    ScenarioSpec {
        name: "tcc",
        part: Part::Transactions,
        section: "46.7.3",
        title_en: "Try-confirm-cancel of the same orders over a network that loses, repeats and reorders: empty rollbacks, suspended tries, idempotent steps",
        title_zh: "同样订单的 TCC（Try-Confirm-Cancel），网络会丢失、重复与乱序消息：空回滚、防悬挂、幂等",
        properties: &["atomicity", "conservation"],
        workload: &["orders"],
    },
    ScenarioSpec {
        name: "saga",
        part: Part::Transactions,
        section: "46.7.3",
        title_en: "Orchestrated sagas of the same orders: steps with compensations in reverse, a durable saga log, retries with backoff, manual intervention when a compensation keeps failing",
        title_zh: "同样订单的编排式 Saga：步骤与逆序补偿、持久化 Saga 日志、带退避的重试，补偿持续失败时转人工处理",
        properties: &["atomicity", "conservation", "nothing_dropped"],
        workload: &["orders"],
    },
    ScenarioSpec {
        name: "saga-choreo",
        part: Part::Transactions,
        section: "46.7.3",
        title_en: "The same orders as a choreographed saga: no orchestrator; each service reacts to its neighbour's event, compensates on the way back, and republishes from its durable outbox until acknowledged",
        title_zh: "同一批订单的协同式 Saga：没有编排器；各服务响应相邻服务的事件，失败时沿原路补偿，并从持久化发件箱重发直到确认",
        properties: &["atomicity", "conservation", "nothing_dropped"],
        workload: &["orders"],
    },
    ScenarioSpec {
        name: "saga-store",
        part: Part::Transactions,
        section: "46.7.3",
        title_en: "The saga with everything in the store: each step, its log entry and its outbox event in one script; the orchestrator resumes from the log after a crash (what `distlab saga` runs on Redis)",
        title_zh: "状态全部存于存储的 Saga：每一步、其日志项与发件箱事件由一个脚本原子写入；编排器崩溃后从日志恢复（即 `distlab saga` 在 Redis 上运行的代码）",
        properties: &["atomicity", "conservation", "nothing_dropped", "delivered"],
        workload: &["orders"],
    },
    ScenarioSpec {
        name: "outbox",
        part: Part::Transactions,
        section: "46.7.3",
        title_en: "The transactional outbox: each order and its message in one local write, a relay publishing at least once, a consumer deduplicating (set \"dual_write\": true to lose messages)",
        title_zh: "事务性发件箱（本地消息表）：订单与消息同一次本地写入，中继至少一次投递，消费者去重（设 \"dual_write\": true 可重现消息丢失）",
        properties: &["delivered"],
        workload: &["orders"],
    },
];

/// Builds `name` with `config` (a JSON object of overrides; `{}` or `null` for the defaults).
pub fn build(name: &str, config: &serde_json::Value, seed: u64) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let spec = catalog().iter().find(|s| s.name == name).ok_or_else(|| ScenarioError::Unknown {
        name: name.to_owned(),
        known: catalog().iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
    })?;
    let mut raw = if config.is_null() { serde_json::json!({}) } else { config.clone() };
    let explicit =
        raw.as_object_mut().and_then(|o| o.remove(schedule::FIELD)).map(|s| schedule::parse(&s)).transpose()?;
    let build = parts::builder(parts::installed(), spec)?;
    let mut run = build(Setup { spec, raw, seed, effective: RefCell::default() })?;
    if let Some(faults) = explicit {
        run.replace_schedule(&faults).map_err(ScenarioError::Schedule)?;
    }
    Ok(run)
}

/// What a build function is handed: its catalogue entry, the user's configuration and the seed.
/// It reads the configuration through [`Setup::config`] and ends with [`Setup::run`], so that no
/// scenario parses, validates or assembles a run by hand.
#[derive(Debug)]
pub(crate) struct Setup {
    spec: &'static ScenarioSpec,
    raw: serde_json::Value,
    seed: u64,
    /// The configuration as parsed, defaults filled: what the run reports as its own.
    effective: RefCell<serde_json::Value>,
}

impl Setup {
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The configuration: defaults filled, unknown fields refused, ranges checked.
    pub(crate) fn config<C: Knobs>(&self) -> Result<C, ConfigError> {
        self.parsed(&self.raw)
    }

    /// The configuration over this scenario's own `defaults` (a JSON object of fields that
    /// replace the knobs' defaults), the user's overrides on top.
    pub(crate) fn config_over<C: Knobs>(&self, mut defaults: serde_json::Value) -> Result<C, ConfigError> {
        if let (Some(d), Some(o)) = (defaults.as_object_mut(), self.raw.as_object()) {
            d.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        self.parsed(&defaults)
    }

    fn parsed<C: Knobs>(&self, raw: &serde_json::Value) -> Result<C, ConfigError> {
        let (cfg, written) = config::parse_written_back(raw)?;
        *self.effective.borrow_mut() = written;
        Ok(cfg)
    }

    /// Removes `field` from the configuration and returns it: for a selector that chooses the
    /// scenario's defaults (a story, an exercise step) rather than being a knob itself.
    pub(crate) fn take(&mut self, field: &str) -> Option<serde_json::Value> {
        self.raw.as_object_mut().and_then(|o| o.remove(field))
    }

    /// An empty world with this run's seed and `link` between every pair of nodes.
    pub(crate) fn sim<P: Protocol>(&self, link: crate::sim::LinkConfig) -> Sim<P> {
        let mut sim_config = SimConfig::new(self.seed);
        sim_config.default_link = link;
        Sim::new(sim_config)
    }

    /// Ends the build: `sim` judged by `judge`, a headless run stopping at `until`.
    pub(crate) fn run<P: Protocol, J: Judge<P> + Clone + 'static>(
        self,
        sim: Sim<P>,
        until: SimTime,
        judge: J,
    ) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
        let config = self.effective.into_inner();
        Ok(Box::new(Run { spec: self.spec, seed: self.seed, config, default_until: until, sim, judge }))
    }
}

/// A running scenario, whatever its protocol: what the CLI and the page drive.
pub trait ScenarioRun {
    fn spec(&self) -> &'static ScenarioSpec;
    fn seed(&self) -> u64;
    /// The configuration the run was built from, every default filled in (an explicit
    /// `schedule` and a story selector are not among its fields).
    fn config(&self) -> &serde_json::Value;
    /// When a headless run stops unless told otherwise.
    fn default_until(&self) -> SimTime;
    /// Bounds the number of events the run may process (see `SimConfig::events_max`).
    fn set_events_max(&mut self, events_max: u64);
    /// Turns the simulator's full self-checks on or off (see `SimConfig::check_invariants`).
    fn set_check_invariants(&mut self, on: bool);
    /// Whether the trace holds its records or only their hash and count (see
    /// [`Trace::set_held`]); verdicts, summary and view never need them.
    fn set_trace_held(&mut self, held: bool);
    fn step(&mut self) -> Result<Option<SimTime>, SimError>;
    fn run_until(&mut self, until: SimTime) -> Result<(), SimError>;
    fn run_until_quiescent(&mut self) -> Result<(), SimError>;
    /// Processes the next event if it falls by `horizon`; returns its time, or `None` (nothing
    /// due by then; the clock does not move).
    fn step_within(&mut self, horizon: SimTime) -> Result<Option<SimTime>, SimError>;
    /// A copy of the run as it is now, to run on independently: the page's rewind re-executes
    /// from the nearest of these (see [`Sim::checkpoint`]: its trace holds only what it does next).
    fn checkpoint(&self) -> Box<dyn ScenarioRun>;
    fn inject(&mut self, fault: Fault) -> Result<(), SimError>;
    fn now(&self) -> SimTime;
    fn events_processed(&self) -> u64;
    fn snapshot(&self) -> WorldSnapshot;
    fn trace(&self) -> &Trace;
    /// The checkers' verdicts on the run so far (final once [`ScenarioRun::finished`]).
    fn verdicts(&self) -> Vec<Verdict>;
    /// Over: at its default end, or with nothing left to happen.
    fn finished(&self) -> bool;
    /// Measurements of the run so far, by name.
    fn summary(&self) -> serde_json::Map<String, serde_json::Value>;
    /// The page's data for this run so far (see [`Judge::view`]).
    fn view(&self) -> serde_json::Value;
    /// Faults the scenario scheduled that have not happened yet, with their times.
    fn pending_faults(&self) -> Vec<(SimTime, Fault)>;
    /// Replaces those faults with `schedule` (see [`Sim::replace_schedule`]).
    fn replace_schedule(&mut self, schedule: &[(SimTime, Fault)]) -> Result<(), FaultError>;
}

/// What a scenario adds to its world: how to judge it and what to measure.
pub trait Judge<P: Protocol> {
    fn verdicts(&self, sim: &Sim<P>) -> Vec<Verdict>;
    fn summary(&self, sim: &Sim<P>) -> serde_json::Map<String, serde_json::Value>;
    /// What the scenario's page draws beyond the world's snapshot (histories, timelines), ready
    /// to draw: the page decodes no engine internals itself. `null` when it needs nothing more.
    fn view(&self, _sim: &Sim<P>) -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// A world plus its judge: the one implementation of [`ScenarioRun`].
struct Run<P: Protocol, J: Judge<P>> {
    spec: &'static ScenarioSpec,
    seed: u64,
    config: serde_json::Value,
    default_until: SimTime,
    sim: Sim<P>,
    judge: J,
}

impl<P: Protocol, J: Judge<P> + Clone + 'static> ScenarioRun for Run<P, J> {
    fn spec(&self) -> &'static ScenarioSpec {
        self.spec
    }
    fn seed(&self) -> u64 {
        self.seed
    }
    fn config(&self) -> &serde_json::Value {
        &self.config
    }
    fn default_until(&self) -> SimTime {
        self.default_until
    }
    fn set_events_max(&mut self, events_max: u64) {
        self.sim.set_events_max(events_max);
    }
    fn set_check_invariants(&mut self, on: bool) {
        self.sim.set_check_invariants(on);
    }
    fn set_trace_held(&mut self, held: bool) {
        self.sim.set_trace_held(held);
    }
    fn step(&mut self) -> Result<Option<SimTime>, SimError> {
        self.sim.step()
    }
    fn run_until(&mut self, until: SimTime) -> Result<(), SimError> {
        self.sim.run_until(until)
    }
    fn run_until_quiescent(&mut self) -> Result<(), SimError> {
        self.sim.run_until_quiescent()
    }
    fn step_within(&mut self, horizon: SimTime) -> Result<Option<SimTime>, SimError> {
        self.sim.step_by(horizon)
    }
    fn checkpoint(&self) -> Box<dyn ScenarioRun> {
        Box::new(Run {
            spec: self.spec,
            seed: self.seed,
            config: self.config.clone(),
            default_until: self.default_until,
            sim: self.sim.checkpoint(),
            judge: self.judge.clone(),
        })
    }
    fn inject(&mut self, fault: Fault) -> Result<(), SimError> {
        self.sim.inject(fault)
    }
    fn now(&self) -> SimTime {
        self.sim.now()
    }
    fn events_processed(&self) -> u64 {
        self.sim.events_processed()
    }
    fn snapshot(&self) -> WorldSnapshot {
        self.sim.snapshot()
    }
    fn trace(&self) -> &Trace {
        self.sim.trace()
    }
    fn verdicts(&self) -> Vec<Verdict> {
        let finished = self.finished();
        self.judge.verdicts(&self.sim).into_iter().map(|v| v.judged(finished)).collect()
    }
    fn finished(&self) -> bool {
        self.sim.now() >= self.default_until || self.sim.is_quiescent()
    }
    fn summary(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut s = self.judge.summary(&self.sim);
        s.insert("events".into(), self.sim.events_processed().into());
        s.insert("net".into(), serde_json::to_value(self.sim.net_stats()).unwrap_or_default());
        s
    }
    fn view(&self) -> serde_json::Value {
        self.judge.view(&self.sim)
    }
    fn pending_faults(&self) -> Vec<(SimTime, Fault)> {
        self.sim.pending_faults().into_iter().map(|(t, f)| (t, f.clone())).collect()
    }
    fn replace_schedule(&mut self, schedule: &[(SimTime, Fault)]) -> Result<(), FaultError> {
        self.sim.replace_schedule(schedule)
    }
}
