//! Two-phase commit (46.7.3) with durable logs and recovery.
//!
//! An order runs in three rounds. *Execute*: each participant does the work (takes its row
//! lock, checks the amount) and reports, without logging anything; until it votes it may still
//! give up on its own, and does when no prepare comes in time (or when it crashes: the work was
//! volatile). *Prepare*: it logs its vote, and with a yes it has given up that freedom. *Decide*:
//! the coordinator logs the decision before telling anyone.
//!
//! The coordinator logs an order as started before it asks anyone; so after any crash each side
//! knows where it was: a coordinator that restarts aborts the orders it had not decided (presumed
//! abort) and resends the decisions not yet acknowledged; a participant that restarts holds its
//! prepared locks again and asks for the decision. What no log can fix is the wait: a participant
//! that voted yes may neither commit nor abort on its own, so while the coordinator is down it
//! stays *in doubt*, holding its lock, and every other order that needs that service — another
//! coordinator's, too — is refused. That blocking is 2PC's price, and the participants measure it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{PhaseTimer, Refusal, ServiceKind, TwoPhaseMsg, TwoPhaseObs, TwoPhaseProtocol};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::sim::{SimDuration, SimTime};

/// How often an in-doubt participant asks for the decision, and the coordinator resends it.
const RETRY: SimDuration = SimDuration::from_millis(500);

/// A participant's log entry for one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    /// Voted yes, with the amount to move on commit, the coordinator to ask, and when (on this
    /// participant's clock: the time blocked counts from here, across its own restarts); the
    /// lock is held.
    Prepared {
        amount: i64,
        coordinator: NodeId,
        since: SimTime,
    },
    Committed,
    Aborted,
}

/// What survives a participant's crash: its counters, its log and its lock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    /// Available stock, the customer's money, free shipping slots.
    pub available: i64,
    /// Sold stock, the merchant's money, booked slots.
    pub moved: i64,
    pub log: BTreeMap<u64, Vote>,
    /// The order holding the service's lock (one at a time: the row everyone updates).
    pub lock: Option<u64>,
}

/// How a participant behaves: how long its work takes, how long it waits for a prepare after
/// the work, and the one order whose step fails here (a failure injected by the page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceSettings {
    /// Local work of an order, in microseconds (drawn per order from this range).
    pub work_us: (u64, u64),
    pub prepare_timeout: SimDuration,
    pub refuses: Option<u64>,
}

/// A participant: one of the three services.
#[derive(Clone, Debug)]
pub struct Service {
    kind: ServiceKind,
    settings: ServiceSettings,
    state: ServiceState,
    /// Orders whose work is under way: tx → (amount, coordinator).
    working: BTreeMap<u64, (i64, NodeId)>,
    /// Orders whose work is done, lock held, not yet voted on: tx → amount. Volatile, like an
    /// uncommitted database transaction.
    executed: BTreeMap<u64, i64>,
}

/// A participant's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceTimer {
    /// Time to ask the coordinators about every order still in doubt.
    Query,
    /// This order's work is done: vote.
    Work(u64),
    /// No prepare came for this order in time: give it up (not having voted, it may).
    Prepare(u64),
}

impl Timer for ServiceTimer {
    fn id(self) -> TimerId {
        match self {
            ServiceTimer::Query => TimerId(0),
            ServiceTimer::Work(tx) => TimerId(1 + 2 * tx),
            ServiceTimer::Prepare(tx) => TimerId(2 + 2 * tx),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        let tx = (id.0.saturating_sub(1)) / 2;
        Some(match id.0 {
            0 => ServiceTimer::Query,
            n if n % 2 == 1 => ServiceTimer::Work(tx),
            _ => ServiceTimer::Prepare(tx),
        })
    }
}

impl Service {
    pub fn new(kind: ServiceKind, available: i64, settings: ServiceSettings, durable: Option<ServiceState>) -> Self {
        let state = durable.unwrap_or(ServiceState { available, ..ServiceState::default() });
        Service { kind, settings, state, working: BTreeMap::new(), executed: BTreeMap::new() }
    }

    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    pub fn state(&self) -> &ServiceState {
        &self.state
    }

    fn in_doubt(&self) -> Vec<(u64, NodeId)> {
        self.state
            .log
            .iter()
            .filter_map(
                |(&tx, v)| if let Vote::Prepared { coordinator, .. } = v { Some((tx, *coordinator)) } else { None },
            )
            .collect()
    }

    fn refuse(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, tx: u64, why: Refusal) {
        self.state.log.insert(tx, Vote::Aborted);
        ctx.observe(TwoPhaseObs::Refused { tx, why });
    }

    /// The work is done: lock the row and check the amount, then report.
    fn executed(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, tx: u64, amount: i64, coordinator: NodeId) {
        let why = if self.state.lock.is_some_and(|holder| holder != tx) {
            Some(Refusal::Locked)
        } else if self.state.available < amount || self.settings.refuses == Some(tx) {
            Some(Refusal::Short)
        } else {
            None
        };
        if let Some(why) = why {
            self.refuse(ctx, tx, why);
        } else {
            self.state.lock = Some(tx);
            self.executed.insert(tx, amount);
            ctx.observe(TwoPhaseObs::Executed { tx });
            ctx.set_timer(ServiceTimer::Prepare(tx), self.settings.prepare_timeout);
        }
        ctx.send(coordinator, TwoPhaseMsg::Executed { tx, ok: why.is_none() });
    }

    fn release(&mut self, tx: u64) {
        if self.state.lock == Some(tx) {
            self.state.lock = None;
        }
    }

    fn prepare(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, from: NodeId, tx: u64) {
        let yes = match self.state.log.get(&tx) {
            // A retransmitted prepare: vote again as before.
            Some(Vote::Prepared { .. } | Vote::Committed) => true,
            Some(Vote::Aborted) => false,
            None => match self.executed.remove(&tx) {
                Some(amount) => {
                    ctx.cancel_timer(ServiceTimer::Prepare(tx));
                    self.state.log.insert(tx, Vote::Prepared { amount, coordinator: from, since: ctx.now() });
                    ctx.observe(TwoPhaseObs::Prepared { tx });
                    ctx.set_timer(ServiceTimer::Query, RETRY);
                    true
                }
                None => {
                    self.working.remove(&tx);
                    self.refuse(ctx, tx, Refusal::Unprepared);
                    false
                }
            },
        };
        ctx.send(from, TwoPhaseMsg::Vote { tx, yes });
    }

    fn decide(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, from: NodeId, tx: u64, commit: bool) {
        self.working.remove(&tx);
        match self.state.log.get(&tx).copied() {
            Some(Vote::Prepared { amount, since, .. }) => {
                if commit {
                    self.state.available -= amount;
                    self.state.moved += amount;
                }
                self.state.log.insert(tx, if commit { Vote::Committed } else { Vote::Aborted });
                self.release(tx);
                ctx.observe(TwoPhaseObs::Applied {
                    tx,
                    commit,
                    blocked_us: ctx.now().saturating_since(since).as_micros(),
                });
            }
            // Aborted before this participant voted (a timeout, or another's no): the work is
            // undone and the abort remembered, so that a late prepare is refused.
            None if !commit => {
                if self.executed.remove(&tx).is_some() {
                    ctx.cancel_timer(ServiceTimer::Prepare(tx));
                    self.release(tx);
                }
                self.state.log.insert(tx, Vote::Aborted);
                ctx.observe(TwoPhaseObs::Applied { tx, commit, blocked_us: 0 });
            }
            // Already applied: a resent decision. (A commit of an order never prepared here
            // cannot happen: the coordinator commits only after every yes.)
            _ => {}
        }
        ctx.send(from, TwoPhaseMsg::Ack { tx });
    }
}

impl Actor<TwoPhaseProtocol> for Service {
    type Durable = ServiceState;
    type Timer = ServiceTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>) {
        // Work not yet prepared died with the crash, and its lock with it; a prepared order keeps
        // the lock it logged.
        let in_doubt = self.in_doubt();
        self.state.lock = in_doubt.first().map(|&(tx, _)| tx);
        if !in_doubt.is_empty() {
            for &(tx, coordinator) in &in_doubt {
                ctx.send(coordinator, TwoPhaseMsg::Query { tx });
            }
            ctx.observe(TwoPhaseObs::Recovered { in_doubt: in_doubt.len() as u64 });
            ctx.set_timer(ServiceTimer::Query, RETRY);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, from: NodeId, msg: TwoPhaseMsg) {
        match msg {
            TwoPhaseMsg::Execute { tx, amount } => {
                let answer = match self.state.log.get(&tx) {
                    Some(Vote::Aborted) => Some(false),
                    Some(_) => Some(true),
                    None if self.executed.contains_key(&tx) => Some(true),
                    None if self.working.contains_key(&tx) => None,
                    None => {
                        self.working.insert(tx, (amount, from));
                        let work = ctx.rng().between(self.settings.work_us.0, self.settings.work_us.1);
                        ctx.set_timer(ServiceTimer::Work(tx), SimDuration::from_micros(work));
                        None
                    }
                };
                if let Some(ok) = answer {
                    ctx.send(from, TwoPhaseMsg::Executed { tx, ok });
                }
            }
            TwoPhaseMsg::Prepare { tx } => self.prepare(ctx, from, tx),
            TwoPhaseMsg::Decide { tx, commit } => self.decide(ctx, from, tx, commit),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, timer: ServiceTimer) {
        match timer {
            ServiceTimer::Query => {
                let in_doubt = self.in_doubt();
                for &(tx, coordinator) in &in_doubt {
                    ctx.send(coordinator, TwoPhaseMsg::Query { tx });
                }
                if !in_doubt.is_empty() {
                    ctx.set_timer(ServiceTimer::Query, RETRY);
                }
            }
            ServiceTimer::Work(tx) => {
                if let Some((amount, coordinator)) = self.working.remove(&tx) {
                    self.executed(ctx, tx, amount, coordinator);
                }
            }
            ServiceTimer::Prepare(tx) => {
                if self.executed.remove(&tx).is_some() {
                    // No prepare in time: not having voted, the participant may still abort alone.
                    self.release(tx);
                    self.state.log.insert(tx, Vote::Aborted);
                    ctx.observe(TwoPhaseObs::TimedOut { tx });
                }
            }
        }
    }

    fn durable(&self) -> ServiceState {
        self.state.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "service": self.kind,
            "available": self.state.available,
            "moved": self.state.moved,
            "lock": self.state.lock,
            "in_doubt": self.in_doubt().len(),
            "in_doubt_orders": self.in_doubt().iter().map(|&(tx, _)| tx).collect::<Vec<_>>(),
        })
    }
}

/// The coordinator's log entry for one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `None` while collecting votes.
    pub commit: Option<bool>,
    /// Participants that acknowledged the decision.
    pub acked: BTreeSet<NodeId>,
}

/// What survives the coordinator's crash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinatorLog {
    pub orders_started: u64,
    pub log: BTreeMap<u64, Decision>,
}

/// Which orders a coordinator starts: `orders` of them, one every `interval`, the first at
/// `first`; with several coordinators, order ids interleave (`index` of `count`) so that they
/// never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub orders: u64,
    pub interval: SimDuration,
    pub first: SimDuration,
    pub index: u64,
    pub count: u64,
}

/// The coordinator: starts its scheduled orders, each over the three services.
#[derive(Clone, Debug)]
pub struct Coordinator {
    services: Vec<(ServiceKind, NodeId)>,
    price: i64,
    schedule: Schedule,
    /// From the order's start to the decision, if not every vote is in.
    vote_timeout: SimDuration,
    state: CoordinatorLog,
    /// Services that did the work, per undecided order (volatile: a restart aborts those).
    executed: BTreeMap<u64, BTreeSet<NodeId>>,
    /// Yes votes per undecided order.
    votes: BTreeMap<u64, BTreeSet<NodeId>>,
}

/// Coordinator timers: the next order is 0; an order's vote timeout 2·tx, its resend 2·tx + 1.
impl Coordinator {
    pub fn new(
        services: Vec<(ServiceKind, NodeId)>,
        price: i64,
        schedule: Schedule,
        vote_timeout: SimDuration,
        durable: Option<CoordinatorLog>,
    ) -> Self {
        Coordinator {
            services,
            price,
            schedule,
            vote_timeout,
            state: durable.unwrap_or_default(),
            executed: BTreeMap::new(),
            votes: BTreeMap::new(),
        }
    }

    fn amount(&self, kind: ServiceKind) -> i64 {
        if kind == ServiceKind::Payment { self.price } else { 1 }
    }

    fn begin(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>) {
        let tx = self.state.orders_started * self.schedule.count + self.schedule.index + 1;
        self.state.orders_started += 1;
        self.state.log.insert(tx, Decision { commit: None, acked: BTreeSet::new() });
        self.executed.insert(tx, BTreeSet::new());
        self.votes.insert(tx, BTreeSet::new());
        ctx.observe(TwoPhaseObs::Begun { tx });
        for &(kind, node) in &self.services {
            ctx.send(node, TwoPhaseMsg::Execute { tx, amount: self.amount(kind) });
        }
        ctx.set_timer(PhaseTimer::Deadline(tx), self.vote_timeout);
    }

    /// Logs the decision, then tells everyone (and keeps telling those who have not acknowledged).
    fn decide(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, tx: u64, commit: bool) {
        self.executed.remove(&tx);
        self.votes.remove(&tx);
        ctx.cancel_timer(PhaseTimer::Deadline(tx));
        if let Some(entry) = self.state.log.get_mut(&tx) {
            entry.commit = Some(commit);
        }
        ctx.observe(TwoPhaseObs::Decided { tx, commit });
        self.send_decision(ctx, tx);
    }

    fn send_decision(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, tx: u64) {
        let Some(Decision { commit: Some(commit), acked }) = self.state.log.get(&tx) else { return };
        let commit = *commit;
        let pending: Vec<NodeId> = self.services.iter().map(|&(_, n)| n).filter(|n| !acked.contains(n)).collect();
        for node in &pending {
            ctx.send(*node, TwoPhaseMsg::Decide { tx, commit });
        }
        if !pending.is_empty() {
            ctx.set_timer(PhaseTimer::Retry(tx), RETRY);
        }
    }
}

impl Actor<TwoPhaseProtocol> for Coordinator {
    type Durable = CoordinatorLog;
    type Timer = PhaseTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>) {
        // Recovery: orders started but undecided are aborted (nobody was told to commit them);
        // decisions not acknowledged by everyone are sent again.
        let undecided: Vec<u64> =
            self.state.log.iter().filter(|(_, d)| d.commit.is_none()).map(|(&tx, _)| tx).collect();
        let unacked: Vec<u64> = self
            .state
            .log
            .iter()
            .filter(|(_, d)| d.commit.is_some() && d.acked.len() < self.services.len())
            .map(|(&tx, _)| tx)
            .collect();
        if self.state.orders_started > 0 {
            ctx.observe(TwoPhaseObs::Recovered { in_doubt: (undecided.len() + unacked.len()) as u64 });
        }
        for tx in undecided {
            self.decide(ctx, tx, false);
        }
        for tx in unacked {
            self.send_decision(ctx, tx);
        }
        if self.state.orders_started < self.schedule.orders {
            let wait = if self.state.orders_started == 0 { self.schedule.first } else { self.schedule.interval };
            ctx.set_timer(PhaseTimer::NextOrder, wait);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, from: NodeId, msg: TwoPhaseMsg) {
        match msg {
            TwoPhaseMsg::Executed { tx, ok } => {
                if !ok {
                    if self.votes.contains_key(&tx) {
                        self.decide(ctx, tx, false);
                    }
                    return;
                }
                let all = self
                    .executed
                    .get_mut(&tx)
                    .is_some_and(|done| done.insert(from) && done.len() == self.services.len());
                if all {
                    for &(_, node) in &self.services {
                        ctx.send(node, TwoPhaseMsg::Prepare { tx });
                    }
                }
            }
            TwoPhaseMsg::Vote { tx, yes } => {
                if !self.votes.contains_key(&tx) {
                    return; // decided already (a late or repeated vote)
                }
                if !yes {
                    self.decide(ctx, tx, false);
                    return;
                }
                let all = {
                    let yes_votes = self.votes.entry(tx).or_default();
                    yes_votes.insert(from);
                    yes_votes.len() == self.services.len()
                };
                if all {
                    self.decide(ctx, tx, true);
                }
            }
            TwoPhaseMsg::Ack { tx } => {
                let done = match self.state.log.get_mut(&tx) {
                    Some(entry) => {
                        entry.acked.insert(from);
                        entry.acked.len() == self.services.len()
                    }
                    None => false,
                };
                if done {
                    ctx.cancel_timer(PhaseTimer::Retry(tx));
                }
            }
            // Answer from the log; an order still collecting votes is answered when decided.
            TwoPhaseMsg::Query { tx } => match self.state.log.get(&tx).map(|d| d.commit) {
                Some(Some(commit)) => ctx.send(from, TwoPhaseMsg::Decide { tx, commit }),
                Some(None) => {}
                None => ctx.send(from, TwoPhaseMsg::Decide { tx, commit: false }),
            },
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, timer: PhaseTimer) {
        match timer {
            PhaseTimer::NextOrder => {
                self.begin(ctx);
                if self.state.orders_started < self.schedule.orders {
                    ctx.set_timer(PhaseTimer::NextOrder, self.schedule.interval);
                }
            }
            PhaseTimer::Deadline(tx) => {
                if self.votes.contains_key(&tx) {
                    self.decide(ctx, tx, false); // not every vote came in time
                }
            }
            PhaseTimer::Retry(tx) => self.send_decision(ctx, tx),
        }
    }

    fn durable(&self) -> CoordinatorLog {
        self.state.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "orders_started": self.state.orders_started,
            "undecided": self.votes.len(),
            "undecided_orders": self.votes.keys().collect::<Vec<_>>(),
            "committed": self.state.log.values().filter(|d| d.commit == Some(true)).count(),
            "aborted": self.state.log.values().filter(|d| d.commit == Some(false)).count(),
        })
    }
}
