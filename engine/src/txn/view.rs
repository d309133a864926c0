//! What the transactions page draws of each order (46.7.3): the state each observation puts its
//! actor in for its order, over time. The judges of `2pc`, `tcc`, `saga`, `saga-choreo` and
//! `outbox` return it as their view, so the page's grid and swimlanes read the engine's own
//! observations, typed, instead of decoding the trace's JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::outbox::OutboxObs;
use super::saga::SagaObs;
use super::tcc::TccObs;
use super::{ServiceKind, TwoPhaseObs};
use crate::actor::Protocol;
use crate::sim::Sim;

/// The state of one order at one actor, as the grid colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    Running,
    Executed,
    Prepared,
    Tried,
    Compensating,
    Done,
    Committed,
    Confirmed,
    Applied,
    Completed,
    Aborted,
    Cancelled,
    EmptyRollback,
    Compensated,
    RolledBack,
    Refused,
    Failed,
    Suspended,
    Stuck,
}

/// An observation about one order.
pub trait OrderObs {
    /// The order it is about and the state it puts its actor in (None: it changes none).
    fn order_state(&self) -> Option<(u64, CellState)>;
    /// A step that gave up along with it (a saga's failed compensation): that service is stuck too.
    fn stuck_step(&self) -> Option<ServiceKind> {
        None
    }
}

impl OrderObs for TwoPhaseObs {
    fn order_state(&self) -> Option<(u64, CellState)> {
        let decided = |commit: bool| if commit { CellState::Committed } else { CellState::Aborted };
        Some(match *self {
            TwoPhaseObs::Begun { tx } => (tx, CellState::Running),
            TwoPhaseObs::Decided { tx, commit } | TwoPhaseObs::Applied { tx, commit, .. } => (tx, decided(commit)),
            TwoPhaseObs::Executed { tx } => (tx, CellState::Executed),
            TwoPhaseObs::Prepared { tx } => (tx, CellState::Prepared),
            TwoPhaseObs::Refused { tx, .. } => (tx, CellState::Refused),
            TwoPhaseObs::TimedOut { tx } => (tx, CellState::Aborted),
            TwoPhaseObs::Recovered { .. } => return None,
        })
    }
}

impl OrderObs for TccObs {
    fn order_state(&self) -> Option<(u64, CellState)> {
        Some(match *self {
            TccObs::Begun { tx } => (tx, CellState::Running),
            TccObs::Decided { tx, confirm } => (tx, if confirm { CellState::Confirmed } else { CellState::Cancelled }),
            TccObs::Tried { tx, ok } => (tx, if ok { CellState::Tried } else { CellState::Refused }),
            TccObs::Confirmed { tx } => (tx, CellState::Confirmed),
            TccObs::Cancelled { tx } => (tx, CellState::Cancelled),
            TccObs::EmptyRollback { tx } => (tx, CellState::EmptyRollback),
            TccObs::Suspended { tx } => (tx, CellState::Suspended),
        })
    }
}

impl OrderObs for SagaObs {
    fn order_state(&self) -> Option<(u64, CellState)> {
        Some(match *self {
            SagaObs::Begun { tx } => (tx, CellState::Running),
            SagaObs::Stepped { tx, ok } => (tx, if ok { CellState::Done } else { CellState::Failed }),
            SagaObs::Compensated { tx } => (tx, CellState::Compensated),
            SagaObs::CompensationFailed { tx } => (tx, CellState::Compensating),
            SagaObs::Completed { tx } => (tx, CellState::Completed),
            SagaObs::RolledBack { tx, .. } => (tx, CellState::RolledBack),
            SagaObs::ManualIntervention { tx, .. } => (tx, CellState::Stuck),
        })
    }
    fn stuck_step(&self) -> Option<ServiceKind> {
        match *self {
            SagaObs::ManualIntervention { step, .. } => Some(step),
            _ => None,
        }
    }
}

impl OrderObs for OutboxObs {
    fn order_state(&self) -> Option<(u64, CellState)> {
        match *self {
            OutboxObs::Committed { order } => Some((order, CellState::Committed)),
            OutboxObs::RolledBack { order } => Some((order, CellState::RolledBack)),
            OutboxObs::Applied { order, .. } => Some((order, CellState::Applied)),
            OutboxObs::Duplicate { .. } => None,
        }
    }
}

/// One change of an order's state at one actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub order: u64,
    pub node: String,
    pub time_us: u64,
    pub state: CellState,
}

/// Every order's state changes, in the order they were observed (a repeated state is not a change).
pub fn order_steps<P: Protocol>(sim: &Sim<P>) -> Vec<Step>
where
    P::Obs: OrderObs,
{
    let mut steps: Vec<Step> = Vec::new();
    let mut last: BTreeMap<(u64, String), CellState> = BTreeMap::new();
    let mut push = |order: u64, node: String, time_us: u64, state: CellState| {
        if last.insert((order, node.clone()), state) != Some(state) {
            steps.push(Step { order, node, time_us, state });
        }
    };
    for o in sim.observations() {
        let Some((order, state)) = o.obs.order_state() else { continue };
        let time_us = o.time.as_micros();
        push(order, sim.node_name(o.node).unwrap_or("?").to_owned(), time_us, state);
        if let Some(step) = o.obs.stuck_step() {
            push(order, step.name().to_owned(), time_us, CellState::Stuck);
        }
    }
    steps
}

/// The view the transactions page draws: `{ "steps": [...] }`.
pub fn view<P: Protocol>(sim: &Sim<P>) -> serde_json::Value
where
    P::Obs: OrderObs,
{
    serde_json::json!({ "steps": order_steps(sim) })
}
