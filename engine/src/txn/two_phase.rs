//! Two-phase commit (46.7.3) with durable logs and recovery.
//!
//! The coordinator logs an order as started before it asks anyone, and logs its decision before
//! it tells anyone; a participant logs its vote (and holds its lock) before it answers yes. So
//! after any crash each side knows where it was: a coordinator that restarts aborts the orders it
//! had not decided (presumed abort) and resends the decisions not yet acknowledged; a participant
//! that restarts holds its prepared locks again and asks for the decision. What no log can fix is
//! the wait: a participant that voted yes may neither commit nor abort on its own, so while the
//! coordinator is down it stays *in doubt*, holding its lock, and every other order that needs
//! that service is refused. That blocking is 2PC's price, and the participants measure it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ServiceKind, TwoPhaseMsg, TwoPhaseObs, TwoPhaseProtocol};
use crate::actor::{Actor, Ctx, NodeId, TimerId};
use crate::sim::{SimDuration, SimTime};

/// How often an in-doubt participant asks for the decision, and the coordinator resends it.
const RETRY: SimDuration = SimDuration::from_millis(500);

/// A participant's log entry for one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    /// Voted yes, with the amount to move on commit; the lock is held.
    Prepared {
        amount: i64,
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

/// A participant: one of the three services.
#[derive(Debug)]
pub struct Service {
    kind: ServiceKind,
    coordinator: NodeId,
    state: ServiceState,
    /// When each in-doubt order was prepared, on this incarnation's clock.
    in_doubt_since: BTreeMap<u64, SimTime>,
    /// Local work before a vote, in microseconds (drawn per order from this range).
    work_us: (u64, u64),
    /// Prepares doing their work: tx → amount.
    working: BTreeMap<u64, i64>,
}

/// Timers of a participant: the query sweep is 0; an order's work is 1 + tx.
const QUERY: TimerId = TimerId(0);

impl Service {
    pub fn new(
        kind: ServiceKind,
        coordinator: NodeId,
        available: i64,
        work_us: (u64, u64),
        durable: Option<ServiceState>,
    ) -> Self {
        let state = durable.unwrap_or(ServiceState { available, ..ServiceState::default() });
        Service { kind, coordinator, state, in_doubt_since: BTreeMap::new(), work_us, working: BTreeMap::new() }
    }

    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    pub fn state(&self) -> &ServiceState {
        &self.state
    }

    fn vote(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, tx: u64, amount: i64) {
        let free = self.state.lock.is_none_or(|holder| holder == tx);
        let yes = free && self.state.available >= amount && !matches!(self.state.log.get(&tx), Some(Vote::Aborted));
        if yes {
            self.state.log.insert(tx, Vote::Prepared { amount });
            self.state.lock = Some(tx);
            self.in_doubt_since.insert(tx, ctx.now());
            ctx.observe(TwoPhaseObs::Prepared { tx });
            ctx.set_timer(QUERY, RETRY);
        } else {
            self.state.log.insert(tx, Vote::Aborted);
            ctx.observe(TwoPhaseObs::Refused { tx });
        }
        ctx.send(self.coordinator, TwoPhaseMsg::Vote { tx, yes });
    }

    fn decide(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, tx: u64, commit: bool) {
        self.working.remove(&tx);
        match self.state.log.get(&tx).copied() {
            Some(Vote::Prepared { amount }) => {
                if commit {
                    self.state.available -= amount;
                    self.state.moved += amount;
                }
                self.state.log.insert(tx, if commit { Vote::Committed } else { Vote::Aborted });
                if self.state.lock == Some(tx) {
                    self.state.lock = None;
                }
                let since = self.in_doubt_since.remove(&tx).unwrap_or(ctx.now());
                ctx.observe(TwoPhaseObs::Applied {
                    tx,
                    commit,
                    blocked_us: ctx.now().saturating_since(since).as_micros(),
                });
            }
            // Decided before this participant voted (a vote timeout, or another's no): it never
            // did anything, and remembers the abort so that a late prepare is refused.
            None if !commit => {
                self.state.log.insert(tx, Vote::Aborted);
                ctx.observe(TwoPhaseObs::Applied { tx, commit, blocked_us: 0 });
            }
            // Already applied: a resent decision. (A commit of an order never prepared here
            // cannot happen: the coordinator commits only after every yes.)
            _ => {}
        }
        ctx.send(self.coordinator, TwoPhaseMsg::Ack { tx });
    }
}

impl Actor<TwoPhaseProtocol> for Service {
    type Durable = ServiceState;

    fn on_start(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>) {
        let in_doubt: Vec<u64> =
            self.state.log.iter().filter(|(_, v)| matches!(v, Vote::Prepared { .. })).map(|(&tx, _)| tx).collect();
        if !in_doubt.is_empty() {
            for &tx in &in_doubt {
                self.in_doubt_since.insert(tx, ctx.now());
                ctx.send(self.coordinator, TwoPhaseMsg::Query { tx });
            }
            ctx.observe(TwoPhaseObs::Recovered { in_doubt: in_doubt.len() as u64 });
            ctx.set_timer(QUERY, RETRY);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, _from: NodeId, msg: TwoPhaseMsg) {
        match msg {
            TwoPhaseMsg::Prepare { tx, amount } => match self.state.log.get(&tx) {
                // A retransmitted prepare: vote again as before.
                Some(Vote::Prepared { .. }) => ctx.send(self.coordinator, TwoPhaseMsg::Vote { tx, yes: true }),
                Some(_) => ctx.send(self.coordinator, TwoPhaseMsg::Vote { tx, yes: false }),
                None => {
                    self.working.insert(tx, amount);
                    let work = ctx.rng().between(self.work_us.0, self.work_us.1);
                    ctx.set_timer(TimerId(1 + tx), SimDuration::from_micros(work));
                }
            },
            TwoPhaseMsg::Decide { tx, commit } => self.decide(ctx, tx, commit),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, timer: TimerId) {
        if timer == QUERY {
            let in_doubt: Vec<u64> =
                self.state.log.iter().filter(|(_, v)| matches!(v, Vote::Prepared { .. })).map(|(&tx, _)| tx).collect();
            for &tx in &in_doubt {
                ctx.send(self.coordinator, TwoPhaseMsg::Query { tx });
            }
            if !in_doubt.is_empty() {
                ctx.set_timer(QUERY, RETRY);
            }
            return;
        }
        let tx = timer.0 - 1;
        if let Some(amount) = self.working.remove(&tx) {
            self.vote(ctx, tx, amount);
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
            "in_doubt": self.state.log.values().filter(|v| matches!(v, Vote::Prepared { .. })).count(),
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

/// The coordinator: starts `orders` orders, one every `interval`, each over the three services.
#[derive(Debug)]
pub struct Coordinator {
    services: Vec<(ServiceKind, NodeId)>,
    price: i64,
    orders: u64,
    interval: SimDuration,
    vote_timeout: SimDuration,
    state: CoordinatorLog,
    /// Yes votes per order being collected (volatile: a restart aborts undecided orders).
    votes: BTreeMap<u64, BTreeSet<NodeId>>,
}

/// Coordinator timers: the next order is 0; an order's vote timeout 2·tx, its resend 2·tx + 1.
const NEXT_ORDER: TimerId = TimerId(0);

impl Coordinator {
    pub fn new(
        services: Vec<(ServiceKind, NodeId)>,
        price: i64,
        orders: u64,
        interval: SimDuration,
        vote_timeout: SimDuration,
        durable: Option<CoordinatorLog>,
    ) -> Self {
        Coordinator {
            services,
            price,
            orders,
            interval,
            vote_timeout,
            state: durable.unwrap_or_default(),
            votes: BTreeMap::new(),
        }
    }

    fn amount(&self, kind: ServiceKind) -> i64 {
        if kind == ServiceKind::Payment { self.price } else { 1 }
    }

    fn begin(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>) {
        self.state.orders_started += 1;
        let tx = self.state.orders_started;
        self.state.log.insert(tx, Decision { commit: None, acked: BTreeSet::new() });
        self.votes.insert(tx, BTreeSet::new());
        ctx.observe(TwoPhaseObs::Begun { tx });
        for &(kind, node) in &self.services {
            ctx.send(node, TwoPhaseMsg::Prepare { tx, amount: self.amount(kind) });
        }
        ctx.set_timer(TimerId(2 * tx), self.vote_timeout);
    }

    /// Logs the decision, then tells everyone (and keeps telling those who have not acknowledged).
    fn decide(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, tx: u64, commit: bool) {
        self.votes.remove(&tx);
        ctx.cancel_timer(TimerId(2 * tx));
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
            ctx.set_timer(TimerId(2 * tx + 1), RETRY);
        }
    }
}

impl Actor<TwoPhaseProtocol> for Coordinator {
    type Durable = CoordinatorLog;

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
        if self.state.orders_started < self.orders {
            ctx.set_timer(NEXT_ORDER, self.interval);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, from: NodeId, msg: TwoPhaseMsg) {
        match msg {
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
                    ctx.cancel_timer(TimerId(2 * tx + 1));
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

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TwoPhaseProtocol>, timer: TimerId) {
        if timer == NEXT_ORDER {
            self.begin(ctx);
            if self.state.orders_started < self.orders {
                ctx.set_timer(NEXT_ORDER, self.interval);
            }
            return;
        }
        let tx = timer.0 / 2;
        if timer.0.is_multiple_of(2) {
            if self.votes.contains_key(&tx) {
                self.decide(ctx, tx, false); // not every vote came in time
            }
        } else {
            self.send_decision(ctx, tx);
        }
    }

    fn durable(&self) -> CoordinatorLog {
        self.state.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "orders_started": self.state.orders_started,
            "collecting": self.votes.len(),
            "committed": self.state.log.values().filter(|d| d.commit == Some(true)).count(),
            "aborted": self.state.log.values().filter(|d| d.commit == Some(false)).count(),
        })
    }
}
