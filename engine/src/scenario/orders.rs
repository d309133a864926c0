//! What the transaction scenarios (`2pc`, `tcc`, `saga`, `saga-choreo`, `outbox`, `saga-store`)
//! share: the knobs of their orders and of their lossy network (flattened into each scenario's
//! configuration, so the JSON fields stay flat), each service's starting amount, and where the
//! three services sit in the world.

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, NodeId, Protocol};
use crate::config::ConfigError;
use crate::sim::{LinkConfig, Ratio, Sim, SimDuration, SimError};
use crate::txn::ServiceKind;

/// The orders every transaction scenario places, and the one failure a learner may inject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderKnobs {
    pub orders: u64,
    pub interval_ms: u64,
    pub price: i64,
    /// Units of stock, and orders' worth of the customer's money, at the start.
    pub stock: i64,
    /// The order (0: none) whose step `fail_step` (1 inventory, 2 payment, 3 shipping) fails.
    pub fail_order: u64,
    pub fail_step: u32,
}

impl Default for OrderKnobs {
    fn default() -> Self {
        OrderKnobs { orders: 20, interval_ms: 200, price: 10, stock: 15, fail_order: 0, fail_step: 3 }
    }
}

impl OrderKnobs {
    /// Checks the orders, the goods and the injected failure; `orders_total` is how many orders
    /// the whole world places (several coordinators each place `orders`).
    pub(super) fn validate(&self, orders_total: u64) -> Result<(), ConfigError> {
        check_orders(self.orders, self.interval_ms)?;
        check_goods(self.price, self.stock)?;
        ConfigError::check_range("fail_order", self.fail_order, 0, orders_total)?;
        ConfigError::check_range("fail_step", self.fail_step, 1, 3)
    }

    pub(super) fn interval(&self) -> SimDuration {
        SimDuration::from_millis(self.interval_ms)
    }

    /// The order whose step fails at `kind`, if the injected failure is at its step.
    pub(super) fn refused_at(&self, kind: ServiceKind) -> Option<u64> {
        (self.fail_order > 0 && kind.step() == self.fail_step).then_some(self.fail_order)
    }

    /// What a service starts with: `stock` units, `stock` orders' worth of money, `slots` slots.
    pub(super) fn initial(&self, kind: ServiceKind, slots: i64) -> i64 {
        initial(kind, self.stock, self.price, slots)
    }
}

/// A network that loses, repeats and reorders the given shares of messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LossyKnobs {
    pub loss_percent: u32,
    pub duplicate_percent: u32,
    pub reorder_percent: u32,
}

impl LossyKnobs {
    /// The checked link, reordered messages held back by up to `reorder_delay_ms`.
    pub(super) fn link(&self, reorder_delay_ms: u64) -> Result<LinkConfig, ConfigError> {
        lossy_link(self.loss_percent, self.duplicate_percent, self.reorder_percent, reorder_delay_ms)
    }
}

/// Where the services sit: node 0 drives the orders (a coordinator, an orchestrator, an order
/// placer), and the services follow in step order, so the driver knows their ids before they
/// exist.
pub(super) const SERVICES: [(ServiceKind, NodeId); 3] =
    [(ServiceKind::Inventory, NodeId(1)), (ServiceKind::Payment, NodeId(2)), (ServiceKind::Shipping, NodeId(3))];

/// Adds the three services where [`SERVICES`] says, once the driver is node 0.
pub(super) fn add_services<P: Protocol, A: Actor<P>, F: Fn(Option<A::Durable>) -> A + 'static>(
    sim: &mut Sim<P>,
    mut service: impl FnMut(ServiceKind) -> F,
) -> Result<(), SimError> {
    assert_eq!(sim.node_count(), 1, "the driver of the orders is node 0, added before the services");
    for (kind, id) in SERVICES {
        let added = sim.add_node(kind.name(), service(kind))?;
        assert_eq!(added, id, "services are added in step order after the driver");
    }
    Ok(())
}

/// Checks how many orders are placed, and how often.
pub(super) fn check_orders(orders: u64, interval_ms: u64) -> Result<(), ConfigError> {
    ConfigError::check_range("orders", orders, 0, 100_000)?;
    ConfigError::check_range("interval_ms", interval_ms, 1, 60_000)
}

/// Checks an order's price and the stock on hand.
pub(super) fn check_goods(price: i64, stock: i64) -> Result<(), ConfigError> {
    ConfigError::check_range("price", price, 1, 1_000_000)?;
    ConfigError::check_range("stock", stock, 0, 1_000_000)
}

/// What a service starts with: `stock` units, `stock` orders' worth of money, `slots` slots.
pub(super) fn initial(kind: ServiceKind, stock: i64, price: i64, slots: i64) -> i64 {
    match kind {
        ServiceKind::Inventory => stock,
        ServiceKind::Payment => stock * price,
        ServiceKind::Shipping => slots,
    }
}

/// A link that loses, repeats and delays (by up to `reorder_delay_ms`) the given shares of
/// messages, after checking them.
pub(super) fn lossy_link(
    loss_percent: u32,
    duplicate_percent: u32,
    reorder_percent: u32,
    reorder_delay_ms: u64,
) -> Result<LinkConfig, ConfigError> {
    ConfigError::check_range("loss_percent", loss_percent, 0, 50)?;
    ConfigError::check_range("duplicate_percent", duplicate_percent, 0, 50)?;
    ConfigError::check_range("reorder_percent", reorder_percent, 0, 50)?;
    ConfigError::check_range("reorder_delay_ms", reorder_delay_ms, 0, 60_000)?;
    Ok(LinkConfig {
        loss: Ratio::percent(loss_percent),
        duplicate: Ratio::percent(duplicate_percent),
        reorder: Ratio::percent(reorder_percent),
        reorder_delay_max_us: reorder_delay_ms * 1_000,
        ..LinkConfig::default()
    })
}
