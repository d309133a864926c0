//! The real-time driver: runs the engine's actors, unchanged, on tokio (design.md, rule 3).
//!
//! Each actor is a task with an inbox. Its handlers get the same [`Ctx`] as in the simulator;
//! the driver then applies the recorded effects for real: a message to another actor goes
//! through an in-process channel, a [`StoreMsg::Request`] to a store node becomes a command on a
//! [`Backend`] (a real Redis, or the in-memory store), timers are tokio sleeps, and observations
//! are stamped with the real time since the run began. `Ctx::now` is that elapsed time.
//!
//! A node can also be external ([`LiveWorld::add_external`]): what is sent to it arrives on a
//! channel the caller reads, and the caller answers through an [`Injector`] into an actor's
//! inbox. That is how the HTTP proxy puts real backends and real clients around the engine's
//! balancer.
//!
//! Requests from one actor to one store are executed in order, one at a time, like commands on a
//! connection without pipelining; different actors' requests run concurrently on the shared,
//! multiplexed connection. Everything runs on one thread (a `LocalSet`), so actors need not be
//! `Send`, and the benchmark's baselines run on the same kind of runtime.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use distlab_engine::sim::{Observed, Rng, SimDuration, SimTime};
use distlab_engine::store::{Cmd, Reply, StoreMsg, StoreTraffic};
use distlab_engine::{Actor, Ctx, Effect, NodeId, Protocol, TimerId};
use tokio::sync::{mpsc, watch};

use crate::backend::Backend;

/// Messages between actors in flight at once; past it the run stops (a limit on everything).
pub const IN_FLIGHT_MAX: usize = 1_000_000;

/// Error replies that are answers a protocol expects, not failures: creating a consumer group
/// that already exists (the queue's setup, which every consumer may run).
const EXPECTED_ERRORS: [&str; 1] = ["BUSYGROUP"];

/// How long a run goes on while every store reply is an error (at least [`FAILING_REPLIES_MIN`]
/// of them in a row, from any store, no other reply between them): then every operation is
/// failing (a server out of memory, read-only, loading), and a run bounded by a number of
/// operations would otherwise wait for ones that never come.
pub const FAILING_FOR: Duration = Duration::from_secs(2);
pub const FAILING_REPLIES_MIN: u64 = 10;

/// An error reply as it is counted: its first line, at most 120 characters.
pub fn error_key(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Why a live run stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    #[error("the store {store:?} failed: {reason}")]
    Store { store: String, reason: String },
    #[error("the store {store:?} answered {replies} requests in a row, over {FAILING_FOR:?}, with an error: {error}")]
    Failing { store: String, replies: u64, error: String },
    #[error("more than {IN_FLIGHT_MAX} messages in flight between actors")]
    InFlightMax,
    #[error("node {from:?} sent a message to {to}, which does not exist")]
    UnknownNode { from: String, to: NodeId },
}

/// When a live run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopWhen {
    After(Duration),
    /// After this many observations that the run's counter accepts (or the duration, whichever
    /// comes first).
    Observations {
        count: usize,
        at_most: Duration,
    },
}

/// What a live run produced.
#[derive(Debug)]
pub struct LiveReport<O> {
    pub observations: Vec<Observed<O>>,
    pub elapsed: Duration,
    pub messages: u64,
    pub store_requests: u64,
    /// The stores' error replies (other than the expected ones), by their first line.
    pub store_errors: BTreeMap<String, u64>,
}

/// The type-erased handlers of one actor.
trait LiveActor<P: Protocol> {
    fn start(&mut self, ctx: &mut Ctx<'_, P>);
    fn message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: P::Msg);
    fn timer(&mut self, ctx: &mut Ctx<'_, P>, timer: TimerId);
}

impl<P: Protocol, A: Actor<P>> LiveActor<P> for A {
    fn start(&mut self, ctx: &mut Ctx<'_, P>) {
        self.on_start(ctx);
    }
    fn message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: P::Msg) {
        self.on_message(ctx, from, msg);
    }
    fn timer(&mut self, ctx: &mut Ctx<'_, P>, timer: TimerId) {
        distlab_engine::actor::fire_timer(self, ctx, timer);
    }
}

enum Node<P: Protocol> {
    Actor {
        name: String,
        actor: Box<dyn LiveActor<P>>,
        inbox: Inbox<P::Msg>,
        receiver: Receiver<P::Msg>,
    },
    Store {
        name: String,
        backend: Box<Backend>,
    },
    /// Messages to it go to a channel the caller reads (an HTTP backend behind an adapter).
    External {
        name: String,
        outbox: Outbox<P::Msg>,
    },
}

/// A world of actors and stores to run in real time.
pub struct LiveWorld<P: Protocol> {
    seed: u64,
    nodes: Vec<Node<P>>,
    progress: Option<Progress<P>>,
    sink: Option<Sink<P>>,
    observer: Option<Observer<P>>,
}

/// Sees every observation as it happens, instead of the run keeping them (a proxy that runs for
/// hours must not keep one per request).
pub type Observer<P> = Rc<dyn Fn(&Observed<<P as Protocol>::Obs>)>;

/// Where several worlds' observations go, and the one time base they are stamped with: worlds
/// run one after another or side by side (a consumer killed and started again) then tell one
/// story, and a world stopped by dropping it loses none of what it observed.
pub type Sink<P> = (Rc<RefCell<Vec<Observed<<P as Protocol>::Obs>>>>, Instant);

/// A live count of the observations a predicate accepts, for a progress line.
type Progress<P> = (Rc<Cell<u64>>, fn(&<P as Protocol>::Obs) -> bool);

impl<P: Protocol> std::fmt::Debug for LiveWorld<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveWorld").field("seed", &self.seed).field("nodes", &self.nodes.len()).finish()
    }
}

/// An actor's inbox: messages with their sender, and whether the driver counted it in flight (a
/// message the caller injects through [`LiveWorld::inbox`] is not).
type Inbox<M> = mpsc::UnboundedSender<(NodeId, M, bool)>;
type Receiver<M> = mpsc::UnboundedReceiver<(NodeId, M, bool)>;
/// Where an external node's messages go, with their sender.
type Outbox<M> = mpsc::UnboundedSender<(NodeId, M)>;

/// A handle to send an actor messages from outside the world (an HTTP front end), as if `from`
/// had sent them.
#[derive(Debug)]
pub struct Injector<M> {
    inbox: Inbox<M>,
}

impl<M> Clone for Injector<M> {
    fn clone(&self) -> Self {
        Injector { inbox: self.inbox.clone() }
    }
}

impl<M> Injector<M> {
    /// False once the world has stopped.
    pub fn send(&self, from: NodeId, msg: M) -> bool {
        self.inbox.send((from, msg, false)).is_ok()
    }
}

/// What every task of a run shares.
struct Shared<P: Protocol> {
    epoch: Instant,
    inboxes: Vec<Option<Inbox<P::Msg>>>,
    outboxes: Vec<Option<Outbox<P::Msg>>>,
    stores: Vec<Option<Backend>>,
    names: Vec<String>,
    observations: Rc<RefCell<Vec<Observed<P::Obs>>>>,
    /// Whether `observations` is a sink shared with other worlds (then the report has none).
    shared_sink: bool,
    observer: Option<Observer<P>>,
    observations_wanted: Option<usize>,
    counts: fn(&P::Obs) -> bool,
    counted: Cell<usize>,
    progress: Option<Progress<P>>,
    in_flight: Cell<usize>,
    messages: Cell<u64>,
    store_requests: Cell<u64>,
    store_errors: RefCell<BTreeMap<String, u64>>,
    /// Error replies since the last reply that was not one, and when the first of them came.
    failing: Cell<(u64, Option<Instant>)>,
    failure: RefCell<Option<DriverError>>,
    stop: watch::Sender<bool>,
    /// The forwarder tasks, aborted with the run.
    forwarders: RefCell<Vec<tokio::task::AbortHandle>>,
}

impl<P: Protocol> Shared<P> {
    fn now(&self) -> SimTime {
        SimTime::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn fail(&self, e: DriverError) {
        self.failure.borrow_mut().get_or_insert(e);
        let _ = self.stop.send(true);
    }
}

impl<P: Protocol> LiveWorld<P>
where
    P::Msg: StoreTraffic,
{
    /// `seed` seeds each actor's randomness (a live run is not reproducible anyway: real time
    /// and a real network decide its order).
    pub fn new(seed: u64) -> Self {
        LiveWorld { seed, nodes: Vec::new(), progress: None, sink: None, observer: None }
    }

    pub fn add_actor<A: Actor<P>>(&mut self, name: impl Into<String>, actor: A) -> NodeId {
        let (inbox, receiver) = mpsc::unbounded_channel();
        self.nodes.push(Node::Actor { name: name.into(), actor: Box::new(actor), inbox, receiver });
        self.last_id()
    }

    /// A node that is no actor: what is sent to it arrives on the returned channel, with its
    /// sender, for the caller to act on (and answer through an [`Injector`]).
    pub fn add_external(&mut self, name: impl Into<String>) -> (NodeId, mpsc::UnboundedReceiver<(NodeId, P::Msg)>) {
        let (outbox, rx) = mpsc::unbounded_channel();
        self.nodes.push(Node::External { name: name.into(), outbox });
        (self.last_id(), rx)
    }

    /// A handle that sends actor `node` messages from outside; `None` if it is no actor.
    pub fn inbox(&self, node: NodeId) -> Option<Injector<P::Msg>> {
        match self.nodes.get(node.index()) {
            Some(Node::Actor { inbox, .. }) => Some(Injector { inbox: inbox.clone() }),
            _ => None,
        }
    }

    /// Hands every observation to `observer` as it happens; the report then has none.
    pub fn with_observer(mut self, observer: Observer<P>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// A store node: requests sent to it are executed on `backend`.
    pub fn add_store(&mut self, name: impl Into<String>, backend: Backend) -> NodeId {
        self.nodes.push(Node::Store { name: name.into(), backend: Box::new(backend) });
        self.last_id()
    }

    /// Counts, in `counter` and while the run goes, the observations `counts` accepts.
    pub fn with_progress(mut self, counter: Rc<Cell<u64>>, counts: fn(&P::Obs) -> bool) -> Self {
        self.progress = Some((counter, counts));
        self
    }

    /// Sends every observation to `sink`, stamped with the time since its instant, instead of
    /// keeping them for the report.
    pub fn with_sink(mut self, sink: Sink<P>) -> Self {
        self.sink = Some(sink);
        self
    }

    fn last_id(&self) -> NodeId {
        NodeId(u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX))
    }

    /// Runs every actor until `stop`; `counts` says which observations count towards
    /// [`StopWhen::Observations`]. Must be called inside a `tokio::task::LocalSet`.
    pub async fn run(self, stop: StopWhen, counts: fn(&P::Obs) -> bool) -> Result<LiveReport<P::Obs>, DriverError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut receivers = Vec::new();
        let mut inboxes = Vec::new();
        let mut outboxes = Vec::new();
        let mut stores = Vec::new();
        let mut names = Vec::new();
        let mut actors = Vec::new();
        for (i, node) in self.nodes.into_iter().enumerate() {
            let id = NodeId(u32::try_from(i).unwrap_or(u32::MAX));
            match node {
                Node::Actor { name, actor, inbox, receiver } => {
                    inboxes.push(Some(inbox));
                    outboxes.push(None);
                    stores.push(None);
                    names.push(name);
                    receivers.push(Some(receiver));
                    actors.push((id, actor));
                }
                Node::Store { name, backend } => {
                    inboxes.push(None);
                    outboxes.push(None);
                    stores.push(Some(*backend));
                    names.push(name);
                    receivers.push(None);
                }
                Node::External { name, outbox } => {
                    inboxes.push(None);
                    outboxes.push(Some(outbox));
                    stores.push(None);
                    names.push(name);
                    receivers.push(None);
                }
            }
        }
        let (limit, wanted) = match stop {
            StopWhen::After(d) => (d, None),
            StopWhen::Observations { count, at_most } => (at_most, Some(count)),
        };
        let started = Instant::now();
        let shared_sink = self.sink.is_some();
        let (observations, epoch) = self.sink.unwrap_or_else(|| (Rc::new(RefCell::new(Vec::new())), Instant::now()));
        let shared = Rc::new(Shared::<P> {
            epoch,
            inboxes,
            outboxes,
            stores,
            names,
            observations,
            shared_sink,
            observer: self.observer,
            observations_wanted: wanted,
            counts,
            counted: Cell::new(0),
            progress: self.progress,
            in_flight: Cell::new(0),
            messages: Cell::new(0),
            store_requests: Cell::new(0),
            store_errors: RefCell::new(BTreeMap::new()),
            failing: Cell::new((0, None)),
            failure: RefCell::new(None),
            stop: stop_tx,
            forwarders: RefCell::new(Vec::new()),
        });
        // Dropping the run (a Ctrl-C) aborts every task it started, so nothing writes to the
        // store after the caller cleans up.
        let _abort = AbortOnDrop(Rc::clone(&shared));
        let mut tasks = tokio::task::JoinSet::new();
        for (id, actor) in actors {
            let Some(rx) = receivers[id.index()].take() else {
                continue;
            };
            let rng = Rng::new(self.seed ^ u64::from(id.0).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            tasks.spawn_local(actor_task(id, actor, rx, Rc::clone(&shared), rng, stop_rx.clone()));
        }
        let mut stopped = stop_rx.clone();
        tokio::select! {
            _ = tokio::time::sleep(limit) => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
        let _ = shared.stop.send(true);
        while tasks.join_next().await.is_some() {}
        let elapsed = started.elapsed();
        if let Some(e) = shared.failure.borrow_mut().take() {
            return Err(e);
        }
        Ok(LiveReport {
            observations: if shared.shared_sink { Vec::new() } else { shared.observations.take() },
            elapsed,
            messages: shared.messages.get(),
            store_requests: shared.store_requests.get(),
            store_errors: shared.store_errors.take(),
        })
    }
}

/// Stops a run's actors and aborts its forwarders when the run is dropped.
struct AbortOnDrop<P: Protocol>(Rc<Shared<P>>);

impl<P: Protocol> Drop for AbortOnDrop<P> {
    fn drop(&mut self) {
        let _ = self.0.stop.send(true);
        for handle in self.0.forwarders.borrow().iter() {
            handle.abort();
        }
    }
}

/// Pending timers of one actor: by id, and by deadline for the next wake-up.
#[derive(Default)]
struct Timers {
    by_id: BTreeMap<TimerId, Instant>,
    by_deadline: BTreeSet<(Instant, TimerId)>,
}

impl Timers {
    fn set(&mut self, timer: TimerId, at: Instant) {
        self.cancel(timer);
        self.by_id.insert(timer, at);
        self.by_deadline.insert((at, timer));
    }
    fn cancel(&mut self, timer: TimerId) {
        if let Some(at) = self.by_id.remove(&timer) {
            self.by_deadline.remove(&(at, timer));
        }
    }
    fn next(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(at, _)| *at)
    }
    fn pop(&mut self) -> Option<TimerId> {
        let (_, timer) = self.by_deadline.pop_first()?;
        self.by_id.remove(&timer);
        Some(timer)
    }
}

async fn actor_task<P: Protocol>(
    id: NodeId,
    mut actor: Box<dyn LiveActor<P>>,
    mut inbox: Receiver<P::Msg>,
    shared: Rc<Shared<P>>,
    mut rng: Rng,
    mut stop: watch::Receiver<bool>,
) where
    P::Msg: StoreTraffic,
{
    let mut timers = Timers::default();
    let mut forwarders: BTreeMap<NodeId, mpsc::UnboundedSender<(u64, Cmd)>> = BTreeMap::new();
    let mut effects: Vec<Effect<P>> = Vec::new();
    actor.start(&mut Ctx::new(id, shared.now(), &mut rng, &mut effects));
    apply(id, &mut effects, &shared, &mut timers, &mut forwarders);
    loop {
        let wake = timers.next();
        // A timer already due fires now: tokio's timers have millisecond granularity, and a
        // zero-length timer (a benchmark's think time) must not cost a millisecond. Yield first,
        // so that an actor re-arming such timers cannot starve the others.
        if wake.is_some_and(|at| at <= Instant::now()) {
            tokio::task::yield_now().await;
            if *stop.borrow() {
                break;
            }
            if let Some(timer) = timers.pop() {
                actor.timer(&mut Ctx::new(id, shared.now(), &mut rng, &mut effects), timer);
                apply(id, &mut effects, &shared, &mut timers, &mut forwarders);
            }
            continue;
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            // Due timers first: a busy inbox must not starve them (as in the simulator, where
            // events run in time order).
            _ = sleep_until(wake), if wake.is_some() => {
                let Some(timer) = timers.pop() else { continue };
                actor.timer(&mut Ctx::new(id, shared.now(), &mut rng, &mut effects), timer);
            }
            received = inbox.recv() => {
                let Some((from, msg, counted)) = received else { break };
                if counted {
                    shared.in_flight.set(shared.in_flight.get().saturating_sub(1));
                }
                actor.message(&mut Ctx::new(id, shared.now(), &mut rng, &mut effects), from, msg);
            }
        }
        apply(id, &mut effects, &shared, &mut timers, &mut forwarders);
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }
}

/// Applies one handler's effects, in the order they were recorded.
fn apply<P: Protocol>(
    id: NodeId,
    effects: &mut Vec<Effect<P>>,
    shared: &Rc<Shared<P>>,
    timers: &mut Timers,
    forwarders: &mut BTreeMap<NodeId, mpsc::UnboundedSender<(u64, Cmd)>>,
) where
    P::Msg: StoreTraffic,
{
    for effect in effects.drain(..) {
        match effect {
            Effect::Send { to, msg } => send(id, to, msg, shared, forwarders),
            Effect::SetTimer { timer, after } => timers.set(timer, Instant::now() + as_std(after)),
            Effect::CancelTimer { timer } => timers.cancel(timer),
            Effect::Observe(obs) => {
                if let Some((counter, counts)) = &shared.progress
                    && counts(&obs)
                {
                    counter.set(counter.get() + 1);
                }
                if (shared.counts)(&obs) {
                    shared.counted.set(shared.counted.get() + 1);
                    if shared.observations_wanted.is_some_and(|n| shared.counted.get() >= n) {
                        let _ = shared.stop.send(true);
                    }
                }
                let observed = Observed { time: shared.now(), node: id, obs };
                match &shared.observer {
                    Some(observer) => observer(&observed),
                    None => shared.observations.borrow_mut().push(observed),
                }
            }
        }
    }
}

fn send<P: Protocol>(
    from: NodeId,
    to: NodeId,
    msg: P::Msg,
    shared: &Rc<Shared<P>>,
    forwarders: &mut BTreeMap<NodeId, mpsc::UnboundedSender<(u64, Cmd)>>,
) where
    P::Msg: StoreTraffic,
{
    shared.messages.set(shared.messages.get() + 1);
    if let Some(Some(inbox)) = shared.inboxes.get(to.index()) {
        if shared.in_flight.get() >= IN_FLIGHT_MAX {
            shared.fail(DriverError::InFlightMax);
            return;
        }
        shared.in_flight.set(shared.in_flight.get() + 1);
        let _ = inbox.send((from, msg, true));
        return;
    }
    if let Some(Some(outbox)) = shared.outboxes.get(to.index()) {
        let _ = outbox.send((from, msg));
        return;
    }
    let Some(Some(backend)) = shared.stores.get(to.index()) else {
        let from = shared.names[from.index()].clone();
        shared.fail(DriverError::UnknownNode { from, to });
        return;
    };
    let Some(StoreMsg::Request { req, cmd }) = msg.store_request() else {
        return; // a store only serves requests, as StoreNode does
    };
    let forwarder =
        forwarders.entry(to).or_insert_with(|| spawn_forwarder(from, to, backend.clone(), Rc::clone(shared)));
    let _ = forwarder.send((*req, cmd.clone()));
}

/// One task per (actor, store): executes that actor's requests in order and sends each reply
/// back to the actor's inbox as if the store had sent it.
fn spawn_forwarder<P: Protocol>(
    actor: NodeId,
    store: NodeId,
    backend: Backend,
    shared: Rc<Shared<P>>,
) -> mpsc::UnboundedSender<(u64, Cmd)>
where
    P::Msg: StoreTraffic,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Cmd)>();
    let registry = Rc::clone(&shared);
    let task = tokio::task::spawn_local(async move {
        while let Some((req, cmd)) = rx.recv().await {
            shared.store_requests.set(shared.store_requests.get() + 1);
            match backend.exec(&cmd).await {
                Ok(reply) => {
                    if !matches!(&reply, Reply::Error(_)) {
                        shared.failing.set((0, None));
                    } else if let Reply::Error(text) = &reply
                        && !EXPECTED_ERRORS.iter().any(|code| text.starts_with(code))
                    {
                        let key = error_key(text);
                        *shared.store_errors.borrow_mut().entry(key.clone()).or_default() += 1;
                        let (replies, since) = shared.failing.get();
                        let since = since.unwrap_or_else(Instant::now);
                        shared.failing.set((replies + 1, Some(since)));
                        if replies + 1 >= FAILING_REPLIES_MIN && since.elapsed() >= FAILING_FOR {
                            let name = shared.names[store.index()].clone();
                            shared.fail(DriverError::Failing { store: name, replies: replies + 1, error: key });
                            return;
                        }
                    }
                    if let (Some(Some(inbox)), Some(msg)) =
                        (shared.inboxes.get(actor.index()), P::Msg::store_reply(StoreMsg::Reply { req, reply }))
                    {
                        shared.in_flight.set(shared.in_flight.get() + 1);
                        let _ = inbox.send((store, msg, true));
                    }
                }
                Err(e) => {
                    let name = shared.names[store.index()].clone();
                    shared.fail(DriverError::Store { store: name, reason: e.to_string() });
                    return;
                }
            }
        }
    });
    registry.forwarders.borrow_mut().push(task.abort_handle());
    tx
}

fn as_std(d: SimDuration) -> Duration {
    Duration::from_micros(d.as_micros())
}
