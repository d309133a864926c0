//! Scenario `mq-streams` (46.2): the reliable queue on Redis Streams in a persistent store — the
//! very actors `distlab mq` runs on a real Redis. Producers publish through `mq_publish`, some
//! messages delayed, some poison; consumers read with `XREADGROUP`, claim what a crashed one left
//! pending with `XAUTOCLAIM`, dead-letter with `mq_dead_letter`, and write effects with
//! `consume_once`. Consumers crash and restart at seeded moments; the store's link is reliable (a
//! connection) and the store does not crash.
//!
//! Judged once quiet, from the store alone ([`StreamAudit`]): `settled` (every message applied
//! or dead-lettered, exactly one of the two, once; nothing pending or delayed), `no_loss`, and
//! `effectively_once` (promised with dedup).

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::mq::streams::{
    ConsumeConfig, GROUP, PublishPlan, StreamAudit, StreamConsumer, StreamKeys, StreamObs, StreamProducer,
    StreamSnapshot, StreamsProtocol,
};
use crate::msg;
use crate::sim::{Fault, LinkConfig, Ratio, Sim, SimDuration, SimTime};
use crate::store::{StoreConfig, StoreNode};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MqStreamsConfig {
    pub producers: u64,
    pub consumers: u64,
    pub messages: u64,
    pub fail_percent: u32,
    pub poison_every: u64,
    pub delay_every: u64,
    pub delay_ms: u64,
    pub visibility_ms: u64,
    pub max_deliveries: u64,
    pub batch: u64,
    pub work_min_ms: u64,
    pub work_max_ms: u64,
    pub dedup: bool,
    /// Consumer crashes, each restarted after 100–800 ms.
    pub crashes: u64,
}

impl Default for MqStreamsConfig {
    fn default() -> Self {
        MqStreamsConfig {
            producers: 2,
            consumers: 3,
            messages: 200,
            fail_percent: 10,
            poison_every: 25,
            delay_every: 10,
            delay_ms: 500,
            visibility_ms: 500,
            max_deliveries: 5,
            batch: 10,
            work_min_ms: 1,
            work_max_ms: 20,
            dedup: true,
            crashes: 3,
        }
    }
}

impl Knobs for MqStreamsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("producers", self.producers, 1, 100)?;
        ConfigError::check_range("consumers", self.consumers, 1, 100)?;
        ConfigError::check_range("messages", self.messages, 0, 100_000)?;
        ConfigError::check_range("fail_percent", self.fail_percent, 0, 90)?;
        ConfigError::check_range("poison_every", self.poison_every, 0, 100_000)?;
        ConfigError::check_range("delay_every", self.delay_every, 0, 100_000)?;
        ConfigError::check_range("delay_ms", self.delay_ms, 0, 60_000)?;
        ConfigError::check_range("visibility_ms", self.visibility_ms, 1, 60_000)?;
        ConfigError::check_range("max_deliveries", self.max_deliveries, 1, 100)?;
        ConfigError::check_range("batch", self.batch, 1, 1_000)?;
        ConfigError::check_range("work_min_ms", self.work_min_ms, 0, 10_000)?;
        ConfigError::check_range("work_max_ms", self.work_max_ms, self.work_min_ms, 10_000)?;
        ConfigError::check_range("crashes", self.crashes, 0, 100)
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: MqStreamsConfig = setup.config()?;
    let mut sim = setup.sim(LinkConfig::default());
    let store = sim.add_node("store", |d| StoreNode::new(StoreConfig { persistent: true }, d))?;
    let keys = StreamKeys::new("mq");
    for p in 0..cfg.producers {
        let plan = PublishPlan {
            first: p + 1,
            step: cfg.producers,
            messages: cfg.messages,
            delay_every: cfg.delay_every,
            delay_ms: cfg.delay_ms,
            poison_every: cfg.poison_every,
            batch: usize::try_from(cfg.batch).unwrap_or(usize::MAX),
            window: 4,
            per_ms: 0,
        };
        let k = keys.clone();
        sim.add_node(format!("producer-{}", p + 1), move |_| StreamProducer::new(store, k.clone(), plan))?;
    }
    for c in 0..cfg.consumers {
        let consume = ConsumeConfig {
            group: GROUP.to_owned(),
            name: format!("consumer-{}", c + 1),
            batch: cfg.batch,
            visibility_ms: cfg.visibility_ms,
            max_deliveries: cfg.max_deliveries,
            work_min_us: cfg.work_min_ms * 1_000,
            work_max_us: cfg.work_max_ms * 1_000,
            fail: Ratio::percent(cfg.fail_percent),
            dedup: cfg.dedup,
            poll_ms: 20,
            block_ms: 0,
        };
        let k = keys.clone();
        sim.add_node(consume.name.clone(), move |_| StreamConsumer::new(store, k.clone(), consume.clone()))?;
    }
    let mut rng = crate::sim::Rng::new(setup.seed() ^ 0x6d71_7374);
    for _ in 0..cfg.crashes {
        let node = format!("consumer-{}", rng.below(cfg.consumers) + 1);
        let at = SimTime::from_millis(rng.between(200, 3_000));
        sim.schedule(at, Fault::Crash { node: node.clone() });
        sim.schedule(at + SimDuration::from_millis(rng.between(100, 800)), Fault::Restart { node });
    }
    // Every message's worst case: all its deliveries failed, each after a visibility timeout.
    let worst = cfg.max_deliveries * (cfg.visibility_ms + cfg.work_max_ms + 100);
    let end =
        SimTime::from_millis(cfg.messages * (cfg.work_max_ms + 5) / cfg.consumers + cfg.delay_ms + worst + 10_000);
    setup.run(sim, end, MqStreamsJudge { cfg, keys })
}

#[derive(Clone)]
struct MqStreamsJudge {
    cfg: MqStreamsConfig,
    keys: StreamKeys,
}

impl MqStreamsJudge {
    fn audit(&self, sim: &Sim<StreamsProtocol>) -> Option<StreamAudit> {
        let store = sim.node_id("store").and_then(|id| sim.actor::<StoreNode>(id))?;
        let mut keyspace = store.keyspace().clone();
        let now_ms = i64::try_from(sim.now().as_millis()).unwrap_or(i64::MAX);
        let replies: Vec<_> =
            StreamSnapshot::commands(&self.keys).iter().map(|cmd| keyspace.apply(now_ms, cmd)).collect();
        Some(StreamAudit::of(&StreamSnapshot::from_replies(&replies), self.cfg.messages, self.cfg.dedup))
    }
}

fn ids(list: &[u64]) -> String {
    let shown: Vec<String> = list.iter().take(5).map(u64::to_string).collect();
    let more = list.len().saturating_sub(5);
    if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

impl Judge<StreamsProtocol> for MqStreamsJudge {
    fn verdicts(&self, sim: &Sim<StreamsProtocol>) -> Vec<Verdict> {
        let Some(a) = self.audit(sim) else {
            return vec![Verdict::fails("settled", msg!("txn.store_down"))];
        };
        let open = a.pending + a.delayed + a.unpublished.len() as u64;
        let settled = if !a.settled_twice.is_empty() {
            Verdict::fails("settled", msg!("mq.acked_then_dead", messages = ids(&a.settled_twice)))
        } else if !a.lost.is_empty() || open > 0 {
            Verdict::fails(
                "settled",
                msg!(
                    "mq.unsettled",
                    lost = a.lost.len(),
                    open = open,
                    messages = ids(&[a.lost.clone(), a.unpublished.clone()].concat())
                ),
            )
        } else {
            Verdict::holds(
                "settled",
                msg!("mq.settled", messages = a.messages, confirmed = a.published, unconfirmed = 0),
            )
        };
        let no_loss = if a.lost.is_empty() {
            Verdict::holds("no_loss", msg!("mq.none_lost", confirmed = a.published))
        } else {
            Verdict::fails("no_loss", msg!("mq.lost", lost = a.lost.len(), messages = ids(&a.lost)))
        };
        let skipped = sim.observations().iter().filter(|o| matches!(o.obs, StreamObs::Skipped { .. })).count();
        let once = if a.applied_twice.is_empty() {
            Verdict::holds("effectively_once", msg!("mq.applied_once", applied = a.applied, skipped = skipped))
        } else {
            Verdict::fails(
                "effectively_once",
                msg!("mq.applied_twice", count = a.applied_twice.len(), messages = ids(&a.applied_twice)),
            )
        };
        vec![settled, no_loss, if self.cfg.dedup { once } else { once.unpromised() }]
    }

    fn summary(&self, sim: &Sim<StreamsProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let mut s = serde_json::Map::new();
        if let Some(a) = self.audit(sim) {
            s.insert("published".into(), a.published.into());
            s.insert("applied".into(), a.applied.into());
            s.insert("dead_lettered".into(), a.dead_lettered.into());
            s.insert("applied_twice".into(), a.applied_twice.len().into());
        }
        let count = |f: &dyn Fn(&StreamObs) -> u64| sim.observations().iter().map(|o| f(&o.obs)).sum::<u64>();
        s.insert(
            "redelivered".into(),
            count(&|o| u64::from(matches!(o, StreamObs::Delivered { deliveries, .. } if *deliveries > 1))).into(),
        );
        s.insert("claimed".into(), count(&|o| if let StreamObs::Claimed { count } = o { *count } else { 0 }).into());
        s.insert("promoted".into(), count(&|o| if let StreamObs::Promoted { count } = o { *count } else { 0 }).into());
        s.insert("skipped".into(), count(&|o| u64::from(matches!(o, StreamObs::Skipped { .. }))).into());
        s.insert("handler_failures".into(), count(&|o| u64::from(matches!(o, StreamObs::Failed { .. }))).into());
        s
    }
}
