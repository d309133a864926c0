//! Scenario `saga-choreo` (46.7.3): the orders of `saga` as a choreography — no orchestrator; the
//! order service and the three services react to each other's events, each with a durable outbox
//! republishing until acknowledged. Same settings, same verdicts as `saga` (atomicity,
//! conservation, nothing dropped), so the two can be compared on the same seed.

use serde::{Deserialize, Serialize};

use super::orders::{self, LossyKnobs, OrderKnobs};
use super::{Judge, ScenarioError, ScenarioRun, Setup, saga};
use crate::actor::NodeId;
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::sim::{Sim, SimTime};
use crate::txn::ServiceKind;
use crate::txn::choreography::{ChoreoProtocol, ChoreoService, Neighbours, OrderPlacer};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChoreoConfig {
    #[serde(flatten)]
    pub order: OrderKnobs,
    #[serde(flatten)]
    pub network: LossyKnobs,
    /// Below `stock`, the last orders find no slot at the third step and are compensated.
    pub shipping_slots: i64,
}

impl Default for ChoreoConfig {
    fn default() -> Self {
        ChoreoConfig { order: OrderKnobs::default(), network: LossyKnobs::default(), shipping_slots: 15 }
    }
}

impl Knobs for ChoreoConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        self.order.validate(self.order.orders)?;
        self.network.link(saga::SAGA_REORDER_DELAY_MS)?;
        ConfigError::check_range("shipping_slots", self.shipping_slots, 0, 1_000_000)
    }
}

impl ChoreoConfig {
    fn initial(&self, kind: ServiceKind) -> i64 {
        self.order.initial(kind, self.shipping_slots)
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: ChoreoConfig = setup.config()?;
    let mut sim = setup.sim(cfg.network.link(saga::SAGA_REORDER_DELAY_MS)?);
    let [inventory, payment, shipping] = orders::SERVICES.map(|(_, id)| id);
    let to = Neighbours { orders: NodeId(0), inventory, payment, shipping };
    let (orders, interval) = (cfg.order.orders, cfg.order.interval());
    sim.add_node("orders", move |d| OrderPlacer::new(to.inventory, orders, interval, d))?;
    orders::add_services(&mut sim, |kind| {
        let (initial, price, refuses) = (cfg.initial(kind), cfg.order.price, cfg.order.refused_at(kind));
        move |d| ChoreoService::new(kind, initial, to, price, refuses, d)
    })?;
    let end = SimTime::from_millis(cfg.order.orders * cfg.order.interval_ms + 10_000);
    setup.run(sim, end, ChoreoJudge { cfg })
}

#[derive(Clone)]
struct ChoreoJudge {
    cfg: ChoreoConfig,
}

impl Judge<ChoreoProtocol> for ChoreoJudge {
    /// Every order's state at each actor over time (46.7.3), for the page's grid and lanes.
    fn view(&self, sim: &Sim<ChoreoProtocol>) -> serde_json::Value {
        crate::txn::view::view(sim)
    }

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
