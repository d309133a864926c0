//! TCC, try–confirm–cancel (46.7.3): each service reserves in *try* (the amount is frozen, not
//! yet moved), and the coordinator then *confirms* everywhere (the frozen amount is consumed) or
//! *cancels* everywhere (it is released). No locks are held between phases: the reservation is
//! the business state, so other orders go on with what is left.
//!
//! The network can lose, repeat and reorder messages and any actor can crash, so a participant
//! keeps three protections the chapter's `TCCTransaction` lacks, all from one durable log per
//! order: an *empty rollback* (a cancel for an order never tried is recorded and acknowledged),
//! *suspension* (a try arriving after its cancel is refused, or it would freeze money forever),
//! and *idempotence* (a repeated try, confirm or cancel changes nothing). The coordinator logs each
//! phase before it acts and repeats its confirm or cancel until every service acknowledges.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{PhaseTimer, ServiceKind};
use crate::actor::{Actor, Ctx, NoTimer, NodeId, Protocol};
use crate::sim::SimDuration;

/// How often the coordinator repeats what has not been answered.
const RETRY: SimDuration = SimDuration::from_millis(300);

#[derive(Debug)]
pub struct TccProtocol;

impl Protocol for TccProtocol {
    type Msg = TccMsg;
    type Obs = TccObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TccMsg {
    Try {
        tx: u64,
        amount: i64,
    },
    Tried {
        tx: u64,
        ok: bool,
    },
    Confirm {
        tx: u64,
    },
    Cancel {
        tx: u64,
    },
    /// Acknowledges a confirm or a cancel.
    Done {
        tx: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TccObs {
    Begun {
        tx: u64,
    },
    /// The coordinator logged the second phase: confirm everywhere, or cancel everywhere.
    Decided {
        tx: u64,
        confirm: bool,
    },
    /// A participant's answer to a try, and why when it refused.
    Tried {
        tx: u64,
        ok: bool,
    },
    Confirmed {
        tx: u64,
    },
    Cancelled {
        tx: u64,
    },
    /// A cancel for an order never tried here: recorded so that a late try is refused.
    EmptyRollback {
        tx: u64,
    },
    /// A try that arrived after its order's cancel, refused.
    Suspended {
        tx: u64,
    },
}

/// A participant's log entry for one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reservation {
    /// Tried: `amount` frozen.
    Frozen {
        amount: i64,
    },
    /// Refused at try (not enough left): nothing frozen.
    Refused,
    Confirmed {
        amount: i64,
    },
    Cancelled,
}

/// One service's account under TCC: what it has, what is frozen for orders in flight, what was
/// consumed, and its log. The actor is a thin shell around it, so the protections are tested on it
/// directly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub available: i64,
    pub frozen: i64,
    pub moved: i64,
    pub log: BTreeMap<u64, Reservation>,
}

/// What a participant step did, for the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The step changed the account (or answered as it first did).
    Applied,
    /// A repeat of a step already taken: nothing changed.
    Repeated,
    EmptyRollback,
    Suspended,
}

impl Account {
    pub fn new(available: i64) -> Self {
        Account { available, ..Account::default() }
    }

    /// Try: freeze `amount` if there is enough and the order was not cancelled first. Returns
    /// whether the order holds its reservation.
    pub fn try_reserve(&mut self, tx: u64, amount: i64) -> (bool, Outcome) {
        self.try_if(tx, amount, true)
    }

    /// A try whose business check fails (a failure injected at this step): refused as if short,
    /// with the same protections.
    pub fn try_refused(&mut self, tx: u64) -> (bool, Outcome) {
        self.try_if(tx, 0, false)
    }

    fn try_if(&mut self, tx: u64, amount: i64, allowed: bool) -> (bool, Outcome) {
        match self.log.get(&tx) {
            Some(Reservation::Frozen { .. } | Reservation::Confirmed { .. }) => (true, Outcome::Repeated),
            Some(Reservation::Refused) => (false, Outcome::Repeated),
            Some(Reservation::Cancelled) => (false, Outcome::Suspended),
            None if allowed && self.available >= amount => {
                self.available -= amount;
                self.frozen += amount;
                self.log.insert(tx, Reservation::Frozen { amount });
                (true, Outcome::Applied)
            }
            None => {
                self.log.insert(tx, Reservation::Refused);
                (false, Outcome::Applied)
            }
        }
    }

    /// Confirm: consume the frozen amount. Only ever sent after every try succeeded.
    pub fn confirm(&mut self, tx: u64) -> Outcome {
        match self.log.get(&tx).copied() {
            Some(Reservation::Frozen { amount }) => {
                self.frozen -= amount;
                self.moved += amount;
                self.log.insert(tx, Reservation::Confirmed { amount });
                Outcome::Applied
            }
            _ => Outcome::Repeated,
        }
    }

    /// Cancel: release the frozen amount; for an order never tried, record the cancel.
    pub fn cancel(&mut self, tx: u64) -> Outcome {
        match self.log.get(&tx).copied() {
            Some(Reservation::Frozen { amount }) => {
                self.frozen -= amount;
                self.available += amount;
                self.log.insert(tx, Reservation::Cancelled);
                Outcome::Applied
            }
            Some(Reservation::Refused) => {
                self.log.insert(tx, Reservation::Cancelled);
                Outcome::Applied
            }
            None => {
                self.log.insert(tx, Reservation::Cancelled);
                Outcome::EmptyRollback
            }
            Some(Reservation::Cancelled | Reservation::Confirmed { .. }) => Outcome::Repeated,
        }
    }
}

/// A TCC participant: one service's [`Account`], durable.
#[derive(Clone, Debug)]
pub struct TccService {
    kind: ServiceKind,
    account: Account,
    /// The one order whose try fails here (a failure injected by the page).
    refuses: Option<u64>,
}

impl TccService {
    pub fn new(kind: ServiceKind, available: i64, refuses: Option<u64>, durable: Option<Account>) -> Self {
        TccService { kind, account: durable.unwrap_or_else(|| Account::new(available)), refuses }
    }

    pub fn account(&self) -> &Account {
        &self.account
    }
}

impl Actor<TccProtocol> for TccService {
    type Durable = Account;
    type Timer = NoTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, TccProtocol>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, TccProtocol>, from: NodeId, msg: TccMsg) {
        match msg {
            TccMsg::Try { tx, amount } => {
                let (ok, outcome) = if self.refuses == Some(tx) {
                    self.account.try_refused(tx)
                } else {
                    self.account.try_reserve(tx, amount)
                };
                match outcome {
                    Outcome::Suspended => ctx.observe(TccObs::Suspended { tx }),
                    Outcome::Applied => ctx.observe(TccObs::Tried { tx, ok }),
                    Outcome::Repeated | Outcome::EmptyRollback => {}
                }
                ctx.send(from, TccMsg::Tried { tx, ok });
            }
            TccMsg::Confirm { tx } => {
                if self.account.confirm(tx) == Outcome::Applied {
                    ctx.observe(TccObs::Confirmed { tx });
                }
                ctx.send(from, TccMsg::Done { tx });
            }
            TccMsg::Cancel { tx } => {
                match self.account.cancel(tx) {
                    Outcome::Applied => ctx.observe(TccObs::Cancelled { tx }),
                    Outcome::EmptyRollback => ctx.observe(TccObs::EmptyRollback { tx }),
                    Outcome::Repeated | Outcome::Suspended => {}
                }
                ctx.send(from, TccMsg::Done { tx });
            }
            TccMsg::Tried { .. } | TccMsg::Done { .. } => {}
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, TccProtocol>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) -> Account {
        self.account.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "service": self.kind,
            "available": self.account.available,
            "frozen": self.account.frozen,
            "moved": self.account.moved,
        })
    }
}

/// The coordinator's log entry for one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Trying,
    Confirming,
    Cancelling,
    Done,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TccLog {
    pub orders_started: u64,
    pub phases: BTreeMap<u64, Phase>,
    /// Services that answered the current phase of each order.
    pub answered: BTreeMap<u64, BTreeSet<NodeId>>,
}

/// The TCC coordinator: starts `orders` orders, one every `interval`.
#[derive(Clone, Debug)]
pub struct TccCoordinator {
    services: Vec<(ServiceKind, NodeId)>,
    price: i64,
    orders: u64,
    interval: SimDuration,
    try_timeout: SimDuration,
    log: TccLog,
}

impl TccCoordinator {
    pub fn new(
        services: Vec<(ServiceKind, NodeId)>,
        price: i64,
        orders: u64,
        interval: SimDuration,
        try_timeout: SimDuration,
        durable: Option<TccLog>,
    ) -> Self {
        TccCoordinator { services, price, orders, interval, try_timeout, log: durable.unwrap_or_default() }
    }

    fn amount(&self, kind: ServiceKind) -> i64 {
        if kind == ServiceKind::Payment { self.price } else { 1 }
    }

    fn begin(&mut self, ctx: &mut Ctx<'_, TccProtocol>) {
        self.log.orders_started += 1;
        let tx = self.log.orders_started;
        self.log.phases.insert(tx, Phase::Trying);
        self.log.answered.insert(tx, BTreeSet::new());
        ctx.observe(TccObs::Begun { tx });
        self.send_phase(ctx, tx);
        ctx.set_timer(PhaseTimer::Deadline(tx), self.try_timeout);
    }

    /// Logs the second phase, then carries it out.
    fn decide(&mut self, ctx: &mut Ctx<'_, TccProtocol>, tx: u64, confirm: bool) {
        ctx.cancel_timer(PhaseTimer::Deadline(tx));
        self.log.phases.insert(tx, if confirm { Phase::Confirming } else { Phase::Cancelling });
        self.log.answered.insert(tx, BTreeSet::new());
        ctx.observe(TccObs::Decided { tx, confirm });
        self.send_phase(ctx, tx);
    }

    /// Sends the order's current phase to every service that has not answered it, and retries.
    fn send_phase(&mut self, ctx: &mut Ctx<'_, TccProtocol>, tx: u64) {
        let Some(&phase) = self.log.phases.get(&tx) else { return };
        let answered = self.log.answered.get(&tx).cloned().unwrap_or_default();
        let pending: Vec<(ServiceKind, NodeId)> =
            self.services.iter().copied().filter(|(_, n)| !answered.contains(n)).collect();
        for (kind, node) in &pending {
            let msg = match phase {
                Phase::Trying => TccMsg::Try { tx, amount: self.amount(*kind) },
                Phase::Confirming => TccMsg::Confirm { tx },
                Phase::Cancelling => TccMsg::Cancel { tx },
                Phase::Done => return,
            };
            ctx.send(*node, msg);
        }
        if !pending.is_empty() {
            ctx.set_timer(PhaseTimer::Retry(tx), RETRY);
        }
    }

    fn answered(&mut self, ctx: &mut Ctx<'_, TccProtocol>, tx: u64, from: NodeId, phase: Phase) -> bool {
        if self.log.phases.get(&tx) != Some(&phase) {
            return false;
        }
        let all = {
            let set = self.log.answered.entry(tx).or_default();
            set.insert(from);
            set.len() == self.services.len()
        };
        if all {
            ctx.cancel_timer(PhaseTimer::Retry(tx));
        }
        all
    }
}

impl Actor<TccProtocol> for TccCoordinator {
    type Durable = TccLog;
    type Timer = PhaseTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, TccProtocol>) {
        // Recovery: an order still trying may have frozen amounts anywhere: cancel it; a phase
        // under way is carried on.
        let open: Vec<(u64, Phase)> =
            self.log.phases.iter().filter(|(_, p)| **p != Phase::Done).map(|(&tx, &p)| (tx, p)).collect();
        for (tx, phase) in open {
            if phase == Phase::Trying {
                self.decide(ctx, tx, false);
            } else {
                self.send_phase(ctx, tx);
            }
        }
        if self.log.orders_started < self.orders {
            ctx.set_timer(PhaseTimer::NextOrder, self.interval);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, TccProtocol>, from: NodeId, msg: TccMsg) {
        match msg {
            TccMsg::Tried { tx, ok } => {
                if self.log.phases.get(&tx) != Some(&Phase::Trying) {
                    return;
                }
                if !ok {
                    self.decide(ctx, tx, false);
                } else if self.answered(ctx, tx, from, Phase::Trying) {
                    self.decide(ctx, tx, true);
                }
            }
            TccMsg::Done { tx } => {
                for phase in [Phase::Confirming, Phase::Cancelling] {
                    if self.answered(ctx, tx, from, phase) {
                        self.log.phases.insert(tx, Phase::Done);
                        self.log.answered.remove(&tx);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TccProtocol>, timer: PhaseTimer) {
        match timer {
            PhaseTimer::NextOrder => {
                self.begin(ctx);
                if self.log.orders_started < self.orders {
                    ctx.set_timer(PhaseTimer::NextOrder, self.interval);
                }
            }
            PhaseTimer::Deadline(tx) => {
                if self.log.phases.get(&tx) == Some(&Phase::Trying) {
                    self.decide(ctx, tx, false); // not every try answered in time
                }
            }
            PhaseTimer::Retry(tx) => self.send_phase(ctx, tx),
        }
    }

    fn durable(&self) -> TccLog {
        self.log.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        let count = |p: Phase| self.log.phases.values().filter(|&&q| q == p).count();
        serde_json::json!({
            "orders_started": self.log.orders_started,
            "trying": count(Phase::Trying),
            "confirming": count(Phase::Confirming),
            "cancelling": count(Phase::Cancelling),
            "done": count(Phase::Done),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Account, Outcome, Reservation};

    #[test]
    fn an_empty_rollback_is_recorded_and_suspends_the_late_try() {
        let mut a = Account::new(100);
        assert_eq!(a.cancel(7), Outcome::EmptyRollback, "cancel before any try");
        assert_eq!(a.log.get(&7), Some(&Reservation::Cancelled));
        assert_eq!(a.try_reserve(7, 10), (false, Outcome::Suspended), "the try arriving after its cancel");
        assert_eq!((a.available, a.frozen, a.moved), (100, 0, 0), "nothing frozen forever");
    }

    #[test]
    fn every_step_is_idempotent() {
        let mut a = Account::new(100);
        assert_eq!(a.try_reserve(1, 30), (true, Outcome::Applied));
        assert_eq!(a.try_reserve(1, 30), (true, Outcome::Repeated));
        assert_eq!((a.available, a.frozen), (70, 30));
        assert_eq!(a.confirm(1), Outcome::Applied);
        assert_eq!(a.confirm(1), Outcome::Repeated);
        assert_eq!((a.available, a.frozen, a.moved), (70, 0, 30));
        assert_eq!(a.cancel(1), Outcome::Repeated, "a cancel after the confirm changes nothing");
        assert_eq!(a.try_reserve(2, 50), (true, Outcome::Applied));
        assert_eq!(a.cancel(2), Outcome::Applied);
        assert_eq!(a.cancel(2), Outcome::Repeated);
        assert_eq!((a.available, a.frozen, a.moved), (70, 0, 30));
    }

    #[test]
    fn a_refused_try_freezes_nothing_and_its_cancel_is_clean() {
        let mut a = Account::new(5);
        assert_eq!(a.try_reserve(3, 10), (false, Outcome::Applied));
        assert_eq!(a.cancel(3), Outcome::Applied);
        assert_eq!((a.available, a.frozen), (5, 0));
    }
}
