//! Scenario `saga-store` (46.7.3): the orchestrated saga with its accounts, log and outbox in a
//! persistent store — the very actors `distlab saga` runs on a real Redis. Crash the
//! orchestrator, the relay or the consumer at any moment: after a restart every order is
//! completed or rolled back, all-or-nothing, and every event is counted once. The store's link
//! is reliable (a connection), and the store itself does not crash here.
//!
//! Judged once the orders are over, from the store alone ([`SagaAudit`]): `atomicity`,
//! `conservation`, `nothing_dropped` (every order 1..=orders finished) and `delivered` (every
//! outbox event counted once by the consumer, none left).

use crate::msg;
use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup, orders};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::sim::{LinkConfig, Sim, SimTime};
use crate::store::{StoreConfig, StoreNode};
use crate::txn::ServiceKind;
use crate::txn::saga_store::{
    EventConsumer, OutboxRelay, SagaAudit, SagaKeys, SagaPlan, SagaSnapshot, SagaStoreObs, SagaStoreProtocol,
    StoreOrchestrator,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SagaStoreConfig {
    pub orders: u64,
    /// Sagas in flight at once.
    pub concurrency: u64,
    pub price: i64,
    pub stock: i64,
    /// Below `stock`, the last orders' third step fails and they are compensated.
    pub shipping_slots: i64,
}

impl Default for SagaStoreConfig {
    fn default() -> Self {
        SagaStoreConfig { orders: 40, concurrency: 4, price: 10, stock: 30, shipping_slots: 25 }
    }
}

impl Knobs for SagaStoreConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("orders", self.orders, 0, 100_000)?;
        ConfigError::check_range("concurrency", self.concurrency, 1, 1_000)?;
        orders::check_goods(self.price, self.stock)?;
        ConfigError::check_range("shipping_slots", self.shipping_slots, 0, 1_000_000)
    }
}

impl SagaStoreConfig {
    pub fn plan(&self) -> SagaPlan {
        let initial = ServiceKind::ALL.map(|k| orders::initial(k, self.stock, self.price, self.shipping_slots));
        SagaPlan { orders: self.orders, concurrency: self.concurrency, price: self.price, initial }
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: SagaStoreConfig = setup.config()?;
    let mut sim = setup.sim(LinkConfig::default());
    let store = sim.add_node("store", |d| StoreNode::new(StoreConfig { persistent: true }, d))?;
    let keys = SagaKeys::new("saga");
    let plan = cfg.plan();
    let k = keys.clone();
    sim.add_node("orchestrator", move |_| StoreOrchestrator::new(store, k.clone(), plan))?;
    let k = keys.clone();
    let consumer = sim.add_node("consumer", move |_| EventConsumer::new(store, k.clone()))?;
    let k = keys.clone();
    sim.add_node("relay", move |_| OutboxRelay::new(store, consumer, k.clone()))?;
    // Each saga is at most six store round trips of at most ~10 ms, in rounds of `concurrency`.
    let end = SimTime::from_millis(cfg.orders.div_ceil(cfg.concurrency) * 100 + 5_000);
    setup.run(sim, end, SagaStoreJudge { cfg, keys })
}

#[derive(Clone)]
struct SagaStoreJudge {
    cfg: SagaStoreConfig,
    keys: SagaKeys,
}

impl SagaStoreJudge {
    fn audit(&self, sim: &Sim<SagaStoreProtocol>) -> Option<SagaAudit> {
        let store = sim.node_id("store").and_then(|id| sim.actor::<StoreNode>(id))?;
        let mut keyspace = store.keyspace().clone();
        let now_ms = i64::try_from(sim.now().as_millis()).unwrap_or(i64::MAX);
        let replies: Vec<_> =
            SagaSnapshot::commands(&self.keys).iter().map(|cmd| keyspace.apply(now_ms, cmd)).collect();
        Some(SagaAudit::of(&SagaSnapshot::from_replies(&replies), self.cfg.orders, self.cfg.plan().initial))
    }
}

impl Judge<SagaStoreProtocol> for SagaStoreJudge {
    fn verdicts(&self, sim: &Sim<SagaStoreProtocol>) -> Vec<Verdict> {
        let Some(a) = self.audit(sim) else {
            return vec![Verdict::fails("atomicity", msg!("txn.store_down"))];
        };
        let atomicity = if a.partial.is_empty() {
            Verdict::holds("atomicity", msg!("txn.saga_done", completed = a.completed, rolled_back = a.rolled_back))
        } else {
            Verdict::fails("atomicity", msg!("txn.log_disagrees", orders = format!("{:?}", a.partial)))
        };
        let conservation = if a.unbalanced.is_empty() {
            Verdict::holds("conservation", msg!("txn.conserved"))
        } else {
            Verdict::fails("conservation", msg!("txn.unbalanced", services = a.unbalanced.join(", ")))
        };
        let dropped = if a.unfinished.is_empty() {
            Verdict::holds("nothing_dropped", msg!("txn.all_finished", orders = self.cfg.orders))
        } else {
            Verdict::fails("nothing_dropped", msg!("txn.not_finished", orders = format!("{:?}", a.unfinished)))
        };
        let delivered = if a.consumed == a.events && a.outbox_left == 0 {
            Verdict::holds("delivered", msg!("txn.outbox_delivered", events = a.events))
        } else {
            Verdict::fails(
                "delivered",
                msg!("txn.outbox_behind", consumed = a.consumed, events = a.events, left = a.outbox_left),
            )
        };
        vec![atomicity, conservation, dropped, delivered]
    }

    fn summary(&self, sim: &Sim<SagaStoreProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let mut s = serde_json::Map::new();
        if let Some(a) = self.audit(sim) {
            s.insert("completed".into(), a.completed.into());
            s.insert("rolled_back".into(), a.rolled_back.into());
            s.insert("unfinished".into(), a.unfinished.len().into());
            s.insert("outbox_events".into(), a.events.into());
            s.insert("consumed".into(), a.consumed.into());
        }
        let count = |f: &dyn Fn(&SagaStoreObs) -> bool| sim.observations().iter().filter(|o| f(&o.obs)).count();
        s.insert("compensations".into(), count(&|o| matches!(o, SagaStoreObs::Stepped { undo: true, .. })).into());
        s.insert(
            "duplicate_events".into(),
            count(&|o| matches!(o, SagaStoreObs::Consumed { first: false, .. })).into(),
        );
        s.insert(
            "resumed_sagas".into(),
            sim.observations()
                .iter()
                .map(|o| if let SagaStoreObs::Resumed { sagas } = o.obs { sagas } else { 0 })
                .sum::<u64>()
                .into(),
        );
        s
    }
}
