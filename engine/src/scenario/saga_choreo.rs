//! Scenario `saga-choreo` (46.7.3): the orders of `saga` as a choreography — no orchestrator; the
//! order service and the three services react to each other's events, each with a durable outbox
//! republishing until acknowledged. Same settings, same verdicts as `saga` (atomicity,
//! conservation, nothing dropped), so the two can be compared on the same seed.

use serde::{Deserialize, Serialize};

use super::{Judge, Run, ScenarioRun, ScenarioSpec, orders, saga};
use crate::actor::NodeId;
use crate::check::Verdict;
use crate::config::{self, ConfigError};
use crate::sim::{LinkConfig, Sim, SimConfig, SimDuration, SimTime};
use crate::txn::ServiceKind;
use crate::txn::choreography::{ChoreoProtocol, ChoreoService, Neighbours, OrderPlacer};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChoreoConfig {
    pub orders: u64,
    pub interval_ms: u64,
    pub price: i64,
    pub stock: i64,
    /// Below `stock`, the last orders find no slot at the third step and are compensated.
    pub shipping_slots: i64,
    pub loss_percent: u32,
    pub duplicate_percent: u32,
    pub reorder_percent: u32,
    /// The order (0: none) whose step `fail_step` (1 inventory, 2 payment, 3 shipping) fails.
    pub fail_order: u64,
    pub fail_step: u32,
}

impl Default for ChoreoConfig {
    fn default() -> Self {
        ChoreoConfig {
            orders: 20,
            interval_ms: 200,
            price: 10,
            stock: 15,
            shipping_slots: 15,
            loss_percent: 0,
            duplicate_percent: 0,
            reorder_percent: 0,
            fail_order: 0,
            fail_step: 3,
        }
    }
}

impl ChoreoConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        orders::check_orders(self.orders, self.interval_ms)?;
        orders::check_goods(self.price, self.stock)?;
        ConfigError::check_range("shipping_slots", self.shipping_slots, 0, 1_000_000)?;
        orders::check_failure(self.fail_order, self.fail_step, self.orders)
    }

    fn initial(&self, kind: ServiceKind) -> i64 {
        orders::initial(kind, self.stock, self.price, self.shipping_slots)
    }
}

pub(super) fn build(
    spec: &'static ScenarioSpec,
    raw: &serde_json::Value,
    seed: u64,
) -> Result<Box<dyn ScenarioRun>, ConfigError> {
    let cfg: ChoreoConfig = config::from_json(raw)?;
    cfg.validate()?;
    let mut sim_config = SimConfig::new(seed);
    let reorder_delay_ms = LinkConfig::default().reorder_delay_max_us / 1_000;
    sim_config.default_link =
        orders::lossy_link(cfg.loss_percent, cfg.duplicate_percent, cfg.reorder_percent, reorder_delay_ms)?;
    let mut sim = Sim::new(sim_config);
    let bad = |e: crate::sim::SimError| ConfigError::Parse(e.to_string());
    // Ids are known before the nodes exist: orders 0, then the services in step order.
    let to = Neighbours { orders: NodeId(0), inventory: NodeId(1), payment: NodeId(2), shipping: NodeId(3) };
    let (orders, interval) = (cfg.orders, SimDuration::from_millis(cfg.interval_ms));
    let mut ids =
        vec![sim.add_node("orders", move |d| OrderPlacer::new(to.inventory, orders, interval, d)).map_err(bad)?];
    for kind in ServiceKind::ALL {
        let (initial, price) = (cfg.initial(kind), cfg.price);
        let refuses = orders::refused_at(kind, cfg.fail_order, cfg.fail_step);
        ids.push(
            sim.add_node(kind.name(), move |d| ChoreoService::new(kind, initial, to, price, refuses, d))
                .map_err(bad)?,
        );
    }
    if ids != [to.orders, to.inventory, to.payment, to.shipping] {
        return Err(ConfigError::Parse(format!("the choreography's nodes got unexpected ids {ids:?}")));
    }
    let end = SimTime::from_millis(cfg.orders * cfg.interval_ms + 10_000);
    Ok(Box::new(Run { spec, seed, default_until: end, sim, judge: ChoreoJudge { cfg } }))
}

struct ChoreoJudge {
    cfg: ChoreoConfig,
}

impl Judge<ChoreoProtocol> for ChoreoJudge {
    fn verdicts(&self, sim: &Sim<ChoreoProtocol>) -> Vec<Verdict> {
        let accounts = ServiceKind::ALL.map(|kind| {
            let service = sim.node_id(kind.name()).and_then(|id| sim.actor::<ChoreoService>(id));
            (kind, service.map(ChoreoService::account))
        });
        saga::verdicts(&accounts, |kind| self.cfg.initial(kind), sim.observations().iter().map(|o| &o.obs))
    }

    fn summary(&self, sim: &Sim<ChoreoProtocol>) -> serde_json::Map<String, serde_json::Value> {
        saga::summary(sim.observations().iter().map(|o| &o.obs))
    }
}
