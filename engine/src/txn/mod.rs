//! Distributed transactions (46.7.3): one order touches three services, each an actor with its
//! own durable state, and the protocols that keep the order all-or-nothing across them.
//!
//! The shared domain: an order reserves one unit of stock (inventory), charges its price
//! (payment) and books one shipping slot (shipping). Each service moves its amount between two
//! counters of its own (available → sold, customer → merchant, free → booked), so each conserves
//! its total by itself, and an order is done when all three moved and undone when none did.
//!
//! What the chapter gets wrong: it names 2PC without showing it; its `SagaTransaction` only
//! prints when a compensation fails and keeps nothing across a crash; its `TCCTransaction` cancels
//! nothing after a failed confirm. This module starts with 2PC ([`two_phase`]), with durable logs
//! on both sides, so that a crash at any moment can be recovered from, and the blocking that is
//! 2PC's price can be seen and measured.

pub mod outbox;
pub mod saga;
pub mod tcc;
pub mod two_phase;

use serde::{Deserialize, Serialize};

use crate::actor::Protocol;

/// The three services of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    Inventory,
    Payment,
    Shipping,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 3] = [ServiceKind::Inventory, ServiceKind::Payment, ServiceKind::Shipping];

    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Inventory => "inventory",
            ServiceKind::Payment => "payment",
            ServiceKind::Shipping => "shipping",
        }
    }
}

/// The 2PC world's protocol.
#[derive(Debug)]
pub struct TwoPhaseProtocol;

impl Protocol for TwoPhaseProtocol {
    type Msg = TwoPhaseMsg;
    type Obs = TwoPhaseObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TwoPhaseMsg {
    /// Phase 1: do the work of `tx` (move `amount`) and vote.
    Prepare {
        tx: u64,
        amount: i64,
    },
    Vote {
        tx: u64,
        yes: bool,
    },
    /// Phase 2: the coordinator's decision, resent until acknowledged.
    Decide {
        tx: u64,
        commit: bool,
    },
    Ack {
        tx: u64,
    },
    /// An in-doubt participant asks for the decision it has not received.
    Query {
        tx: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TwoPhaseObs {
    /// The coordinator started an order.
    Begun { tx: u64 },
    /// The coordinator logged its decision.
    Decided { tx: u64, commit: bool },
    /// A participant voted yes: from here it is in doubt, holding its lock, until it learns the
    /// decision.
    Prepared { tx: u64 },
    /// A participant voted no (locked by another order, or short of its amount).
    Refused { tx: u64 },
    /// A participant applied the decision, after being in doubt for `blocked_us` (0 if it never
    /// voted yes).
    Applied { tx: u64, commit: bool, blocked_us: u64 },
    /// An actor restarted and recovered from its log: the coordinator re-decides or resends, a
    /// participant holds its prepared locks again and asks.
    Recovered { in_doubt: u64 },
}
