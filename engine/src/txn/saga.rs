//! An orchestrated saga (46.7.3): the orchestrator runs the order's steps one after another
//! (reserve stock, charge, book shipping); when a step fails it runs the compensations of the
//! steps already done, in reverse. Unlike 2PC nothing is locked between steps, and unlike the
//! chapter's `SagaTransaction`:
//! - the saga log is durable, so a crashed orchestrator resumes exactly where it stopped;
//! - steps and compensations are idempotent (a per-order log at each service), so retrying them
//!   after a timeout, with backoff, is safe; a step arriving after its compensation is refused;
//! - a compensation that keeps failing is retried up to a bound and then marked for manual
//!   intervention and reported, never silently dropped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ServiceKind;
use crate::actor::{Actor, Ctx, NoTimer, NodeId, Protocol, Timer, TimerId};
use crate::sim::SimDuration;

#[derive(Debug)]
pub struct SagaProtocol;

impl Protocol for SagaProtocol {
    type Msg = SagaMsg;
    type Obs = SagaObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SagaMsg {
    Do {
        tx: u64,
        amount: i64,
    },
    Undo {
        tx: u64,
    },
    /// The answer to a `Do` or an `Undo`: `ok` false for a refused step or a failed compensation.
    Result {
        tx: u64,
        undo: bool,
        ok: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SagaObs {
    Begun {
        tx: u64,
    },
    /// A service did its step (or refused it).
    Stepped {
        tx: u64,
        ok: bool,
    },
    /// A service compensated its step.
    Compensated {
        tx: u64,
    },
    /// A service's compensation failed this time.
    CompensationFailed {
        tx: u64,
    },
    /// The saga ended: every step done, or every done step compensated.
    Completed {
        tx: u64,
    },
    RolledBack {
        tx: u64,
        failed_step: ServiceKind,
    },
    /// A compensation failed `attempts` times: the order needs a person.
    ManualIntervention {
        tx: u64,
        step: ServiceKind,
        attempts: u32,
    },
}

/// A service's log entry for one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Done { amount: i64 },
    Refused,
    Compensated,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaAccount {
    pub available: i64,
    pub moved: i64,
    pub log: BTreeMap<u64, StepState>,
    /// Compensations that failed so far (the failure injection's counter; durable).
    pub failed_undos: u32,
}

impl SagaAccount {
    /// A step, idempotent: moves `amount` the first time if there is enough and the step is not
    /// `refused`; a repeat answers as the first did; a step arriving after its order's
    /// compensation is refused (it must not move anything once the order was rolled back).
    /// Returns whether the step holds, and whether this call decided it.
    pub fn step(&mut self, tx: u64, amount: i64, refused: bool) -> (bool, bool) {
        match self.log.get(&tx) {
            Some(StepState::Done { .. }) => (true, false),
            Some(StepState::Refused | StepState::Compensated) => (false, false),
            None => {
                let ok = self.available >= amount && !refused;
                if ok {
                    self.available -= amount;
                    self.moved += amount;
                    self.log.insert(tx, StepState::Done { amount });
                } else {
                    self.log.insert(tx, StepState::Refused);
                }
                (ok, true)
            }
        }
    }

    /// A compensation, idempotent: gives back what the step moved (nothing if it never ran, which
    /// is recorded so that a late step is refused). Returns whether this call compensated.
    pub fn undo(&mut self, tx: u64) -> bool {
        if let Some(StepState::Done { amount }) = self.log.get(&tx).copied() {
            self.available += amount;
            self.moved -= amount;
        }
        self.log.insert(tx, StepState::Compensated) != Some(StepState::Compensated)
    }
}

/// A saga participant.
#[derive(Clone, Debug)]
pub struct SagaService {
    kind: ServiceKind,
    account: SagaAccount,
    faults: StepFaults,
}

/// Failures injected at a saga participant: the one order whose step it refuses, and how many of
/// its compensations fail before one succeeds (`u32::MAX`: always; a downstream outage).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepFaults {
    pub refuses: Option<u64>,
    pub undo_failures: u32,
}

impl SagaService {
    pub fn new(kind: ServiceKind, available: i64, faults: StepFaults, durable: Option<SagaAccount>) -> Self {
        SagaService { kind, account: durable.unwrap_or(SagaAccount { available, ..SagaAccount::default() }), faults }
    }

    pub fn account(&self) -> &SagaAccount {
        &self.account
    }
}

impl Actor<SagaProtocol> for SagaService {
    type Durable = SagaAccount;
    type Timer = NoTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, SagaProtocol>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, SagaProtocol>, from: NodeId, msg: SagaMsg) {
        match msg {
            SagaMsg::Do { tx, amount } => {
                let refused = self.faults.refuses == Some(tx);
                let (ok, first) = self.account.step(tx, amount, refused);
                if first {
                    ctx.observe(SagaObs::Stepped { tx, ok });
                }
                ctx.send(from, SagaMsg::Result { tx, undo: false, ok });
            }
            SagaMsg::Undo { tx } => {
                let a = &mut self.account;
                let needs_work = !matches!(a.log.get(&tx), Some(StepState::Compensated));
                if needs_work && a.failed_undos < self.faults.undo_failures {
                    a.failed_undos += 1;
                    ctx.observe(SagaObs::CompensationFailed { tx });
                    ctx.send(from, SagaMsg::Result { tx, undo: true, ok: false });
                    return;
                }
                if a.undo(tx) {
                    ctx.observe(SagaObs::Compensated { tx });
                }
                ctx.send(from, SagaMsg::Result { tx, undo: true, ok: true });
            }
            SagaMsg::Result { .. } => {}
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, SagaProtocol>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) -> SagaAccount {
        self.account.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "service": self.kind, "available": self.account.available, "moved": self.account.moved })
    }
}

/// Where one order's saga stands, in the durable saga log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SagaState {
    /// Doing step `step`, attempt `attempt`.
    Forward {
        step: usize,
        attempt: u32,
    },
    /// Compensating step `step` (counting down), attempt `attempt`; `failed` is the step that
    /// failed.
    Backward {
        step: usize,
        attempt: u32,
        failed: usize,
    },
    Completed,
    RolledBack,
    /// Compensation of `step` gave up: reported for manual intervention.
    Stuck {
        step: usize,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaLog {
    pub orders_started: u64,
    pub sagas: BTreeMap<u64, SagaState>,
}

/// Retry policy: a step is retried after `timeout · 2^attempt` (capped), up to `attempts` times
/// before it counts as failed; a compensation up to `attempts` times before it needs a person.
#[derive(Clone, Copy, Debug)]
pub struct Retries {
    pub timeout: SimDuration,
    pub attempts: u32,
}

/// The orchestrator: starts `orders` orders, one every `interval`.
#[derive(Clone, Debug)]
pub struct Orchestrator {
    steps: Vec<(ServiceKind, NodeId)>,
    price: i64,
    orders: u64,
    interval: SimDuration,
    retries: Retries,
    log: SagaLog,
}

/// The orchestrator's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SagaTimer {
    /// Time to begin the next order.
    NextOrder,
    /// The current step of this order (numbered from 1) went unanswered: retry it.
    Retry(u64),
}

impl Timer for SagaTimer {
    fn id(self) -> TimerId {
        match self {
            SagaTimer::NextOrder => TimerId(0),
            SagaTimer::Retry(tx) => TimerId(tx),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(if id.0 == 0 { SagaTimer::NextOrder } else { SagaTimer::Retry(id.0) })
    }
}

impl Orchestrator {
    pub fn new(
        steps: Vec<(ServiceKind, NodeId)>,
        price: i64,
        orders: u64,
        interval: SimDuration,
        retries: Retries,
        durable: Option<SagaLog>,
    ) -> Self {
        Orchestrator { steps, price, orders, interval, retries, log: durable.unwrap_or_default() }
    }

    fn amount(&self, kind: ServiceKind) -> i64 {
        if kind == ServiceKind::Payment { self.price } else { 1 }
    }

    /// Sends what the saga's state asks for, and arms its retry with backoff.
    fn act(&mut self, ctx: &mut Ctx<'_, SagaProtocol>, tx: u64) {
        let (step, attempt, undo) = match self.log.sagas.get(&tx) {
            Some(SagaState::Forward { step, attempt }) => (*step, *attempt, false),
            Some(SagaState::Backward { step, attempt, .. }) => (*step, *attempt, true),
            _ => return,
        };
        let (kind, node) = self.steps[step];
        let msg = if undo { SagaMsg::Undo { tx } } else { SagaMsg::Do { tx, amount: self.amount(kind) } };
        ctx.send(node, msg);
        let backoff = self.retries.timeout.as_micros() << attempt.min(4);
        ctx.set_timer(SagaTimer::Retry(tx), SimDuration::from_micros(backoff));
    }

    /// One more attempt at the current step, or the consequence of too many.
    fn retry(&mut self, ctx: &mut Ctx<'_, SagaProtocol>, tx: u64) {
        let next = match self.log.sagas.get(&tx).copied() {
            Some(SagaState::Forward { step, attempt }) if attempt + 1 < self.retries.attempts => {
                SagaState::Forward { step, attempt: attempt + 1 }
            }
            // A step that never answered counts as failed; compensating it too is safe (an
            // undo of nothing is recorded and refuses the step if it arrives late).
            Some(SagaState::Forward { step, .. }) => SagaState::Backward { step, attempt: 0, failed: step },
            Some(SagaState::Backward { step, attempt, failed }) if attempt + 1 < self.retries.attempts => {
                SagaState::Backward { step, attempt: attempt + 1, failed }
            }
            Some(SagaState::Backward { step, attempt, .. }) => {
                ctx.observe(SagaObs::ManualIntervention { tx, step: self.steps[step].0, attempts: attempt + 1 });
                SagaState::Stuck { step }
            }
            _ => return,
        };
        self.log.sagas.insert(tx, next);
        self.act(ctx, tx);
    }

    fn result(&mut self, ctx: &mut Ctx<'_, SagaProtocol>, tx: u64, from: NodeId, undo: bool, ok: bool) {
        let Some(state) = self.log.sagas.get(&tx).copied() else { return };
        let next = match state {
            SagaState::Forward { step, .. } if !undo && self.steps[step].1 == from => {
                if !ok {
                    // The failed step did nothing; compensate the ones before it, last first.
                    match step.checked_sub(1) {
                        Some(prev) => SagaState::Backward { step: prev, attempt: 0, failed: step },
                        None => self.rolled_back(ctx, tx, step),
                    }
                } else if step + 1 < self.steps.len() {
                    SagaState::Forward { step: step + 1, attempt: 0 }
                } else {
                    ctx.observe(SagaObs::Completed { tx });
                    SagaState::Completed
                }
            }
            SagaState::Backward { step, failed, .. } if undo && self.steps[step].1 == from => {
                if !ok {
                    return; // the compensation failed: its retry timer tries again
                }
                match step.checked_sub(1) {
                    Some(prev) => SagaState::Backward { step: prev, attempt: 0, failed },
                    None => self.rolled_back(ctx, tx, failed),
                }
            }
            _ => return, // a late or repeated answer
        };
        ctx.cancel_timer(SagaTimer::Retry(tx));
        self.log.sagas.insert(tx, next);
        self.act(ctx, tx);
    }

    fn rolled_back(&self, ctx: &mut Ctx<'_, SagaProtocol>, tx: u64, failed: usize) -> SagaState {
        ctx.observe(SagaObs::RolledBack { tx, failed_step: self.steps[failed].0 });
        SagaState::RolledBack
    }
}

impl Actor<SagaProtocol> for Orchestrator {
    type Durable = SagaLog;
    type Timer = SagaTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, SagaProtocol>) {
        // Resume every saga where its log says it stopped (the steps are idempotent).
        let open: Vec<u64> = self
            .log
            .sagas
            .iter()
            .filter(|(_, s)| matches!(s, SagaState::Forward { .. } | SagaState::Backward { .. }))
            .map(|(&tx, _)| tx)
            .collect();
        for tx in open {
            self.act(ctx, tx);
        }
        if self.log.orders_started < self.orders {
            ctx.set_timer(SagaTimer::NextOrder, self.interval);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, SagaProtocol>, from: NodeId, msg: SagaMsg) {
        if let SagaMsg::Result { tx, undo, ok } = msg {
            self.result(ctx, tx, from, undo, ok);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, SagaProtocol>, timer: SagaTimer) {
        let SagaTimer::Retry(tx) = timer else {
            self.log.orders_started += 1;
            let tx = self.log.orders_started;
            self.log.sagas.insert(tx, SagaState::Forward { step: 0, attempt: 0 });
            ctx.observe(SagaObs::Begun { tx });
            self.act(ctx, tx);
            if self.log.orders_started < self.orders {
                ctx.set_timer(SagaTimer::NextOrder, self.interval);
            }
            return;
        };
        self.retry(ctx, tx);
    }

    fn durable(&self) -> SagaLog {
        self.log.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        let count = |f: fn(&SagaState) -> bool| self.log.sagas.values().filter(|s| f(s)).count();
        serde_json::json!({
            "orders_started": self.log.orders_started,
            "running": count(|s| matches!(s, SagaState::Forward { .. } | SagaState::Backward { .. })),
            "completed": count(|s| *s == SagaState::Completed),
            "rolled_back": count(|s| *s == SagaState::RolledBack),
            "stuck": count(|s| matches!(s, SagaState::Stuck { .. })),
        })
    }
}
