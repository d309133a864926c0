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

pub mod choreography;
pub mod outbox;
pub mod saga;
pub mod saga_store;
pub mod tcc;
pub mod two_phase;
pub mod view;

use serde::{Deserialize, Serialize};

use crate::actor::{Protocol, Timer, TimerId};

/// The timers of a two-phase coordinator (2PC's and TCC's): one for the next order, and per
/// order a deadline for the first phase and a retry of whichever phase it is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhaseTimer {
    /// Time to begin the next order.
    NextOrder,
    /// Not every answer to this order's first phase (votes, tries) came in time: abort or cancel.
    Deadline(u64),
    /// Resend this order's current phase to the services that have not answered it.
    Retry(u64),
}

impl Timer for PhaseTimer {
    fn id(self) -> TimerId {
        match self {
            PhaseTimer::NextOrder => TimerId(0),
            PhaseTimer::Deadline(tx) => TimerId(2 * tx),
            PhaseTimer::Retry(tx) => TimerId(2 * tx + 1),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        let tx = id.0 / 2;
        Some(match id.0 {
            0 => PhaseTimer::NextOrder,
            n if n.is_multiple_of(2) => PhaseTimer::Deadline(tx),
            _ => PhaseTimer::Retry(tx),
        })
    }
}

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

    /// The service's step in an order (1, 2, 3): where the page injects a failure.
    pub fn step(self) -> u32 {
        match self {
            ServiceKind::Inventory => 1,
            ServiceKind::Payment => 2,
            ServiceKind::Shipping => 3,
        }
    }

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
    /// Before the vote: do the work of `tx` (lock the row, check the amount) and report.
    Execute {
        tx: u64,
        amount: i64,
    },
    Executed {
        tx: u64,
        ok: bool,
    },
    /// Phase 1: make the work durable and vote.
    Prepare {
        tx: u64,
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

/// Why a participant refused an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Another order holds the service's lock (an in-doubt one, while its coordinator is down).
    Locked,
    /// Short of stock, money or slots, or a failure injected at this step.
    Short,
    /// Asked to prepare work it no longer has: it gave up waiting, or crashed, before voting.
    Unprepared,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TwoPhaseObs {
    /// The coordinator started an order.
    Begun { tx: u64 },
    /// The coordinator logged its decision.
    Decided { tx: u64, commit: bool },
    /// A participant did an order's work and holds its lock, not yet having voted.
    Executed { tx: u64 },
    /// A participant voted yes: from here it is in doubt, holding its lock, until it learns the
    /// decision.
    Prepared { tx: u64 },
    /// A participant refused an order: its work failed, or it votes no.
    Refused { tx: u64, why: Refusal },
    /// A participant that did the work but heard no prepare in time aborted on its own, which it
    /// may do only because it has not voted.
    TimedOut { tx: u64 },
    /// A participant applied the decision, after being in doubt for `blocked_us` (0 if it never
    /// voted yes).
    Applied { tx: u64, commit: bool, blocked_us: u64 },
    /// An actor restarted and recovered from its log: the coordinator re-decides or resends, a
    /// participant holds its prepared locks again and asks.
    Recovered { in_doubt: u64 },
}
