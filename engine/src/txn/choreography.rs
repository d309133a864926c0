//! The choreographed saga (46.7.3), for comparison with the orchestrated one ([`super::saga`]):
//! nobody runs the order. The order service announces it; each service reacts to its neighbour's
//! event, does its step and announces the outcome to the next service (or, when it refuses, to
//! the previous one, which compensates and passes the news further back):
//!
//! ```text
//! orders ─OrderPlaced→ inventory ─StockReserved→ payment ─PaymentCharged→ shipping ─ShipmentBooked→ orders
//! orders ←StockRefused─ inventory ←PaymentRefused─ payment ←ShipmentRefused─ shipping
//! orders ←StockReleased─ inventory ←PaymentRefunded─ payment
//! ```
//!
//! What the orchestrator's log gave for free must now live in every service: each keeps its
//! outgoing events in a durable outbox and publishes them until acknowledged, and handles every
//! event idempotently through its per-order step log ([`SagaAccount`]). The flow of an order is
//! nowhere in one place — which is the price the page's swimlanes make visible.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ServiceKind;
use super::saga::{SagaAccount, SagaObs};
use crate::actor::{Actor, Ctx, NodeId, Protocol};
use crate::sim::SimDuration;

#[derive(Debug)]
pub struct ChoreoProtocol;

impl Protocol for ChoreoProtocol {
    type Msg = ChoreoMsg;
    type Obs = SagaObs;
}

/// The domain events of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoreoEvent {
    OrderPlaced,
    StockReserved,
    StockRefused,
    PaymentCharged,
    PaymentRefused,
    ShipmentBooked,
    ShipmentRefused,
    PaymentRefunded,
    StockReleased,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChoreoMsg {
    /// An event about order `tx`; on the way back, `failed` is the step that refused.
    Event {
        tx: u64,
        event: ChoreoEvent,
        failed: Option<ServiceKind>,
    },
    Ack {
        tx: u64,
        event: ChoreoEvent,
    },
}

/// How often unacknowledged events are published again.
const REPUBLISH: SimDuration = SimDuration::from_millis(300);

crate::timers! {
    /// The choreography's timers (the order placer has an outbox too, so it sets both).
    pub enum ChoreoTimer {
        /// Time to republish every outbox event not yet acknowledged.
        Republish = 0,
        /// The order placer's next order.
        NextOrder = 1,
    }
}

/// Events published and not yet acknowledged: (order, event) → (recipient, failed step).
pub type Outbox = BTreeMap<(u64, ChoreoEvent), (NodeId, Option<ServiceKind>)>;

/// Publishes `event` to `to` and keeps it in `outbox` until acknowledged.
fn publish(
    ctx: &mut Ctx<'_, ChoreoProtocol>,
    outbox: &mut Outbox,
    to: NodeId,
    tx: u64,
    event: ChoreoEvent,
    failed: Option<ServiceKind>,
) {
    if outbox.is_empty() {
        ctx.set_timer(ChoreoTimer::Republish, REPUBLISH);
    }
    outbox.insert((tx, event), (to, failed));
    ctx.send(to, ChoreoMsg::Event { tx, event, failed });
}

fn republish(ctx: &mut Ctx<'_, ChoreoProtocol>, outbox: &Outbox) {
    for (&(tx, event), &(to, failed)) in outbox {
        ctx.send(to, ChoreoMsg::Event { tx, event, failed });
    }
    if !outbox.is_empty() {
        ctx.set_timer(ChoreoTimer::Republish, REPUBLISH);
    }
}

/// Who a service talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neighbours {
    pub orders: NodeId,
    pub inventory: NodeId,
    pub payment: NodeId,
    pub shipping: NodeId,
}

/// What survives a service's crash: its account with the per-order step log, and its outbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChoreoServiceState {
    pub account: SagaAccount,
    pub outbox: Outbox,
}

/// A service of the choreography.
#[derive(Clone, Debug)]
pub struct ChoreoService {
    kind: ServiceKind,
    to: Neighbours,
    price: i64,
    /// The one order whose step fails here (a failure injected by the page).
    refuses: Option<u64>,
    state: ChoreoServiceState,
}

impl ChoreoService {
    pub fn new(
        kind: ServiceKind,
        available: i64,
        to: Neighbours,
        price: i64,
        refuses: Option<u64>,
        durable: Option<ChoreoServiceState>,
    ) -> Self {
        let state = durable.unwrap_or(ChoreoServiceState {
            account: SagaAccount { available, ..SagaAccount::default() },
            outbox: Outbox::new(),
        });
        ChoreoService { kind, to, price, refuses, state }
    }

    pub fn account(&self) -> &SagaAccount {
        &self.state.account
    }

    /// The step, then its outcome to the next service (or back, when refused), once.
    fn step(&mut self, ctx: &mut Ctx<'_, ChoreoProtocol>, tx: u64) {
        let amount = if self.kind == ServiceKind::Payment { self.price } else { 1 };
        let (ok, first) = self.state.account.step(tx, amount, self.refuses == Some(tx));
        if !first {
            // A repeat: its outcome was published the first time, from the durable outbox,
            // which delivers it. Publishing again could even mislabel the order (a late repeat
            // after the compensation reads as a refusal here).
            return;
        }
        ctx.observe(SagaObs::Stepped { tx, ok });
        let t = self.to;
        let (to, event, failed) = match (self.kind, ok) {
            (ServiceKind::Inventory, true) => (t.payment, ChoreoEvent::StockReserved, None),
            (ServiceKind::Payment, true) => (t.shipping, ChoreoEvent::PaymentCharged, None),
            (ServiceKind::Shipping, true) => (t.orders, ChoreoEvent::ShipmentBooked, None),
            (ServiceKind::Inventory, false) => (t.orders, ChoreoEvent::StockRefused, Some(self.kind)),
            (ServiceKind::Payment, false) => (t.inventory, ChoreoEvent::PaymentRefused, Some(self.kind)),
            (ServiceKind::Shipping, false) => (t.payment, ChoreoEvent::ShipmentRefused, Some(self.kind)),
        };
        publish(ctx, &mut self.state.outbox, to, tx, event, failed);
    }

    /// The compensation, then the news further back, once.
    fn undo(&mut self, ctx: &mut Ctx<'_, ChoreoProtocol>, tx: u64, failed: Option<ServiceKind>) {
        if !self.state.account.undo(tx) {
            return; // a repeat: published the first time
        }
        ctx.observe(SagaObs::Compensated { tx });
        let (to, event) = match self.kind {
            ServiceKind::Payment => (self.to.inventory, ChoreoEvent::PaymentRefunded),
            _ => (self.to.orders, ChoreoEvent::StockReleased),
        };
        publish(ctx, &mut self.state.outbox, to, tx, event, failed);
    }
}

impl Actor<ChoreoProtocol> for ChoreoService {
    type Durable = ChoreoServiceState;
    type Timer = ChoreoTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, ChoreoProtocol>) {
        republish(ctx, &self.state.outbox);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, ChoreoProtocol>, from: NodeId, msg: ChoreoMsg) {
        match msg {
            ChoreoMsg::Event { tx, event, failed } => {
                ctx.send(from, ChoreoMsg::Ack { tx, event });
                match (self.kind, event) {
                    (ServiceKind::Inventory, ChoreoEvent::OrderPlaced)
                    | (ServiceKind::Payment, ChoreoEvent::StockReserved)
                    | (ServiceKind::Shipping, ChoreoEvent::PaymentCharged) => self.step(ctx, tx),
                    (ServiceKind::Inventory, ChoreoEvent::PaymentRefused | ChoreoEvent::PaymentRefunded)
                    | (ServiceKind::Payment, ChoreoEvent::ShipmentRefused) => self.undo(ctx, tx, failed),
                    _ => {}
                }
            }
            ChoreoMsg::Ack { tx, event } => {
                self.state.outbox.remove(&(tx, event));
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, ChoreoProtocol>, _timer: ChoreoTimer) {
        republish(ctx, &self.state.outbox);
    }

    fn durable(&self) -> ChoreoServiceState {
        self.state.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "service": self.kind,
            "available": self.state.account.available,
            "moved": self.state.account.moved,
            "unacknowledged": self.state.outbox.len(),
        })
    }
}

/// What survives the order service's crash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrdersState {
    pub orders_placed: u64,
    /// Orders whose outcome arrived.
    pub ended: BTreeSet<u64>,
    pub outbox: Outbox,
}

/// The order service: places an order every `interval` and learns how each ended.
#[derive(Clone, Debug)]
pub struct OrderPlacer {
    inventory: NodeId,
    orders: u64,
    interval: SimDuration,
    state: OrdersState,
}

impl OrderPlacer {
    pub fn new(inventory: NodeId, orders: u64, interval: SimDuration, durable: Option<OrdersState>) -> Self {
        OrderPlacer { inventory, orders, interval, state: durable.unwrap_or_default() }
    }
}

impl Actor<ChoreoProtocol> for OrderPlacer {
    type Durable = OrdersState;
    type Timer = ChoreoTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, ChoreoProtocol>) {
        republish(ctx, &self.state.outbox);
        if self.state.orders_placed < self.orders {
            ctx.set_timer(ChoreoTimer::NextOrder, self.interval);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, ChoreoProtocol>, from: NodeId, msg: ChoreoMsg) {
        match msg {
            ChoreoMsg::Event { tx, event, failed } => {
                ctx.send(from, ChoreoMsg::Ack { tx, event });
                if !self.state.ended.insert(tx) {
                    return;
                }
                match (event, failed) {
                    (ChoreoEvent::ShipmentBooked, _) => ctx.observe(SagaObs::Completed { tx }),
                    (_, Some(failed_step)) => ctx.observe(SagaObs::RolledBack { tx, failed_step }),
                    _ => {
                        self.state.ended.remove(&tx);
                    }
                }
            }
            ChoreoMsg::Ack { tx, event } => {
                self.state.outbox.remove(&(tx, event));
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, ChoreoProtocol>, timer: ChoreoTimer) {
        if timer != ChoreoTimer::NextOrder {
            republish(ctx, &self.state.outbox);
            return;
        }
        self.state.orders_placed += 1;
        let tx = self.state.orders_placed;
        ctx.observe(SagaObs::Begun { tx });
        publish(ctx, &mut self.state.outbox, self.inventory, tx, ChoreoEvent::OrderPlaced, None);
        if self.state.orders_placed < self.orders {
            ctx.set_timer(ChoreoTimer::NextOrder, self.interval);
        }
    }

    fn durable(&self) -> OrdersState {
        self.state.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "orders_placed": self.state.orders_placed,
            "ended": self.state.ended.len(),
            "unacknowledged": self.state.outbox.len(),
        })
    }
}
