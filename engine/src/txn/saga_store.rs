//! The orchestrated saga with everything in the store (46.7.3): the services' accounts, the saga
//! log and the outbox are keys of a Redis-like store reached through `Cmd`, so the very actors the
//! simulator runs also run, unchanged, on a real Redis (the native `saga` command and benchmark).
//!
//! One script, `saga_step`, applies a step (or a compensation) to a service's account, moves the
//! saga's log entry on, and appends the step's event to the outbox, atomically. So the
//! orchestrator keeps nothing of its own: when it restarts it reads the log and carries on with
//! every saga exactly where its last step left it, and a step that ran just before a crash is
//! never run twice (the script refuses a request that finds the log elsewhere). A relay
//! publishes the outbox to a consumer at least once; the consumer counts each event once
//! (`consume_once`), and only then does the relay remove it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ServiceKind;
use crate::actor::{Actor, Ctx, NoTimer, NodeId, Protocol};
use crate::sim::{SimDuration, SimTime};
use crate::store::{CarriesStore, Cmd, Reply, ScoreBound, ScriptName, StoreMsg};

#[derive(Debug)]
pub struct SagaStoreProtocol;

impl Protocol for SagaStoreProtocol {
    type Msg = SagaStoreMsg;
    type Obs = SagaStoreObs;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SagaStoreMsg {
    Store {
        msg: StoreMsg,
    },
    /// The relay publishes an outbox event (`seq:tx:service:op:ok`) to the consumer.
    Event {
        id: u64,
        event: String,
    },
    /// The consumer has counted the event: the relay may remove it from the outbox.
    Ack {
        id: u64,
    },
}

impl From<StoreMsg> for SagaStoreMsg {
    fn from(msg: StoreMsg) -> Self {
        SagaStoreMsg::Store { msg }
    }
}

impl CarriesStore for SagaStoreMsg {
    fn as_store(&self) -> Option<&StoreMsg> {
        match self {
            SagaStoreMsg::Store { msg } => Some(msg),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SagaStoreObs {
    /// The orchestrator read the log: `sagas` were left unfinished by an earlier incarnation.
    Resumed {
        sagas: u64,
    },
    Begun {
        tx: u64,
    },
    /// A step (or, with `undo`, a compensation) took effect at `service`.
    Stepped {
        tx: u64,
        service: ServiceKind,
        undo: bool,
        ok: bool,
    },
    Completed {
        tx: u64,
    },
    RolledBack {
        tx: u64,
    },
    /// The store answered a request with an error (`tx` 0: not a saga's): the saga stays where
    /// its log says, for the next run to resume, reported rather than dropped.
    Failed {
        tx: u64,
        error: String,
    },
    /// Every order of the plan is finished (once per incarnation that sees it).
    Finished,
    /// The relay found the outbox empty with nothing awaiting acknowledgement (once per
    /// incarnation).
    Drained,
    /// The consumer received an outbox event; `first` when it counted it (a repeat is not).
    Consumed {
        id: u64,
        first: bool,
    },
}

/// Where a saga stands, as its log entry says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogState {
    /// The step at this index is next.
    Forward(usize),
    /// The compensation of the step at this index is next.
    Backward(usize),
    Completed,
    RolledBack,
}

impl LogState {
    pub fn encode(self) -> String {
        match self {
            LogState::Forward(i) => format!("f:{i}"),
            LogState::Backward(i) => format!("b:{i}"),
            LogState::Completed => "completed".to_owned(),
            LogState::RolledBack => "rolled_back".to_owned(),
        }
    }

    pub fn parse(s: &str) -> Option<LogState> {
        match s {
            "completed" => Some(LogState::Completed),
            "rolled_back" => Some(LogState::RolledBack),
            _ => {
                let (kind, step) = s.split_once(':')?;
                let step = step.parse().ok().filter(|&i| i < ServiceKind::ALL.len())?;
                match kind {
                    "f" => Some(LogState::Forward(step)),
                    "b" => Some(LogState::Backward(step)),
                    _ => None,
                }
            }
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, LogState::Completed | LogState::RolledBack)
    }

    /// What the log says before the step runs: nothing yet for a saga's first step.
    fn expected(self) -> String {
        if self == LogState::Forward(0) { String::new() } else { self.encode() }
    }

    /// The next state after this state's step succeeded (`ok`) or was refused.
    fn next(self, ok: bool) -> LogState {
        let last = ServiceKind::ALL.len() - 1;
        match self {
            LogState::Forward(i) if ok && i == last => LogState::Completed,
            LogState::Forward(i) if ok => LogState::Forward(i + 1),
            LogState::Forward(0) | LogState::Backward(0) => LogState::RolledBack,
            LogState::Forward(i) | LogState::Backward(i) => LogState::Backward(i - 1),
            done => done,
        }
    }
}

/// The store's keys, all under one hash tag so that a Redis Cluster keeps them in one slot (a
/// script may only touch keys of one slot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaKeys {
    tag: String,
}

impl SagaKeys {
    /// `tag` names the world, e.g. `saga` for keys `{saga}:log`, ...
    pub fn new(tag: &str) -> Self {
        SagaKeys { tag: format!("{{{tag}}}") }
    }
    pub fn account(&self, kind: ServiceKind) -> String {
        format!("{}:account:{}", self.tag, kind.name())
    }
    pub fn log(&self) -> String {
        format!("{}:log", self.tag)
    }
    /// `initialized` once the accounts are set up.
    pub fn meta(&self) -> String {
        format!("{}:meta", self.tag)
    }
    pub fn outbox(&self) -> String {
        format!("{}:outbox", self.tag)
    }
    pub fn sequence(&self) -> String {
        format!("{}:outbox:seq", self.tag)
    }
    pub fn seen(&self) -> String {
        format!("{}:consumer:seen", self.tag)
    }
    pub fn effects(&self) -> String {
        format!("{}:consumer:effects", self.tag)
    }
}

/// The orders to run: how many, how many at once, the price, and each service's starting amount
/// (indexed like [`ServiceKind::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SagaPlan {
    pub orders: u64,
    pub concurrency: u64,
    pub price: i64,
    pub initial: [i64; 3],
}

/// What a request to the store was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    Meta,
    /// The accounts' setup: only the last write's answer matters (one connection, in order).
    Setup {
        last: bool,
    },
    Log,
    Step {
        tx: u64,
        state: LogState,
    },
    Reread {
        tx: u64,
    },
}

/// A `HGETALL` reply as (field, value) pairs.
pub fn pairs(reply: &Reply) -> Vec<(String, String)> {
    let Reply::Array(items) = reply else { return Vec::new() };
    items
        .chunks(2)
        .filter_map(|kv| match kv {
            [Reply::Bulk(k), Reply::Bulk(v)] => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

/// The orchestrator: everything it knows is in the store; what it holds is only the sagas in
/// flight and the requests it awaits.
#[derive(Clone, Debug)]
pub struct StoreOrchestrator {
    store: NodeId,
    keys: SagaKeys,
    plan: SagaPlan,
    next_req: u64,
    waiting: BTreeMap<u64, Waiting>,
    /// Sagas in flight and where each stands.
    sagas: BTreeMap<u64, LogState>,
    /// Orders to begin before `next_tx`: numbers below the highest in the log that have no entry
    /// (begun by an earlier incarnation, whose first step never took effect).
    gaps: Vec<u64>,
    /// The next order to begin; orders are numbered 1 to `plan.orders`.
    next_tx: u64,
    /// The log has been read (or the store set up): orders may begin.
    ready: bool,
    finished: bool,
}

impl StoreOrchestrator {
    pub fn new(store: NodeId, keys: SagaKeys, plan: SagaPlan) -> Self {
        StoreOrchestrator {
            store,
            keys,
            plan,
            next_req: 0,
            waiting: BTreeMap::new(),
            sagas: BTreeMap::new(),
            gaps: Vec::new(),
            next_tx: 1,
            ready: false,
            finished: false,
        }
    }

    fn request(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, cmd: Cmd, waiting: Waiting) {
        self.next_req += 1;
        self.waiting.insert(self.next_req, waiting);
        ctx.send(self.store, StoreMsg::Request { req: self.next_req, cmd }.into());
    }

    fn amount(&self, kind: ServiceKind) -> i64 {
        if kind == ServiceKind::Payment { self.plan.price } else { 1 }
    }

    /// Runs the step the saga's state calls for.
    fn advance(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, tx: u64, state: LogState) {
        let (index, undo) = match state {
            LogState::Forward(i) => (i, false),
            LogState::Backward(i) => (i, true),
            done => {
                self.sagas.remove(&tx);
                ctx.observe(if done == LogState::Completed {
                    SagaStoreObs::Completed { tx }
                } else {
                    SagaStoreObs::RolledBack { tx }
                });
                self.fill(ctx);
                return;
            }
        };
        self.sagas.insert(tx, state);
        let kind = ServiceKind::ALL[index];
        let args = [
            tx.to_string(),
            self.amount(kind).to_string(),
            (if undo { "undo" } else { "do" }).to_owned(),
            state.next(true).encode(),
            state.next(false).encode(),
            state.expected(),
            kind.name().to_owned(),
        ];
        let keys = vec![self.keys.account(kind), self.keys.log(), self.keys.outbox(), self.keys.sequence()];
        let cmd = Cmd::Script { script: ScriptName::SagaStep, keys, args: args.to_vec() };
        self.request(ctx, cmd, Waiting::Step { tx, state });
    }

    /// Begins new orders while fewer than `concurrency` are in flight. An order exists in the
    /// log from its first step on (the script writes both at once), so nothing is written first.
    fn fill(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>) {
        while self.ready && (self.sagas.len() as u64) < self.plan.concurrency {
            let tx = if let Some(tx) = self.gaps.pop() {
                tx
            } else if self.next_tx <= self.plan.orders {
                self.next_tx += 1;
                self.next_tx - 1
            } else {
                if self.sagas.is_empty() && !self.finished {
                    self.finished = true;
                    ctx.observe(SagaStoreObs::Finished);
                }
                return;
            };
            ctx.observe(SagaStoreObs::Begun { tx });
            self.advance(ctx, tx, LogState::Forward(0));
        }
    }

    /// Reports a saga this run cannot carry on, and goes on with the others.
    fn give_up(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, tx: u64, error: String) {
        ctx.observe(SagaStoreObs::Failed { tx, error });
        self.sagas.remove(&tx);
        self.fill(ctx);
    }

    fn answered(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, waiting: Waiting, reply: &Reply) {
        if let Reply::Error(e) = reply {
            // Reported, never retried here: the saga stays where its log says (the next run
            // resumes it), and this run goes on with the others. Without the log or the accounts
            // there is nothing to go on with: the orchestrator gives up at once.
            match waiting {
                Waiting::Step { tx, .. } | Waiting::Reread { tx } => self.give_up(ctx, tx, e.clone()),
                Waiting::Meta | Waiting::Setup { .. } | Waiting::Log => {
                    ctx.observe(SagaStoreObs::Failed { tx: 0, error: e.clone() });
                    if !self.finished {
                        self.finished = true;
                        ctx.observe(SagaStoreObs::Finished);
                    }
                }
            }
            return;
        }
        match waiting {
            Waiting::Meta => {
                if pairs(reply).iter().any(|(k, _)| k == "initialized") {
                    self.request(ctx, Cmd::HGetAll { key: self.keys.log() }, Waiting::Log);
                } else {
                    // Rewriting the starting amounts is harmless until `initialized` is set:
                    // no step runs before it.
                    for (i, kind) in ServiceKind::ALL.into_iter().enumerate() {
                        let fields = vec![
                            ("available".to_owned(), self.plan.initial[i].to_string()),
                            ("moved".to_owned(), "0".to_owned()),
                        ];
                        self.request(
                            ctx,
                            Cmd::HSet { key: self.keys.account(kind), fields },
                            Waiting::Setup { last: false },
                        );
                    }
                    let fields = vec![("initialized".to_owned(), "1".to_owned())];
                    self.request(ctx, Cmd::HSet { key: self.keys.meta(), fields }, Waiting::Setup { last: true });
                }
            }
            Waiting::Setup { last } => {
                if last {
                    self.ready = true;
                    self.fill(ctx);
                }
            }
            Waiting::Log => {
                let logged: BTreeMap<u64, LogState> =
                    pairs(reply).iter().filter_map(|(tx, s)| Some((tx.parse().ok()?, LogState::parse(s)?))).collect();
                self.next_tx = logged.keys().next_back().map_or(1, |&tx| tx + 1);
                self.gaps = (1..self.next_tx).rev().filter(|tx| !logged.contains_key(tx)).collect();
                let unfinished: Vec<(u64, LogState)> = logged.into_iter().filter(|(_, s)| !s.is_final()).collect();
                ctx.observe(SagaStoreObs::Resumed { sagas: unfinished.len() as u64 });
                self.ready = true;
                for (tx, state) in unfinished {
                    self.advance(ctx, tx, state);
                }
                self.fill(ctx);
            }
            Waiting::Step { tx, state } => match reply {
                Reply::Int(-1) => {
                    let cmd = Cmd::HGet { key: self.keys.log(), field: tx.to_string() };
                    self.request(ctx, cmd, Waiting::Reread { tx });
                }
                Reply::Int(n) => {
                    let ok = *n == 1;
                    let (index, undo) = match state {
                        LogState::Backward(i) => (i, true),
                        LogState::Forward(i) => (i, false),
                        _ => return,
                    };
                    ctx.observe(SagaStoreObs::Stepped { tx, service: ServiceKind::ALL[index], undo, ok });
                    self.advance(ctx, tx, state.next(ok));
                }
                other => self.give_up(ctx, tx, format!("unexpected reply {other:?}")),
            },
            Waiting::Reread { tx } => match reply {
                Reply::Bulk(s) => match LogState::parse(s) {
                    Some(state) => self.advance(ctx, tx, state),
                    None => self.give_up(ctx, tx, format!("unreadable saga log entry {s:?}")),
                },
                _ => self.advance(ctx, tx, LogState::Forward(0)),
            },
        }
    }
}

impl Actor<SagaStoreProtocol> for StoreOrchestrator {
    type Durable = ();
    type Timer = NoTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>) {
        self.request(ctx, Cmd::HGetAll { key: self.keys.meta() }, Waiting::Meta);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, _from: NodeId, msg: SagaStoreMsg) {
        if let SagaStoreMsg::Store { msg: StoreMsg::Reply { req, reply } } = msg
            && let Some(waiting) = self.waiting.remove(&req)
        {
            self.answered(ctx, waiting, &reply);
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, SagaStoreProtocol>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "in_flight": self.sagas.len(),
            "sagas": self.sagas.iter().map(|(tx, s)| (tx.to_string(), s.encode())).collect::<BTreeMap<_, _>>(),
            "next_order": self.next_tx,
        })
    }
}

/// How often the relay reads the outbox, and how long before it publishes an event again.
const POLL: SimDuration = SimDuration::from_millis(20);
const REPUBLISH: SimDuration = SimDuration::from_millis(500);
/// Events read from the outbox at a time.
const BATCH: i64 = 200;

/// The relay: reads the outbox in sequence order, publishes each event until the consumer has
/// counted it, then removes it. Keeps nothing: after a crash it simply reads the outbox again.
#[derive(Clone, Debug)]
pub struct OutboxRelay {
    store: NodeId,
    consumer: NodeId,
    keys: SagaKeys,
    next_req: u64,
    /// Requests awaited: a read of the outbox (`None`) or the removal of an event.
    waiting: BTreeMap<u64, Option<u64>>,
    /// Published, unacknowledged events: id → (member, when last published).
    published: BTreeMap<u64, (String, SimTime)>,
    drained: bool,
}

crate::timers! {
    /// The outbox relay's one timer.
    pub enum RelayTimer {
        /// Time to read the outbox again.
        RelayPoll = 0,
    }
}

impl OutboxRelay {
    pub fn new(store: NodeId, consumer: NodeId, keys: SagaKeys) -> Self {
        OutboxRelay {
            store,
            consumer,
            keys,
            next_req: 0,
            waiting: BTreeMap::new(),
            published: BTreeMap::new(),
            drained: false,
        }
    }

    fn request(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, cmd: Cmd, removes: Option<u64>) {
        self.next_req += 1;
        self.waiting.insert(self.next_req, removes);
        ctx.send(self.store, StoreMsg::Request { req: self.next_req, cmd }.into());
    }
}

impl Actor<SagaStoreProtocol> for OutboxRelay {
    type Durable = ();
    type Timer = RelayTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>) {
        ctx.set_timer(RelayTimer::RelayPoll, POLL);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, _from: NodeId, msg: SagaStoreMsg) {
        match msg {
            SagaStoreMsg::Store { msg: StoreMsg::Reply { req, reply } } => match self.waiting.remove(&req) {
                Some(None) => {
                    let Reply::Array(items) = reply else { return };
                    if items.is_empty() && self.published.is_empty() && !self.drained {
                        self.drained = true;
                        ctx.observe(SagaStoreObs::Drained);
                    }
                    let now = ctx.now();
                    for item in items {
                        let Reply::Bulk(event) = item else { continue };
                        let Some(id) = event.split(':').next().and_then(|s| s.parse::<u64>().ok()) else { continue };
                        let due = self.published.get(&id).is_none_or(|&(_, at)| now.saturating_since(at) >= REPUBLISH);
                        if due {
                            self.published.insert(id, (event.clone(), now));
                            ctx.send(self.consumer, SagaStoreMsg::Event { id, event });
                        }
                    }
                }
                Some(Some(id)) => {
                    self.published.remove(&id);
                }
                None => {}
            },
            SagaStoreMsg::Ack { id } => {
                if let Some((member, _)) = self.published.get(&id) {
                    let cmd = Cmd::ZRem { key: self.keys.outbox(), members: vec![member.clone()] };
                    self.request(ctx, cmd, Some(id));
                }
            }
            SagaStoreMsg::Event { .. } | SagaStoreMsg::Store { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, _timer: RelayTimer) {
        if !self.waiting.values().any(Option::is_none) {
            let cmd = Cmd::ZRangeByScore {
                key: self.keys.outbox(),
                min: ScoreBound::NegInf,
                max: ScoreBound::PosInf,
                with_scores: false,
                limit: Some((0, BATCH)),
            };
            self.request(ctx, cmd, None);
        }
        ctx.set_timer(RelayTimer::RelayPoll, POLL);
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "unacknowledged": self.published.len() })
    }
}

/// The consumer: counts each event's effect once, by id, in the store; acknowledges after.
#[derive(Clone, Debug)]
pub struct EventConsumer {
    store: NodeId,
    keys: SagaKeys,
    next_req: u64,
    /// Requests awaited: the event's id and who to acknowledge.
    waiting: BTreeMap<u64, (u64, NodeId)>,
}

impl EventConsumer {
    pub fn new(store: NodeId, keys: SagaKeys) -> Self {
        EventConsumer { store, keys, next_req: 0, waiting: BTreeMap::new() }
    }
}

impl Actor<SagaStoreProtocol> for EventConsumer {
    type Durable = ();
    type Timer = NoTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, SagaStoreProtocol>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, SagaStoreProtocol>, from: NodeId, msg: SagaStoreMsg) {
        match msg {
            SagaStoreMsg::Event { id, event } => {
                // The effect counted: the event without its sequence number and order, e.g.
                // `payment:undo:1`.
                let effect = event.splitn(3, ':').nth(2).unwrap_or_default().to_owned();
                self.next_req += 1;
                self.waiting.insert(self.next_req, (id, from));
                let cmd = Cmd::Script {
                    script: ScriptName::ConsumeOnce,
                    keys: vec![self.keys.seen(), self.keys.effects()],
                    args: vec![id.to_string(), effect],
                };
                ctx.send(self.store, StoreMsg::Request { req: self.next_req, cmd }.into());
            }
            SagaStoreMsg::Store { msg: StoreMsg::Reply { req, reply } } => {
                if let Some((id, relay)) = self.waiting.remove(&req)
                    && let Reply::Int(n) = reply
                {
                    ctx.observe(SagaStoreObs::Consumed { id, first: n == 1 });
                    ctx.send(relay, SagaStoreMsg::Ack { id });
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, SagaStoreProtocol>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "awaiting": self.waiting.len() })
    }
}

/// What the store holds of a saga world, read by [`SagaSnapshot::commands`]: the same reads on
/// the simulated store and on a real Redis, so that both are judged by [`SagaAudit`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SagaSnapshot {
    pub log: Vec<(String, String)>,
    /// Indexed like [`ServiceKind::ALL`].
    pub accounts: [Vec<(String, String)>; 3],
    pub effects: Vec<(String, String)>,
    /// Events ever written to the outbox.
    pub events: u64,
    /// Events still in the outbox.
    pub outbox_left: u64,
}

impl SagaSnapshot {
    pub fn commands(keys: &SagaKeys) -> Vec<Cmd> {
        let mut cmds = vec![Cmd::HGetAll { key: keys.log() }];
        cmds.extend(ServiceKind::ALL.map(|k| Cmd::HGetAll { key: keys.account(k) }));
        cmds.push(Cmd::HGetAll { key: keys.effects() });
        cmds.push(Cmd::Get { key: keys.sequence() });
        cmds.push(Cmd::ZRangeByScore {
            key: keys.outbox(),
            min: ScoreBound::NegInf,
            max: ScoreBound::PosInf,
            with_scores: false,
            limit: None,
        });
        cmds
    }

    /// From the replies to [`SagaSnapshot::commands`], in order.
    pub fn from_replies(replies: &[Reply]) -> SagaSnapshot {
        let at = |i: usize| replies.get(i).cloned().unwrap_or(Reply::Nil);
        SagaSnapshot {
            log: pairs(&at(0)),
            accounts: [pairs(&at(1)), pairs(&at(2)), pairs(&at(3))],
            effects: pairs(&at(4)),
            events: match at(5) {
                Reply::Bulk(n) => n.parse().unwrap_or(0),
                _ => 0,
            },
            outbox_left: match at(6) {
                Reply::Array(items) => items.len() as u64,
                _ => 0,
            },
        }
    }
}

/// The judgement of a saga world once it is quiet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SagaAudit {
    pub completed: u64,
    pub rolled_back: u64,
    /// Orders 1 to `orders` with no final log entry.
    pub unfinished: Vec<u64>,
    /// Finished orders whose services disagree with the log (done somewhere, not everywhere).
    pub partial: Vec<u64>,
    /// Services whose available + moved is no longer their starting amount.
    pub unbalanced: Vec<&'static str>,
    pub events: u64,
    /// Events counted by the consumer (once each, whatever the relay repeated).
    pub consumed: u64,
    pub outbox_left: u64,
}

impl SagaAudit {
    pub fn of(snap: &SagaSnapshot, orders: u64, initial: [i64; 3]) -> SagaAudit {
        let log: BTreeMap<u64, Option<LogState>> =
            snap.log.iter().filter_map(|(tx, s)| Some((tx.parse().ok()?, LogState::parse(s)))).collect();
        let field = |i: usize, name: &str| snap.accounts[i].iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let number = |i: usize, name: &str| field(i, name).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        let mut audit = SagaAudit { events: snap.events, outbox_left: snap.outbox_left, ..SagaAudit::default() };
        for tx in 1..=orders {
            let done =
                (0..3).filter(|&i| field(i, &format!("order:{tx}")).is_some_and(|v| v.starts_with("done:"))).count();
            match log.get(&tx).copied().flatten() {
                Some(LogState::Completed) => {
                    audit.completed += 1;
                    if done != 3 {
                        audit.partial.push(tx);
                    }
                }
                Some(LogState::RolledBack) => {
                    audit.rolled_back += 1;
                    if done != 0 {
                        audit.partial.push(tx);
                    }
                }
                _ => audit.unfinished.push(tx),
            }
        }
        // Conserved, and moved exactly by the orders done: a counter rewritten behind the log's
        // back (a second setup, say) keeps the first and breaks the second.
        for (i, kind) in ServiceKind::ALL.into_iter().enumerate() {
            let done: i64 = snap.accounts[i]
                .iter()
                .filter(|(k, _)| k.starts_with("order:"))
                .filter_map(|(_, v)| v.strip_prefix("done:")?.parse::<i64>().ok())
                .sum();
            let moved = number(i, "moved");
            if number(i, "available") + moved != initial[i] || moved != done {
                audit.unbalanced.push(kind.name());
            }
        }
        audit.consumed = snap.effects.iter().filter_map(|(_, n)| n.parse::<u64>().ok()).sum();
        audit
    }

    /// Every order finished, all-or-nothing, money and goods conserved, every event counted once.
    pub fn holds(&self) -> bool {
        self.unfinished.is_empty()
            && self.partial.is_empty()
            && self.unbalanced.is_empty()
            && self.consumed == self.events
            && self.outbox_left == 0
    }
}

#[cfg(test)]
mod tests {
    use super::LogState;

    #[test]
    fn log_states_round_trip_and_walk_back_in_reverse() {
        for s in [
            LogState::Forward(0),
            LogState::Forward(2),
            LogState::Backward(1),
            LogState::Completed,
            LogState::RolledBack,
        ] {
            assert_eq!(LogState::parse(&s.encode()), Some(s));
        }
        assert_eq!(LogState::parse("f:3"), None, "three steps only");
        assert_eq!(LogState::parse("x:1"), None);
        assert_eq!(LogState::Forward(2).next(true), LogState::Completed);
        assert_eq!(LogState::Forward(2).next(false), LogState::Backward(1));
        assert_eq!(LogState::Backward(1).next(true), LogState::Backward(0));
        assert_eq!(LogState::Backward(0).next(true), LogState::RolledBack);
        assert_eq!(LogState::Forward(0).next(false), LogState::RolledBack);
        assert_eq!(LogState::Forward(0).expected(), "", "a saga's first step finds no log entry");
    }
}
