//! Scenario `mq` (46.2, exercise 2): producers, a broker and consumers writing to one database,
//! under consumer crashes and pauses, a broker crash, a lossy network, failing handlers, poison
//! messages and delayed ones. Three shapes (`topology`): a work queue with competing consumers,
//! pub/sub with one queue per subscriber behind a fanout, topic or direct exchange, and keyed
//! partitions shared by a consumer group. `"mode": "chapter"` runs the chapter's queue and
//! `PubSub` instead, which the same checkers fail.
//!
//! Judged: every confirmed message ends acked or dead-lettered in each queue it was routed to,
//! exactly one of the two (`settled`); none is lost (`no_loss`); no effect is applied twice
//! (`effectively_once`, promised with dedup); a partition's effects follow its order
//! (`partition_order`, promised with dedup); no handler error is swallowed (`errors_reported`);
//! no delayed message is delivered early (`delay_respected`). With a weaker fsync policy than
//! `always`, `settled` and (without publisher confirms) `no_loss` are shown but not promised:
//! the broker may crash at any moment (the page crashes it whenever the learner asks), and what
//! a crash then loses is what those policies trade away.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::orders;
use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::actor::NodeId;
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::mq::broker::{Broker, BrokerConfig, Topology, state_name};
use crate::mq::consumer::{Consumer, ConsumerConfig};
use crate::mq::db::Db;
use crate::mq::exchange::{Exchange, Kind};
use crate::mq::log::Fsync;
use crate::mq::producer::{POISON, Producer, ProducerConfig};
use crate::mq::queue::{Mode, QueueConfig, State};
use crate::mq::{MqObs, MqProtocol, Source};
use crate::msg;
use crate::sim::{Fault, Ratio, Rng, Sim, SimDuration, SimTime};

/// The world's shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// One work queue, its consumers competing for its messages.
    #[default]
    Queue,
    /// Each consumer a subscriber with its own queue.
    Pubsub,
    /// Keyed partitions shared by the consumers as one group.
    Partitioned,
}

/// How pub/sub routes: the exchange's kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Routing {
    #[default]
    Fanout,
    Topic,
    Direct,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MqConfig {
    pub mode: Mode,
    pub topology: Shape,
    pub exchange: Routing,
    pub producers: u32,
    pub consumers: u32,
    /// Messages each producer publishes.
    pub messages: u64,
    pub interval_ms: u64,
    pub partitions: u32,
    pub capacity: u32,
    pub publish_timeout_ms: u64,
    pub visibility_ms: u64,
    pub max_deliveries: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub prefetch: u32,
    pub work_min_ms: u64,
    pub work_max_ms: u64,
    /// The first consumer works ten times slower.
    pub slow_consumer: bool,
    pub fail_percent: u32,
    /// Every n-th message of each producer is poison (0: none).
    pub poison_every: u64,
    /// A poison message's handler fails its first n deliveries (0: every one).
    pub poison_failures: u32,
    /// Every handler fails from `outage_from_ms` for `outage_ms` (0: no outage).
    pub outage_from_ms: u64,
    pub outage_ms: u64,
    pub delay_percent: u32,
    pub delay_ms: u64,
    pub fsync: Fsync,
    pub fsync_every_ms: u64,
    pub confirms: bool,
    pub dedup: bool,
    pub crash_consumers: bool,
    pub pause_consumers: bool,
    pub crash_broker: bool,
    pub loss_percent: u32,
    pub duplicate_percent: u32,
    pub reorder_percent: u32,
    pub duration_ms: u64,
}

impl Default for MqConfig {
    fn default() -> Self {
        MqConfig {
            mode: Mode::Reliable,
            topology: Shape::Queue,
            exchange: Routing::Fanout,
            producers: 2,
            consumers: 3,
            messages: 40,
            interval_ms: 100,
            partitions: 4,
            capacity: 100,
            publish_timeout_ms: 5_000,
            visibility_ms: 1_000,
            max_deliveries: 5,
            backoff_base_ms: 100,
            backoff_max_ms: 5_000,
            prefetch: 1,
            work_min_ms: 40,
            work_max_ms: 120,
            slow_consumer: false,
            fail_percent: 10,
            poison_every: 15,
            poison_failures: 0,
            outage_from_ms: 0,
            outage_ms: 0,
            delay_percent: 10,
            delay_ms: 2_000,
            fsync: Fsync::Always,
            fsync_every_ms: 1_000,
            confirms: true,
            dedup: true,
            crash_consumers: true,
            pause_consumers: true,
            crash_broker: true,
            loss_percent: 1,
            duplicate_percent: 1,
            reorder_percent: 1,
            duration_ms: 30_000,
        }
    }
}

impl Knobs for MqConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("producers", self.producers, 1, 5)?;
        ConfigError::check_range("consumers", self.consumers, 1, 8)?;
        ConfigError::check_range("messages", self.messages, 0, 5_000)?;
        ConfigError::check_range("interval_ms", self.interval_ms, 1, 60_000)?;
        ConfigError::check_range("partitions", self.partitions, 1, 16)?;
        ConfigError::check_range("capacity", self.capacity, 1, 100_000)?;
        ConfigError::check_range("publish_timeout_ms", self.publish_timeout_ms, 0, 600_000)?;
        ConfigError::check_range("visibility_ms", self.visibility_ms, 1, 600_000)?;
        ConfigError::check_range("max_deliveries", self.max_deliveries, 1, 100)?;
        ConfigError::check_range("backoff_base_ms", self.backoff_base_ms, 0, 600_000)?;
        ConfigError::check_range("backoff_max_ms", self.backoff_max_ms, self.backoff_base_ms, 600_000)?;
        ConfigError::check_range("prefetch", self.prefetch, 1, 100)?;
        ConfigError::check_range("work_min_ms", self.work_min_ms, 0, 60_000)?;
        ConfigError::check_range("work_max_ms", self.work_max_ms, self.work_min_ms, 60_000)?;
        ConfigError::check_range("fail_percent", self.fail_percent, 0, 100)?;
        ConfigError::check_range("poison_every", self.poison_every, 0, 100_000)?;
        ConfigError::check_range("poison_failures", self.poison_failures, 0, 100)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1, 3_600_000)?;
        ConfigError::check_range("outage_from_ms", self.outage_from_ms, 0, self.duration_ms)?;
        ConfigError::check_range("outage_ms", self.outage_ms, 0, 3_600_000)?;
        ConfigError::check_range("delay_percent", self.delay_percent, 0, 100)?;
        ConfigError::check_range("delay_ms", self.delay_ms, 0, 600_000)?;
        ConfigError::check_range("fsync_every_ms", self.fsync_every_ms, 1, 600_000)?;
        self.link()?;
        if self.topology == Shape::Partitioned && self.mode == Mode::Chapter {
            return Err(ConfigError::Parse(
                "the chapter's queue has no partitions: use \"topology\": \"partitioned\" with \"mode\": \"reliable\""
                    .into(),
            ));
        }
        if self.topology == Shape::Partitioned && self.delay_percent > 0 {
            return Err(ConfigError::Parse(
                "a partition delivers in order, so it has no delayed messages: set \"delay_percent\": 0".into(),
            ));
        }
        Ok(())
    }
}

impl MqConfig {
    fn link(&self) -> Result<crate::sim::LinkConfig, ConfigError> {
        orders::lossy_link(self.loss_percent, self.duplicate_percent, self.reorder_percent, REORDER_DELAY_MS)
    }
}

/// The longest a reordered message is held back.
const REORDER_DELAY_MS: u64 = 50;
/// The consumers' poll after an empty fetch, their fetch and write timeouts, their heartbeat.
const POLL_MS: u64 = 50;
const TIMEOUT_MS: u64 = 500;
const HEARTBEAT_MS: u64 = 200;
/// A group member silent this long loses its partitions.
const SESSION_MS: u64 = 1_000;
/// A producer resends what is not confirmed this often.
const RESEND_MS: u64 = 1_000;
/// The chapter's publisher gives up on an unanswered handler after this.
const CALL_TIMEOUT_MS: u64 = 2_000;
/// The slow consumer's factor.
const SLOW: u64 = 10;
/// The topics pub/sub producers publish, and the patterns its subscribers bind in turn.
const TOPICS: [&str; 4] = ["order.created", "order.paid", "order.cancelled", "user.signup"];
const PATTERNS: [&str; 4] = ["order.*", "#.cancelled", "#", "order.paid"];
/// Customers, the keys of the partitioned shape.
const CUSTOMERS: u64 = 8;

/// The world: node names, the broker's topology, the producers' keys and each consumer's source.
struct Layout {
    exchange: String,
    topology: Topology,
    keys: Vec<String>,
    sources: Vec<Source>,
}

fn consumer_name(i: u32) -> String {
    format!("consumer-{}", i + 1)
}

fn subscriber_queue(i: u32) -> String {
    format!("sub-{}", i + 1)
}

fn layout(cfg: &MqConfig) -> Layout {
    let mut topology = Topology::default();
    let (exchange, keys, sources) = match cfg.topology {
        Shape::Queue => {
            topology.exchanges.insert("tasks".into(), Exchange::new(Kind::Direct).bind("task", "tasks"));
            let sources = (0..cfg.consumers).map(|_| Source::Queues { queues: vec!["tasks".into()] }).collect();
            ("tasks", vec!["task".to_owned()], sources)
        }
        Shape::Pubsub => {
            let kind = match cfg.exchange {
                Routing::Fanout => Kind::Fanout,
                Routing::Topic => Kind::Topic,
                Routing::Direct => Kind::Direct,
            };
            let ex = (0..cfg.consumers).fold(Exchange::new(kind), |ex, i| {
                let k = i as usize % TOPICS.len();
                let pattern = if cfg.exchange == Routing::Topic { PATTERNS[k] } else { TOPICS[k] };
                ex.bind(pattern, &subscriber_queue(i))
            });
            topology.exchanges.insert("events".into(), ex);
            let sources = (0..cfg.consumers).map(|i| Source::Queues { queues: vec![subscriber_queue(i)] }).collect();
            ("events", TOPICS.iter().map(|t| (*t).to_owned()).collect(), sources)
        }
        Shape::Partitioned => {
            let parts: Vec<String> = (0..cfg.partitions).map(|p| format!("p{p}")).collect();
            let ex = parts.iter().fold(Exchange::new(Kind::Partitioned), |ex, p| ex.bind("", p));
            topology.exchanges.insert("orders".into(), ex);
            topology.groups.insert("workers".into(), parts);
            let sources = (0..cfg.consumers).map(|_| Source::Group { group: "workers".into() }).collect();
            ("orders", (0..CUSTOMERS).map(|c| format!("customer-{c}")).collect(), sources)
        }
    };
    Layout { exchange: exchange.to_owned(), topology, keys, sources }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: MqConfig = setup.config()?;
    let mut sim: Sim<MqProtocol> = setup.sim(cfg.link()?);
    let reliable = cfg.mode == Mode::Reliable;
    let chapter_pubsub = !reliable && cfg.topology == Shape::Pubsub;
    let Layout { exchange, topology, keys, sources } = layout(&cfg);
    let ms = |v: u64| v * 1_000;
    let broker_cfg = Rc::new(BrokerConfig {
        queue: QueueConfig {
            mode: cfg.mode,
            capacity: cfg.capacity as usize,
            visibility_us: ms(cfg.visibility_ms),
            max_deliveries: cfg.max_deliveries,
            backoff_base_us: ms(cfg.backoff_base_ms),
            backoff_max_us: ms(cfg.backoff_max_ms),
            ordered: cfg.topology == Shape::Partitioned,
        },
        fsync: cfg.fsync,
        fsync_every_us: ms(cfg.fsync_every_ms),
        confirms: cfg.confirms,
        publish_timeout_us: ms(cfg.publish_timeout_ms),
        session_us: ms(SESSION_MS),
    });
    let topo = Rc::new(topology.clone());
    let broker = sim.add_node("broker", move |d| Broker::new(broker_cfg.clone(), topo.clone(), d))?;
    let db = sim.add_node("db", Db::new)?;
    let first_consumer = 2 + cfg.producers;
    let subscribers: Option<Vec<(NodeId, String)>> = chapter_pubsub.then(|| {
        (0..cfg.consumers).flat_map(|i| keys.iter().map(move |k| (NodeId(first_consumer + i), k.clone()))).collect()
    });
    for p in 0..cfg.producers {
        let pc = ProducerConfig {
            broker,
            exchange: exchange.clone(),
            keys: keys.clone(),
            messages: cfg.messages,
            interval_us: ms(cfg.interval_ms),
            first_id: u64::from(p + 1) * 100_000,
            delay: Ratio::percent(cfg.delay_percent),
            delay_us: ms(cfg.delay_ms),
            poison_every: cfg.poison_every,
            resend_us: ms(RESEND_MS),
            chapter_pubsub: subscribers.clone(),
            call_timeout_us: ms(CALL_TIMEOUT_MS),
        };
        sim.add_node(format!("producer-{}", p + 1), move |_| Producer::new(pc.clone()))?;
    }
    let outage = (cfg.outage_ms > 0).then(|| (ms(cfg.outage_from_ms), ms(cfg.outage_from_ms + cfg.outage_ms)));
    for (i, source) in (0..cfg.consumers).zip(sources) {
        let slow = if cfg.slow_consumer && i == 0 { SLOW } else { 1 };
        let cc = ConsumerConfig {
            broker,
            db,
            source: (!chapter_pubsub).then_some(source),
            name: subscriber_queue(i),
            prefetch: cfg.prefetch,
            work_min_us: ms(cfg.work_min_ms) * slow,
            work_max_us: ms(cfg.work_max_ms) * slow,
            fail: Ratio::percent(cfg.fail_percent),
            poison_failures: cfg.poison_failures,
            outage_us: outage,
            dedup: cfg.dedup && reliable,
            poll_us: ms(POLL_MS),
            timeout_us: ms(TIMEOUT_MS),
            heartbeat_us: ms(HEARTBEAT_MS),
        };
        let id = sim.add_node(consumer_name(i), move |_| Consumer::new(cc.clone()))?;
        debug_assert_eq!(id, NodeId(first_consumer + i));
    }
    schedule_storm(&mut sim, &cfg, setup.seed());
    let judge = MqJudge {
        chapter_pubsub,
        topology: Rc::new(topology),
        subscriber_queues: (0..cfg.consumers).map(subscriber_queue).collect(),
        promise_settled: !(reliable && cfg.fsync != Fsync::Always),
        promise_no_loss: !(reliable && cfg.fsync != Fsync::Always && !cfg.confirms),
        promise_once: !reliable || cfg.dedup,
        partitioned: cfg.topology == Shape::Partitioned,
        visibility_us: ms(cfg.visibility_ms),
    };
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), judge)
}

/// The faults the configuration asks for, at seeded times during the publishing: two consumer
/// crashes (each restarted), two pauses (some past the visibility timeout), one broker crash.
fn schedule_storm(sim: &mut Sim<MqProtocol>, cfg: &MqConfig, seed: u64) {
    let mut rng = Rng::new(seed).fork();
    let busy_ms = (cfg.messages * cfg.interval_ms).max(2_000);
    let at = |rng: &mut Rng| SimTime::from_millis(rng.between(busy_ms / 8, busy_ms));
    let consumer = |rng: &mut Rng| consumer_name(u32::try_from(rng.below(u64::from(cfg.consumers))).unwrap_or(0));
    if cfg.crash_consumers {
        for _ in 0..2 {
            let (t, node) = (at(&mut rng), consumer(&mut rng));
            sim.schedule(t, Fault::Crash { node: node.clone() });
            sim.schedule(t + SimDuration::from_millis(rng.between(300, 1_500)), Fault::Restart { node });
        }
    }
    if cfg.pause_consumers {
        for _ in 0..2 {
            let (t, node) = (at(&mut rng), consumer(&mut rng));
            sim.schedule(t, Fault::Pause { node, duration_us: rng.between(600, 2_500) * 1_000 });
        }
    }
    if cfg.crash_broker {
        let t = at(&mut rng);
        sim.schedule(t, Fault::Crash { node: "broker".into() });
        sim.schedule(t + SimDuration::from_millis(rng.between(500, 1_500)), Fault::Restart { node: "broker".into() });
    }
}

#[derive(Clone)]
struct MqJudge {
    chapter_pubsub: bool,
    topology: Rc<Topology>,
    subscriber_queues: Vec<String>,
    promise_settled: bool,
    promise_no_loss: bool,
    promise_once: bool,
    partitioned: bool,
    visibility_us: u64,
}

/// One copy of a message in one queue, as the observations tell it.
#[derive(Clone, Debug, Default)]
struct Copy {
    /// Its place in its queue's arrival order.
    position: usize,
    until_us: Option<u64>,
    acked: bool,
    dead: bool,
    applied: u32,
    skipped: u32,
    deliveries: u32,
    /// The consumer of its latest delivery.
    consumer: Option<NodeId>,
}

/// What the observations add up to.
#[derive(Default)]
struct Books {
    published: BTreeMap<u64, SimTime>,
    confirmed: BTreeMap<u64, SimTime>,
    refused: usize,
    copies: BTreeMap<(String, u64), Copy>,
    arrivals: BTreeMap<String, usize>,
    /// The first effect applied out of its partition's order: (queue, id, the later one before it, when).
    out_of_order: Option<(String, u64, u64, SimTime)>,
    /// The last position applied in each queue, and its id.
    last_applied: BTreeMap<String, (usize, u64)>,
    early: Option<(String, u64, SimTime)>,
    swallowed: Vec<(u64, SimTime)>,
    first_twice: Option<(String, u64, SimTime)>,
    acked_then_dead: Vec<(String, u64)>,
    handler_failures: usize,
    /// Publish to confirm, and publish to first effect, in µs.
    confirm_us: Vec<u64>,
    effect_us: Vec<u64>,
}

impl MqJudge {
    fn books(&self, sim: &Sim<MqProtocol>) -> Books {
        let mut b = Books::default();
        for o in sim.observations() {
            match &o.obs {
                MqObs::Published { id, .. } => {
                    b.published.entry(*id).or_insert(o.time);
                }
                MqObs::Confirmed { id } => {
                    if let Some(p) = b.published.get(id) {
                        b.confirm_us.push(o.time.saturating_since(*p).as_micros());
                    }
                    b.confirmed.entry(*id).or_insert(o.time);
                }
                MqObs::Refused { .. } => b.refused += 1,
                MqObs::Enqueued { queue, id, until_us } => {
                    let n = b.arrivals.entry(queue.clone()).or_default();
                    let position = *n;
                    let c = b.copies.entry((queue.clone(), *id)).or_insert_with(|| {
                        *n += 1;
                        Copy { position, until_us: *until_us, ..Copy::default() }
                    });
                    c.until_us = c.until_us.or(*until_us);
                }
                MqObs::Delivered { queue, id, attempt, consumer } => {
                    if let Some(c) = b.copies.get_mut(&(queue.clone(), *id)) {
                        c.deliveries += 1;
                        c.consumer = Some(*consumer);
                        if *attempt == 1 && c.until_us.is_some_and(|u| o.time.as_micros() < u) && b.early.is_none() {
                            b.early = Some((queue.clone(), *id, o.time));
                        }
                    }
                }
                MqObs::Acked { queue, id } => {
                    if let Some(c) = b.copies.get_mut(&(queue.clone(), *id)) {
                        c.acked = true;
                    }
                }
                MqObs::Dead { queue, id, .. } => {
                    if let Some(c) = b.copies.get_mut(&(queue.clone(), *id)) {
                        if c.acked && !c.dead {
                            b.acked_then_dead.push((queue.clone(), *id));
                        }
                        c.dead = true;
                    }
                }
                MqObs::Applied { queue, id, again } => {
                    let key = (queue.clone(), *id);
                    if self.chapter_pubsub {
                        let n = b.arrivals.entry(queue.clone()).or_default();
                        let position = *n;
                        b.copies.entry(key.clone()).or_insert_with(|| {
                            *n += 1;
                            Copy { position, ..Copy::default() }
                        });
                    }
                    if let Some(c) = b.copies.get_mut(&key) {
                        c.applied += 1;
                        if *again && b.first_twice.is_none() {
                            b.first_twice = Some((queue.clone(), *id, o.time));
                        }
                        if c.applied == 1
                            && let Some(p) = b.published.get(id)
                        {
                            b.effect_us.push(o.time.saturating_since(*p).as_micros());
                        }
                        let position = c.position;
                        if let Some((last, later)) = b.last_applied.get(queue)
                            && position < *last
                            && b.out_of_order.is_none()
                        {
                            b.out_of_order = Some((queue.clone(), *id, *later, o.time));
                        }
                        let last = b.last_applied.entry(queue.clone()).or_insert((position, *id));
                        if position >= last.0 {
                            *last = (position, *id);
                        }
                    }
                }
                MqObs::Skipped { queue, id } => {
                    if let Some(c) = b.copies.get_mut(&(queue.clone(), *id)) {
                        c.skipped += 1;
                    }
                }
                MqObs::Swallowed { id, .. } => b.swallowed.push((*id, o.time)),
                MqObs::HandlerFailed { .. } => b.handler_failures += 1,
                MqObs::Retry { .. } | MqObs::Synced { .. } | MqObs::Recovered { .. } | MqObs::Assigned { .. } => {}
            }
        }
        b
    }

    /// The queues each confirmed message should reach: where the broker queued it, or, for the
    /// chapter's `PubSub`, every subscriber (each subscribed to every topic).
    fn destinations(&self, b: &Books) -> Vec<(String, u64)> {
        if self.chapter_pubsub {
            return b
                .confirmed
                .keys()
                .flat_map(|id| self.subscriber_queues.iter().map(move |q| (q.clone(), *id)))
                .collect();
        }
        let confirmed: BTreeSet<u64> = b.confirmed.keys().copied().collect();
        b.copies.keys().filter(|(_, id)| confirmed.contains(id)).cloned().collect()
    }

    /// The destinations not settled yet: those still open (at the broker, in a consumer's hands,
    /// or unknown while the broker is down) and those lost.
    fn fates(&self, sim: &Sim<MqProtocol>, b: &Books, destinations: &[(String, u64)]) -> (Destinations, Destinations) {
        let broker = self.broker(sim);
        let mut open = Vec::new();
        let mut lost = Vec::new();
        for (queue, id) in destinations {
            let c = b.copies.get(&(queue.clone(), *id)).cloned().unwrap_or_default();
            let held = broker.and_then(|br| br.queues().get(queue)).and_then(|q| q.message(*id)).map(|m| &m.state);
            let in_hand = || c.consumer.and_then(|n| sim.actor::<Consumer>(n)).is_some_and(|k| k.holds(queue, *id));
            let fate = match held {
                _ if self.chapter_pubsub => {
                    if c.applied > 0 {
                        Fate::Settled
                    } else {
                        Fate::Lost
                    }
                }
                Some(State::Ready | State::InFlight { .. } | State::Delayed { .. }) => Fate::Open,
                _ if c.acked || c.dead => Fate::Settled,
                Some(State::Taken) if in_hand() => Fate::Open,
                // The broker is down: nothing can be said about its queues until it is back.
                _ if broker.is_none() => Fate::Open,
                _ => Fate::Lost,
            };
            match fate {
                Fate::Settled => {}
                Fate::Open => open.push((queue.clone(), *id)),
                Fate::Lost => lost.push((queue.clone(), *id)),
            }
        }
        (open, lost)
    }

    fn broker<'a>(&self, sim: &'a Sim<MqProtocol>) -> Option<&'a Broker> {
        sim.node_id("broker").and_then(|id| sim.actor::<Broker>(id))
    }
}

/// Copies of messages, each named by its queue and its id.
type Destinations = Vec<(String, u64)>;

/// Where a destination stands at the end.
enum Fate {
    Settled,
    /// Still ready, in flight or delayed at the broker.
    Open,
    Lost,
}

fn ids(list: &[(String, u64)]) -> String {
    let shown: Vec<String> = list.iter().take(5).map(|(q, id)| format!("{id} in {q}")).collect();
    let more = list.len().saturating_sub(5);
    if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

fn percentile(values: &[u64], p: u64) -> Option<u64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len() as u64;
    if n == 0 {
        return None;
    }
    let i = usize::try_from((p * n).div_ceil(100).saturating_sub(1).min(n - 1)).unwrap_or(0);
    Some(v[i])
}

/// The run's counters, as the summary and the page's live counters show them.
fn counts(b: &Books) -> serde_json::Map<String, serde_json::Value> {
    let mut s = serde_json::Map::new();
    let copies = b.copies.values();
    s.insert("published".into(), b.published.len().into());
    s.insert("confirmed".into(), b.confirmed.len().into());
    s.insert("refused".into(), b.refused.into());
    s.insert("delivered".into(), copies.clone().map(|c| u64::from(c.deliveries)).sum::<u64>().into());
    s.insert(
        "redelivered".into(),
        copies.clone().map(|c| u64::from(c.deliveries.saturating_sub(1))).sum::<u64>().into(),
    );
    s.insert("acked".into(), copies.clone().filter(|c| c.acked).count().into());
    s.insert("dead_lettered".into(), copies.clone().filter(|c| c.dead).count().into());
    s.insert("applied_twice".into(), copies.clone().filter(|c| c.applied > 1).count().into());
    s.insert("skipped".into(), copies.clone().map(|c| u64::from(c.skipped)).sum::<u64>().into());
    s.insert("swallowed".into(), b.swallowed.len().into());
    s.insert("handler_failures".into(), b.handler_failures.into());
    s
}

impl Judge<MqProtocol> for MqJudge {
    fn verdicts(&self, sim: &Sim<MqProtocol>) -> Vec<Verdict> {
        let b = self.books(sim);
        let destinations = self.destinations(&b);
        let (open, lost) = self.fates(sim, &b, &destinations);
        let promise = |v: Verdict, promised: bool| if promised { v } else { v.unpromised() };
        let mut out = Vec::new();
        let settled = if !b.acked_then_dead.is_empty() {
            Verdict::fails("settled", msg!("mq.acked_then_dead", messages = ids(&b.acked_then_dead)))
        } else if !lost.is_empty() || !open.is_empty() {
            Verdict::fails(
                "settled",
                msg!(
                    "mq.unsettled",
                    lost = lost.len(),
                    open = open.len(),
                    messages = ids(&[lost.clone(), open].concat())
                ),
            )
        } else {
            Verdict::holds(
                "settled",
                msg!(
                    "mq.settled",
                    messages = destinations.len(),
                    confirmed = b.confirmed.len(),
                    unconfirmed = b.published.len() - b.confirmed.len()
                ),
            )
        };
        out.push(promise(settled, self.promise_settled));
        let no_loss = if lost.is_empty() {
            Verdict::holds("no_loss", msg!("mq.none_lost", confirmed = b.confirmed.len()))
        } else {
            Verdict::fails("no_loss", msg!("mq.lost", lost = lost.len(), messages = ids(&lost)))
        };
        out.push(promise(no_loss, self.promise_no_loss));
        let twice: Vec<(String, u64)> =
            b.copies.iter().filter(|(_, c)| c.applied > 1).map(|(k, _)| k.clone()).collect();
        let once = match &b.first_twice {
            Some((_, _, at)) => Verdict::fails(
                "effectively_once",
                msg!("mq.applied_twice", count = twice.len(), messages = ids(&twice)),
            )
            .at(at.as_micros()),
            None => {
                let skipped: u32 = b.copies.values().map(|c| c.skipped).sum();
                let applied = b.copies.values().filter(|c| c.applied > 0).count();
                Verdict::holds("effectively_once", msg!("mq.applied_once", applied = applied, skipped = skipped))
            }
        };
        out.push(promise(once, self.promise_once));
        if self.partitioned {
            let order = match &b.out_of_order {
                Some((queue, id, later, at)) => Verdict::fails(
                    "partition_order",
                    msg!("mq.out_of_order", queue = queue.as_str(), id = *id, later = *later),
                )
                .at(at.as_micros()),
                None => Verdict::holds("partition_order", msg!("mq.in_order", partitions = b.arrivals.len())),
            };
            out.push(promise(order, self.promise_once));
        }
        out.push(match b.swallowed.first() {
            Some((_, at)) => {
                Verdict::fails("errors_reported", msg!("mq.swallowed", count = b.swallowed.len())).at(at.as_micros())
            }
            None => Verdict::holds("errors_reported", msg!("mq.errors_reported", failures = b.handler_failures)),
        });
        let delayed = b.copies.values().filter(|c| c.until_us.is_some()).count();
        out.push(match &b.early {
            Some((queue, id, at)) => {
                Verdict::fails("delay_respected", msg!("mq.early", queue = queue.as_str(), id = *id)).at(at.as_micros())
            }
            None => Verdict::holds("delay_respected", msg!("mq.on_time", delayed = delayed)),
        });
        out
    }

    /// The 46.2 view's picture: each queue's messages by state (acked ones only counted), those
    /// lost from it, the live counters, and every message's journey through the observations.
    fn view(&self, sim: &Sim<MqProtocol>) -> serde_json::Value {
        let b = self.books(sim);
        let name = |n: NodeId| sim.node_name(n).unwrap_or("?").to_owned();
        let destinations = self.destinations(&b);
        let (open, lost) = self.fates(sim, &b, &destinations);
        let broker = self.broker(sim);
        let queue_names =
            if self.chapter_pubsub { self.subscriber_queues.clone() } else { self.topology.queue_names() };
        let queues: Vec<serde_json::Value> = queue_names
            .iter()
            .map(|q| {
                let held = broker.and_then(|br| br.queues().get(q));
                let messages: Vec<serde_json::Value> = held
                    .map(|queue| {
                        queue
                            .messages()
                            .filter(|m| match m.state {
                                State::Acked => false,
                                // The chapter's queue keeps nothing of a taken message: it is shown
                                // while a consumer holds it, then settled or lost.
                                State::Taken => open.contains(&(q.clone(), m.id)),
                                _ => true,
                            })
                            .map(|m| {
                                let mut v = serde_json::json!({
                                    "id": m.id, "state": state_name(&m.state), "deliveries": m.deliveries,
                                    "error": m.last_error, "poison": m.body == POISON,
                                });
                                match &m.state {
                                    State::InFlight { consumer, deadline_us } => {
                                        v["consumer"] = name(*consumer).into();
                                        v["deadline_us"] = (*deadline_us).into();
                                    }
                                    State::Delayed { until_us } => v["until_us"] = (*until_us).into(),
                                    State::Dead { error } => v["error"] = error.as_str().into(),
                                    _ => {}
                                }
                                v
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let acked = held.map_or(0, |queue| queue.messages().filter(|m| m.state == State::Acked).count());
                let lost: Vec<u64> = lost.iter().filter(|(lq, _)| lq == q).map(|(_, id)| *id).collect();
                serde_json::json!({
                    "name": q, "capacity": held.map(|queue| queue.config().capacity),
                    "acked": acked, "messages": messages, "lost": lost,
                })
            })
            .collect();
        let mut journeys: BTreeMap<u64, Vec<serde_json::Value>> = BTreeMap::new();
        for o in sim.observations() {
            let id = match &o.obs {
                MqObs::Published { id, .. }
                | MqObs::Confirmed { id }
                | MqObs::Refused { id, .. }
                | MqObs::Enqueued { id, .. }
                | MqObs::Delivered { id, .. }
                | MqObs::Acked { id, .. }
                | MqObs::Retry { id, .. }
                | MqObs::Dead { id, .. }
                | MqObs::HandlerFailed { id, .. }
                | MqObs::Applied { id, .. }
                | MqObs::Skipped { id, .. }
                | MqObs::Swallowed { id, .. } => *id,
                MqObs::Synced { .. } | MqObs::Recovered { .. } | MqObs::Assigned { .. } => continue,
            };
            let Ok(mut step) = serde_json::to_value(&o.obs) else { continue };
            for field in ["consumer", "subscriber"] {
                if let Some(n) = step.get(field).and_then(serde_json::Value::as_u64).and_then(|n| u32::try_from(n).ok())
                {
                    step[field] = name(NodeId(n)).into();
                }
            }
            step["t"] = o.time.as_micros().into();
            step["node"] = name(o.node).into();
            journeys.entry(id).or_default().push(step);
        }
        let mut counters = counts(&b);
        counters.insert("lost".into(), lost.len().into());
        serde_json::json!({
            "chapter_pubsub": self.chapter_pubsub,
            "visibility_us": self.visibility_us,
            "queues": queues,
            "counters": counters,
            "journeys": journeys,
        })
    }

    fn summary(&self, sim: &Sim<MqProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let b = self.books(sim);
        let mut s = counts(&b);
        s.insert("confirm_p50_ms".into(), percentile(&b.confirm_us, 50).map(|v| v / 1_000).into());
        s.insert("confirm_p99_ms".into(), percentile(&b.confirm_us, 99).map(|v| v / 1_000).into());
        s.insert("effect_p50_ms".into(), percentile(&b.effect_us, 50).map(|v| v / 1_000).into());
        s.insert("effect_p99_ms".into(), percentile(&b.effect_us, 99).map(|v| v / 1_000).into());
        s.insert("queues".into(), self.topology.queue_names().len().into());
        s
    }
}
