//! Scenario `outbox` (46.7.3): an order service writes each order and its message in one local
//! transaction, a relay publishes until acknowledged, and the consumer deduplicates. Judged
//! (`delivered`): exactly the committed orders were applied by the consumer, once each, and none
//! that was rolled back. Promised with the outbox; `"dual_write": true` sends the message
//! directly after the commit instead, which a crash or a lost message breaks.

use crate::msg;
use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup, orders};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::sim::{Sim, SimDuration, SimTime};
use crate::txn::outbox::{Consumer, OrderService, OutboxObs, OutboxProtocol};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutboxConfig {
    pub orders: u64,
    pub interval_ms: u64,
    /// One order in this many fails validation and is rolled back (0: none).
    pub reject_every: u64,
    pub dual_write: bool,
    pub loss_percent: u32,
    pub duplicate_percent: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            orders: 30,
            interval_ms: 100,
            reject_every: 5,
            dual_write: false,
            loss_percent: 0,
            duplicate_percent: 0,
        }
    }
}

impl Knobs for OutboxConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        orders::check_orders(self.orders, self.interval_ms)?;
        ConfigError::check_range("reject_every", self.reject_every, 0, 100_000)?;
        Ok(())
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: OutboxConfig = setup.config()?;
    let mut sim = setup.sim(orders::lossy_link(cfg.loss_percent, cfg.duplicate_percent, 0, 0)?);
    let consumer = sim.add_node("shipping", Consumer::new)?;
    let (orders, interval, reject, dual) =
        (cfg.orders, SimDuration::from_millis(cfg.interval_ms), cfg.reject_every, cfg.dual_write);
    sim.add_node("orders", move |d| OrderService::new(consumer, orders, interval, reject, dual, d))?;
    let end = SimTime::from_millis(cfg.orders * cfg.interval_ms + 10_000);
    setup.run(sim, end, OutboxJudge { promised: !cfg.dual_write })
}

#[derive(Clone)]
struct OutboxJudge {
    promised: bool,
}

impl Judge<OutboxProtocol> for OutboxJudge {
    /// Every order's state at each actor over time (46.7.3), for the page's grid and lanes.
    fn view(&self, sim: &Sim<OutboxProtocol>) -> serde_json::Value {
        crate::txn::view::view(sim)
    }

    fn verdicts(&self, sim: &Sim<OutboxProtocol>) -> Vec<Verdict> {
        let orders = sim.node_id("orders").and_then(|id| sim.actor::<OrderService>(id));
        let consumer = sim.node_id("shipping").and_then(|id| sim.actor::<Consumer>(id));
        let (Some(orders), Some(consumer)) = (orders, consumer) else {
            return vec![Verdict::fails("delivered", msg!("txn.service_down"))];
        };
        let committed = orders.committed();
        let applied: std::collections::BTreeSet<u64> = consumer.applied().values().copied().collect();
        let missing: Vec<u64> = committed.difference(&applied).copied().collect();
        let extra: Vec<u64> = applied.difference(committed).copied().collect();
        let mut times: std::collections::BTreeMap<u64, u32> = std::collections::BTreeMap::new();
        for o in sim.observations() {
            if let OutboxObs::Applied { order, .. } = o.obs {
                *times.entry(order).or_default() += 1;
            }
        }
        let twice: Vec<u64> = times.iter().filter(|(_, n)| **n > 1).map(|(&order, _)| order).collect();
        let mut v = if !twice.is_empty() {
            Verdict::fails("delivered", msg!("txn.applied_twice", orders = format!("{twice:?}")))
        } else if !extra.is_empty() {
            Verdict::fails("delivered", msg!("txn.applied_uncommitted", orders = format!("{extra:?}")))
        } else if !missing.is_empty() {
            Verdict::fails("delivered", msg!("txn.never_arrived", orders = format!("{missing:?}")))
        } else {
            Verdict::holds("delivered", msg!("txn.applied_once", orders = committed.len()))
        };
        v.promised = self.promised;
        vec![v]
    }

    fn summary(&self, sim: &Sim<OutboxProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let count = |f: &dyn Fn(&OutboxObs) -> bool| sim.observations().iter().filter(|o| f(&o.obs)).count();
        let mut s = serde_json::Map::new();
        s.insert("committed".into(), count(&|o| matches!(o, OutboxObs::Committed { .. })).into());
        s.insert("rolled_back".into(), count(&|o| matches!(o, OutboxObs::RolledBack { .. })).into());
        s.insert("applied".into(), count(&|o| matches!(o, OutboxObs::Applied { .. })).into());
        s.insert("duplicates".into(), count(&|o| matches!(o, OutboxObs::Duplicate { .. })).into());
        s
    }
}
