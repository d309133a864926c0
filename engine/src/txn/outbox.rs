//! The transactional outbox, or local message table (46.7.3): the order service writes the order
//! and the message announcing it in one local transaction (the same durable write), and a relay
//! publishes pending messages until the consumer acknowledges each, so every committed order's
//! message is delivered at least once and none is sent for an order that was not committed. The
//! consumer deduplicates by message id, so the effect happens once.
//!
//! `dual_write` shows what the outbox replaces: commit the order, then send the message directly.
//! A crash between the two loses the message forever, and nothing will ever notice.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Ctx, NoTimer, NodeId, Protocol, Timer, TimerId};
use crate::sim::SimDuration;

#[derive(Debug)]
pub struct OutboxProtocol;

impl Protocol for OutboxProtocol {
    type Msg = OutboxMsg;
    type Obs = OutboxObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboxMsg {
    /// "Order `order` was placed": message `id`.
    Publish {
        id: u64,
        order: u64,
    },
    Ack {
        id: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboxObs {
    /// The order service committed an order (and, with the outbox, its message in the same write).
    Committed { order: u64 },
    /// The order failed validation and was rolled back: no message may ever announce it.
    RolledBack { order: u64 },
    /// The consumer applied a message's effect (first delivery).
    Applied { id: u64, order: u64 },
    /// The consumer received a message it had already applied, and only acknowledged it.
    Duplicate { id: u64 },
}

/// What survives the order service's crash: its orders and, in the same write, its outbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTables {
    pub orders_placed: u64,
    pub committed: BTreeSet<u64>,
    /// Messages not yet acknowledged: id → order.
    pub outbox: BTreeMap<u64, u64>,
}

/// The order service and its relay.
#[derive(Clone, Debug)]
pub struct OrderService {
    consumer: NodeId,
    orders: u64,
    interval: SimDuration,
    /// One order in `reject_every` fails validation.
    reject_every: u64,
    dual_write: bool,
    tables: OrderTables,
}

/// The order service's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderTimer {
    /// Time to place the next order.
    NextOrder,
    /// The relay's next round over the pending messages.
    Relay,
    /// Dual write: the send of this order's message, a moment after its commit.
    Send(u64),
}

impl Timer for OrderTimer {
    fn id(self) -> TimerId {
        match self {
            OrderTimer::NextOrder => TimerId(0),
            OrderTimer::Relay => TimerId(1),
            OrderTimer::Send(order) => TimerId(2 + order),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(match id.0 {
            0 => OrderTimer::NextOrder,
            1 => OrderTimer::Relay,
            n => OrderTimer::Send(n - 2),
        })
    }
}
/// Dual write: the time between the database's commit and the send to the broker.
const DUAL_WRITE_GAP: SimDuration = SimDuration::from_millis(5);
/// How often the relay publishes what is pending.
const RELAY_EVERY: SimDuration = SimDuration::from_millis(100);

impl OrderService {
    pub fn new(
        consumer: NodeId,
        orders: u64,
        interval: SimDuration,
        reject_every: u64,
        dual_write: bool,
        durable: Option<OrderTables>,
    ) -> Self {
        OrderService { consumer, orders, interval, reject_every, dual_write, tables: durable.unwrap_or_default() }
    }

    /// The orders committed so far.
    pub fn committed(&self) -> &BTreeSet<u64> {
        &self.tables.committed
    }

    fn place(&mut self, ctx: &mut Ctx<'_, OutboxProtocol>) {
        self.tables.orders_placed += 1;
        let order = self.tables.orders_placed;
        if self.reject_every > 0 && order.is_multiple_of(self.reject_every) {
            ctx.observe(OutboxObs::RolledBack { order });
            return;
        }
        // The message id is the order's: one message per order, whatever the retries.
        self.tables.committed.insert(order);
        if self.dual_write {
            // The second write, to the broker, after the database's commit returned (5 ms
            // later): a crash in between, or a lost message, loses it, and nothing remembers
            // that it was due.
            ctx.observe(OutboxObs::Committed { order });
            ctx.set_timer(OrderTimer::Send(order), DUAL_WRITE_GAP);
        } else {
            self.tables.outbox.insert(order, order);
            ctx.observe(OutboxObs::Committed { order });
        }
    }
}

impl Actor<OutboxProtocol> for OrderService {
    type Durable = OrderTables;
    type Timer = OrderTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, OutboxProtocol>) {
        if self.tables.orders_placed < self.orders {
            ctx.set_timer(OrderTimer::NextOrder, self.interval);
        }
        if !self.dual_write {
            ctx.set_timer(OrderTimer::Relay, RELAY_EVERY);
        }
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, OutboxProtocol>, _from: NodeId, msg: OutboxMsg) {
        if let OutboxMsg::Ack { id } = msg {
            self.tables.outbox.remove(&id);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, OutboxProtocol>, timer: OrderTimer) {
        match timer {
            OrderTimer::NextOrder => {
                self.place(ctx);
                if self.tables.orders_placed < self.orders {
                    ctx.set_timer(OrderTimer::NextOrder, self.interval);
                }
            }
            OrderTimer::Send(order) => ctx.send(self.consumer, OutboxMsg::Publish { id: order, order }),
            OrderTimer::Relay => {
                // Every pending message again, until acknowledged (at least once).
                for (&id, &order) in &self.tables.outbox {
                    ctx.send(self.consumer, OutboxMsg::Publish { id, order });
                }
                if !self.tables.outbox.is_empty() || self.tables.orders_placed < self.orders {
                    ctx.set_timer(OrderTimer::Relay, RELAY_EVERY);
                }
            }
        }
    }

    fn durable(&self) -> OrderTables {
        self.tables.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "orders_placed": self.tables.orders_placed,
            "committed": self.tables.committed.len(),
            "outbox": self.tables.outbox.len(),
        })
    }
}

/// The consumer (the shipping service): applies each message once, remembering applied ids in
/// the same durable write as the effect.
#[derive(Clone, Debug, Default)]
pub struct Consumer {
    applied: BTreeMap<u64, u64>,
}

impl Consumer {
    pub fn new(durable: Option<BTreeMap<u64, u64>>) -> Self {
        Consumer { applied: durable.unwrap_or_default() }
    }

    /// Message id → order, for every message applied.
    pub fn applied(&self) -> &BTreeMap<u64, u64> {
        &self.applied
    }
}

impl Actor<OutboxProtocol> for Consumer {
    type Durable = BTreeMap<u64, u64>;
    type Timer = NoTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, OutboxProtocol>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, OutboxProtocol>, from: NodeId, msg: OutboxMsg) {
        if let OutboxMsg::Publish { id, order } = msg {
            if self.applied.insert(id, order).is_none() {
                ctx.observe(OutboxObs::Applied { id, order });
            } else {
                ctx.observe(OutboxObs::Duplicate { id });
            }
            ctx.send(from, OutboxMsg::Ack { id });
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, OutboxProtocol>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) -> BTreeMap<u64, u64> {
        self.applied.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "applied": self.applied.len() })
    }
}
