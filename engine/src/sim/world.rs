//! The simulator: one world of actors, one seeded RNG, one event queue, one network, one clock
//! per node, and the trace of everything that happened (design.md, rule 5).
//!
//! Read it in this order: [`Sim::new`] and [`Sim::add_node`] build a world; [`Sim::schedule`]
//! and [`Sim::inject`] apply faults; [`Sim::step`], [`Sim::run_until`] and
//! [`Sim::run_until_quiescent`] drive it; [`Sim::snapshot`], [`Sim::trace`] and
//! [`Sim::observations`] read it. Every run is bounded by [`SimConfig::events_max`] and the
//! other limits: hitting one ends the run with a [`SimError`], never a hang.

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::marker::PhantomData;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

mod invariants;

use super::network::{Network, Route};
use super::queue::{EventQueue, QueueKey};
use super::trace::to_json;
use super::{Clock, DropReason, Fault, FaultError, LinkConfig, NetStats, Rng, SimDuration, SimTime, Trace, TraceKind};
use crate::actor::{Actor, Ctx, Effect, NodeId, Protocol, TimerId};

/// Bounds and defaults of one world.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimConfig {
    pub seed: u64,
    /// Events processed over the whole life of the world.
    pub events_max: u64,
    /// Messages on the wire at once.
    pub in_flight_max: usize,
    /// Pending timers per node.
    pub timers_per_node_max: usize,
    /// Effects recorded by one handler call.
    pub effects_per_handler_max: usize,
    /// How links behave unless set otherwise.
    pub default_link: LinkConfig,
    /// In debug builds, check the simulator's own invariants every 256 events and at the end of
    /// each run (see `sim/world/invariants.rs`; the cheap ones are checked after every event of
    /// a debug build regardless).
    #[serde(default)]
    pub check_invariants: bool,
}

impl SimConfig {
    pub fn new(seed: u64) -> Self {
        SimConfig {
            seed,
            events_max: 5_000_000,
            in_flight_max: 100_000,
            timers_per_node_max: 1_024,
            effects_per_handler_max: 10_000,
            default_link: LinkConfig::default(),
            check_invariants: false,
        }
    }
}

/// A run that had to stop.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("the run reached events_max = {events_max} at t = {time}")]
    EventsMax { events_max: u64, time: SimTime },
    #[error("more than in_flight_max = {in_flight_max} messages in flight at t = {time}")]
    InFlightMax { in_flight_max: usize, time: SimTime },
    #[error("node {node:?} has more than timers_per_node_max = {timers_max} pending timers")]
    TimersMax { node: String, timers_max: usize },
    #[error("a handler on node {node:?} recorded more than effects_per_handler_max = {effects_max} effects")]
    EffectsMax { node: String, effects_max: usize },
    #[error("node {from:?} sent a message to {to}, which does not exist")]
    SendToUnknownNode { from: String, to: NodeId },
    #[error("two nodes are named {name:?}")]
    DuplicateNodeName { name: String },
    #[error(transparent)]
    Fault(#[from] FaultError),
    /// The simulator broke one of its own invariants: a bug in the simulator, not in the world.
    #[error("simulator invariant broken at t = {time}: {what}")]
    Invariant { what: String, time: SimTime },
}

/// Whether a node is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum NodeStatus {
    Up,
    /// Frozen until the given true time.
    Paused {
        until: SimTime,
    },
    Crashed,
}

/// An observation an actor made, stamped with the true time and its node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Observed<O> {
    pub time: SimTime,
    pub node: NodeId,
    pub obs: O,
}

/// The state the page draws: time, nodes, messages in flight, cut links, network counters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorldSnapshot {
    pub time: SimTime,
    pub events_processed: u64,
    pub nodes: Vec<NodeSnapshot>,
    pub in_flight: Vec<InFlightSnapshot>,
    pub cuts: Vec<(NodeId, NodeId)>,
    pub net: NetStats,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeSnapshot {
    pub id: NodeId,
    pub name: String,
    #[serde(flatten)]
    pub status: NodeStatus,
    /// This node's clock reading.
    pub clock: SimTime,
    pub timers: Vec<TimerId>,
    /// The actor's public state; `null` while crashed.
    pub state: serde_json::Value,
    /// How many times slower its timers run (`Fault::Slow`); absent when 1.
    #[serde(skip_serializing_if = "is_one")]
    pub slow: u32,
}

fn is_one(factor: &u32) -> bool {
    *factor == 1
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InFlightSnapshot {
    pub msg_id: u64,
    pub from: NodeId,
    pub to: NodeId,
    pub deliver_at: SimTime,
    pub msg: serde_json::Value,
}

#[derive(Clone)]
enum Event<M> {
    /// `incarnation` tells a first start from one superseded by a crash and restart.
    Start {
        node: NodeId,
        incarnation: u32,
    },
    /// `arrived` is set once the message reached a paused node and waits in its buffer: later
    /// cuts no longer concern it.
    Deliver {
        msg_id: u64,
        from: NodeId,
        to: NodeId,
        msg: M,
        arrived: bool,
    },
    Timer {
        node: NodeId,
        timer: TimerId,
        generation: u64,
    },
    Resume {
        node: NodeId,
    },
    Fault(Fault),
}

/// A type-erased actor plus what it needs to crash and restart.
trait Slot<P: Protocol> {
    fn start(&mut self, ctx: &mut Ctx<'_, P>);
    fn message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: P::Msg);
    fn timer(&mut self, ctx: &mut Ctx<'_, P>, timer: TimerId);
    fn crash(&mut self);
    fn restart(&mut self);
    fn public_state(&self) -> serde_json::Value;
    fn actor(&self) -> Option<&dyn Any>;
    /// A copy of the actor and its durable state, for [`Sim::checkpoint`].
    fn clone_box(&self) -> Box<dyn Slot<P>>;
}

/// Shared, not copied, by a checkpoint: the factory is the same code for every copy of the world.
type Factory<A, D> = Rc<dyn Fn(Option<D>) -> A>;

struct ActorSlot<P: Protocol, A: Actor<P>> {
    make: Factory<A, A::Durable>,
    actor: Option<A>,
    durable: Option<A::Durable>,
    _protocol: PhantomData<P>,
}

impl<P: Protocol, A: Actor<P>> Slot<P> for ActorSlot<P, A> {
    fn start(&mut self, ctx: &mut Ctx<'_, P>) {
        if let Some(a) = self.actor.as_mut() {
            a.on_start(ctx);
        }
    }
    fn message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: P::Msg) {
        if let Some(a) = self.actor.as_mut() {
            a.on_message(ctx, from, msg);
        }
    }
    fn timer(&mut self, ctx: &mut Ctx<'_, P>, timer: TimerId) {
        if let Some(a) = self.actor.as_mut() {
            crate::actor::fire_timer(a, ctx, timer);
        }
    }
    fn crash(&mut self) {
        self.durable = self.actor.take().map(|a| a.durable());
    }
    fn restart(&mut self) {
        self.actor = Some((self.make)(self.durable.take()));
    }
    fn public_state(&self) -> serde_json::Value {
        self.actor.as_ref().map_or(serde_json::Value::Null, |a| a.public_state())
    }
    fn actor(&self) -> Option<&dyn Any> {
        self.actor.as_ref().map(|a| a as &dyn Any)
    }
    fn clone_box(&self) -> Box<dyn Slot<P>> {
        Box::new(ActorSlot::<P, A> {
            make: Rc::clone(&self.make),
            actor: self.actor.clone(),
            durable: self.durable.clone(),
            _protocol: PhantomData,
        })
    }
}

impl<P: Protocol> Clone for Node<P> {
    fn clone(&self) -> Self {
        Node {
            name: self.name.clone(),
            slot: self.slot.clone_box(),
            status: self.status,
            clock: self.clock.clone(),
            timers: self.timers.clone(),
            incarnation: self.incarnation,
            deferred: self.deferred.clone(),
            slow_factor: self.slow_factor,
        }
    }
}

struct Node<P: Protocol> {
    name: String,
    slot: Box<dyn Slot<P>>,
    status: NodeStatus,
    clock: Clock,
    /// Pending timers and the generation of their current arming.
    timers: BTreeMap<TimerId, u64>,
    /// How many times the node has restarted.
    incarnation: u32,
    /// Events that fell due while the node was paused, in the order they fell due; handled, in
    /// that order, as soon as it resumes (before anything else that happens at that instant).
    deferred: VecDeque<Event<P::Msg>>,
    /// Every timer the node sets takes this many times as long (`Fault::Slow`; 1: normal).
    slow_factor: u32,
}

/// One simulated world.
pub struct Sim<P: Protocol> {
    config: SimConfig,
    now: SimTime,
    rng: Rng,
    queue: EventQueue<Event<P::Msg>>,
    nodes: Vec<Node<P>>,
    network: Network,
    in_flight: usize,
    msg_seq: u64,
    timer_generation: u64,
    events_processed: u64,
    trace: Trace,
    observations: Vec<Observed<P::Obs>>,
    /// Crashes among the observations, in trace order: what [`Sim::observations_and_crashes`]
    /// reads, so that judges never need the trace (a checkpoint does not carry it).
    crashes: Vec<CrashMark>,
    faults_applied: u64,
    effects: Vec<Effect<P>>,
    /// Deferred events of nodes that just resumed, to handle now, before the queue.
    resumed: VecDeque<Event<P::Msg>>,
    /// Messages lost in a node's buffer by its crash, traced after the crash itself.
    lost_in_crash: Vec<(u64, NodeId, NodeId)>,
}

/// [`Sim::replace_schedule`]'s matching, outside the generic world so that it is compiled once:
/// of the `pending` faults (queue key and fault, in queue order), the keys to drop, and the
/// faults of `schedule` that no pending one matched, to queue.
fn match_schedule(
    pending: &[(QueueKey, &Fault)],
    schedule: &[(SimTime, Fault)],
    now: SimTime,
) -> (Vec<QueueKey>, Vec<(SimTime, Fault)>) {
    let mut unmatched: Vec<Option<&(SimTime, Fault)>> = schedule.iter().map(Some).collect();
    let mut drop = Vec::new();
    for &(key, fault) in pending {
        match unmatched.iter_mut().find(|s| s.is_some_and(|(t, f)| (*t).max(now) == key.0 && f == fault)) {
            Some(slot) => *slot = None,
            None => drop.push(key),
        }
    }
    (drop, unmatched.into_iter().flatten().cloned().collect())
}

impl<P: Protocol> std::fmt::Debug for Sim<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.now)
            .field("nodes", &self.nodes.iter().map(|n| &n.name).collect::<Vec<_>>())
            .field("events_processed", &self.events_processed)
            .field("trace_len", &self.trace.len())
            .finish_non_exhaustive()
    }
}

/// A crash, placed among the observations: after the first `observations_before` of them.
#[derive(Clone, Copy, Debug)]
pub(super) struct CrashMark {
    pub(super) observations_before: usize,
    pub(super) node: NodeId,
    pub(super) time: SimTime,
}

/// What the event loop did with one popped event.
enum Handled {
    /// A real event: it was traced and counted.
    Event,
    /// Stale (a cancelled timer) or deferred (for a paused node): not an event of the run.
    Skipped,
}

impl<P: Protocol> Sim<P> {
    pub fn new(config: SimConfig) -> Self {
        Sim {
            rng: Rng::new(config.seed),
            network: Network::new(config.default_link),
            config,
            now: SimTime::ZERO,
            queue: EventQueue::default(),
            nodes: Vec::new(),
            in_flight: 0,
            msg_seq: 0,
            timer_generation: 0,
            events_processed: 0,
            trace: Trace::default(),
            observations: Vec::new(),
            crashes: Vec::new(),
            faults_applied: 0,
            effects: Vec::new(),
            resumed: VecDeque::new(),
            lost_in_crash: Vec::new(),
        }
    }

    /// Adds a node running the actor built by `make`. `make(None)` builds it now; after a crash,
    /// `make(Some(durable))` rebuilds it from what it had persisted. It starts at the current time.
    pub fn add_node<A: Actor<P>>(
        &mut self,
        name: impl Into<String>,
        make: impl Fn(Option<A::Durable>) -> A + 'static,
    ) -> Result<NodeId, SimError> {
        let name = name.into();
        if self.nodes.iter().any(|n| n.name == name) {
            return Err(SimError::DuplicateNodeName { name });
        }
        let id = NodeId(u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes"));
        let slot =
            ActorSlot::<P, A> { actor: Some(make(None)), make: Rc::new(make), durable: None, _protocol: PhantomData };
        self.nodes.push(Node {
            name,
            slot: Box::new(slot),
            status: NodeStatus::Up,
            clock: Clock::default(),
            timers: BTreeMap::new(),
            incarnation: 0,
            deferred: VecDeque::new(),
            slow_factor: 1,
        });
        self.enqueue(self.now, Event::Start { node: id, incarnation: 0 });
        Ok(id)
    }

    /// Sets how the link `from -> to` behaves (one direction).
    pub fn set_link(&mut self, from: NodeId, to: NodeId, link: LinkConfig) {
        self.network.set_link(from, to, link);
    }

    /// Applies `fault` when true time reaches `at` (or now, if `at` has passed).
    pub fn schedule(&mut self, at: SimTime, fault: Fault) {
        self.enqueue(at.max(self.now), Event::Fault(fault));
    }

    /// Replaces the faults scheduled and not yet applied with `schedule`: a run's fault schedule
    /// given explicitly (a shrunk counterexample, a learner's edited schedule). A pending fault
    /// that `schedule` also holds (the same fault at the same time, matched in order) keeps its
    /// place in the queue, so that giving a run its own schedule changes nothing, not even the
    /// order of events that fall at the same instant; the rest are dropped, and the new ones
    /// queued after everything already there. A fault naming an unknown node changes nothing.
    pub fn replace_schedule(&mut self, schedule: &[(SimTime, Fault)]) -> Result<(), FaultError> {
        for (_, fault) in schedule {
            for node in fault.nodes() {
                self.resolve(node)?;
            }
        }
        let pending: Vec<(QueueKey, &Fault)> = self
            .queue
            .in_order()
            .into_iter()
            .filter_map(|(k, e)| match e {
                Event::Fault(f) => Some((k, f)),
                _ => None,
            })
            .collect();
        let (drop, add) = match_schedule(&pending, schedule, self.now);
        self.queue.remove(&drop);
        for (at, fault) in add {
            self.schedule(at, fault);
        }
        Ok(())
    }

    /// Applies `fault` now; a fault that cannot apply is returned as an error and changes nothing.
    pub fn inject(&mut self, fault: Fault) -> Result<(), SimError> {
        let needs_start = self.apply_fault(&fault)?;
        self.after_fault(fault, needs_start)
    }

    /// Traces an applied fault, then what it caused: messages lost in a crashed node's buffer,
    /// and the start of a restarted node.
    fn after_fault(&mut self, fault: Fault, needs_start: Option<NodeId>) -> Result<(), SimError> {
        if let Fault::Crash { node } = &fault
            && let Some(node) = self.node_id(node)
        {
            self.crashes.push(CrashMark { observations_before: self.observations.len(), node, time: self.now });
        }
        self.faults_applied += 1;
        self.trace.push(self.now, TraceKind::Fault { fault });
        for (msg_id, from, to) in std::mem::take(&mut self.lost_in_crash) {
            self.in_flight -= 1;
            self.drop_message(msg_id, from, to, DropReason::NodeDown);
        }
        if let Some(node) = needs_start {
            self.handle(node, |slot, ctx| slot.start(ctx))?;
        }
        Ok(())
    }

    /// Processes the next event. Returns its time, or `None` when nothing is left to do.
    pub fn step(&mut self) -> Result<Option<SimTime>, SimError> {
        self.step_within(None)
    }

    /// Processes the next event if it is due by `horizon`; `None` when none is (the clock stays).
    pub fn step_by(&mut self, horizon: SimTime) -> Result<Option<SimTime>, SimError> {
        self.step_within(Some(horizon))
    }

    /// Processes the next event if it is due by `horizon` (any event when `None`).
    fn step_within(&mut self, horizon: Option<SimTime>) -> Result<Option<SimTime>, SimError> {
        loop {
            let (at, event) = if let Some(event) = self.resumed.pop_front() {
                (self.now, event)
            } else {
                let Some(at) = self.queue.next_time() else {
                    return Ok(None);
                };
                if horizon.is_some_and(|h| at > h) {
                    return Ok(None);
                }
                let Some(next) = self.queue.pop() else {
                    return Ok(None);
                };
                next
            };
            if !self.is_live(&event) {
                continue;
            }
            if self.events_processed >= self.config.events_max {
                self.resumed.push_front(event); // handled first once the bound is raised
                return Err(SimError::EventsMax { events_max: self.config.events_max, time: self.now });
            }
            self.check_time(at)?;
            self.now = at;
            if let Handled::Event = self.process(event)? {
                self.events_processed += 1;
                self.check_after_event()?;
                return Ok(Some(at));
            }
        }
    }

    /// Processes every event up to and including true time `until`, never one after it, then
    /// sets the time to `until`.
    pub fn run_until(&mut self, until: SimTime) -> Result<(), SimError> {
        while self.step_within(Some(until))?.is_some() {}
        self.now = self.now.max(until);
        self.check_at_end()
    }

    /// Processes events until none is left. A world with periodic timers never gets there: it
    /// ends with [`SimError::EventsMax`].
    pub fn run_until_quiescent(&mut self) -> Result<(), SimError> {
        while self.step()?.is_some() {}
        self.check_at_end()
    }

    /// True simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Changes the bound on events over the world's whole life (a run already past it stops at
    /// its next step).
    pub fn set_events_max(&mut self, events_max: u64) {
        self.config.events_max = events_max;
    }

    /// Turns the full invariant checks on or off (see [`SimConfig::check_invariants`]).
    pub fn set_check_invariants(&mut self, on: bool) {
        self.config.check_invariants = on;
    }

    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// The faults scheduled and not yet applied, in the order they will apply (the scenario's
    /// own schedule: the page draws it on the timeline before it happens).
    pub fn pending_faults(&self) -> Vec<(SimTime, &Fault)> {
        self.queue
            .in_order()
            .into_iter()
            .filter_map(|((at, _), e)| match e {
                Event::Fault(f) => Some((at, f)),
                _ => None,
            })
            .collect()
    }

    /// Nothing left to happen: no event queued, none deferred (a paused node's buffer empties
    /// when it resumes, which is itself queued).
    pub fn is_quiescent(&self) -> bool {
        self.queue.is_empty() && self.resumed.is_empty()
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Holds the trace's records from now on, or only hashes and counts them (see
    /// [`Trace::set_held`]).
    pub fn set_trace_held(&mut self, held: bool) {
        self.trace.set_held(held);
    }

    pub fn observations(&self) -> &[Observed<P::Obs>] {
        &self.observations
    }

    pub(super) fn crash_marks(&self) -> &[CrashMark] {
        &self.crashes
    }

    /// Faults that took effect (scheduled or injected; rejected ones not counted).
    pub fn faults_applied(&self) -> u64 {
        self.faults_applied
    }

    /// A copy of the world as it is now, to be run on independently: what the page rewinds from
    /// (it re-executes from the nearest checkpoint instead of from the seed). The copy's
    /// [`Trace`] is detached: it carries the hash and the length, not the records, which the
    /// original keeps; the copy records only what it does next.
    pub fn checkpoint(&self) -> Sim<P> {
        Sim {
            config: self.config.clone(),
            now: self.now,
            rng: self.rng.clone(),
            queue: self.queue.clone(),
            nodes: self.nodes.clone(),
            network: self.network.clone(),
            in_flight: self.in_flight,
            msg_seq: self.msg_seq,
            timer_generation: self.timer_generation,
            events_processed: self.events_processed,
            trace: self.trace.detached(),
            observations: self.observations.clone(),
            crashes: self.crashes.clone(),
            faults_applied: self.faults_applied,
            effects: Vec::new(),
            resumed: self.resumed.clone(),
            lost_in_crash: self.lost_in_crash.clone(),
        }
    }

    pub fn net_stats(&self) -> NetStats {
        self.network.stats
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn node_name(&self, id: NodeId) -> Option<&str> {
        self.nodes.get(id.index()).map(|n| n.name.as_str())
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        let i = self.nodes.iter().position(|n| n.name == name)?;
        u32::try_from(i).ok().map(NodeId)
    }

    pub fn status(&self, id: NodeId) -> Option<NodeStatus> {
        self.nodes.get(id.index()).map(|n| n.status)
    }

    /// The node's clock reading at the current true time.
    pub fn clock(&self, id: NodeId) -> Option<SimTime> {
        self.nodes.get(id.index()).map(|n| n.clock.read(self.now))
    }

    /// The actor running on `id`, if it is up and of type `A` (for tests and checkers).
    pub fn actor<A: 'static>(&self, id: NodeId) -> Option<&A> {
        self.nodes.get(id.index())?.slot.actor()?.downcast_ref::<A>()
    }

    pub fn snapshot(&self) -> WorldSnapshot {
        let nodes = (0..self.nodes.len())
            .filter_map(|i| u32::try_from(i).ok().map(NodeId))
            .zip(&self.nodes)
            .map(|(id, n)| NodeSnapshot {
                id,
                name: n.name.clone(),
                status: n.status,
                clock: n.clock.read(self.now),
                timers: n.timers.keys().copied().collect(),
                state: n.slot.public_state(),
                slow: n.slow_factor,
            })
            .collect();
        let buffered = self.nodes.iter().flat_map(|n| {
            let at = match n.status {
                NodeStatus::Paused { until } => until,
                _ => self.now,
            };
            n.deferred.iter().map(move |e| (at, e))
        });
        let in_flight = self
            .queue
            .in_order()
            .into_iter()
            .map(|((at, _), e)| (at, e))
            .chain(buffered)
            .filter_map(|(at, e)| match e {
                Event::Deliver { msg_id, from, to, msg, .. } => {
                    Some(InFlightSnapshot { msg_id: *msg_id, from: *from, to: *to, deliver_at: at, msg: to_json(msg) })
                }
                _ => None,
            })
            .collect();
        WorldSnapshot {
            time: self.now,
            events_processed: self.events_processed,
            nodes,
            in_flight,
            cuts: self.network.cuts().collect(),
            net: self.network.stats,
        }
    }

    fn enqueue(&mut self, at: SimTime, event: Event<P::Msg>) {
        self.queue.push(at, event);
    }

    /// False for events that no longer mean anything: cancelled or re-armed timers, superseded
    /// resumes, the start of a node that crashed first.
    fn is_live(&self, event: &Event<P::Msg>) -> bool {
        match event {
            Event::Timer { node, timer, generation } => self.nodes[node.index()].timers.get(timer) == Some(generation),
            Event::Resume { node } => {
                matches!(self.nodes[node.index()].status, NodeStatus::Paused { .. })
            }
            Event::Start { node, incarnation } => {
                let n = &self.nodes[node.index()];
                n.status != NodeStatus::Crashed && n.incarnation == *incarnation
            }
            Event::Deliver { .. } | Event::Fault(_) => true,
        }
    }

    fn process(&mut self, event: Event<P::Msg>) -> Result<Handled, SimError> {
        match event {
            Event::Start { node, incarnation } => {
                if let NodeStatus::Paused { .. } = self.nodes[node.index()].status {
                    self.nodes[node.index()].deferred.push_back(Event::Start { node, incarnation });
                    return Ok(Handled::Skipped);
                }
                self.trace.push(self.now, TraceKind::Start { node });
                self.handle(node, |slot, ctx| slot.start(ctx))?;
            }
            Event::Deliver { msg_id, from, to, msg, arrived } => {
                if !arrived && self.network.is_cut(from, to) {
                    self.in_flight -= 1;
                    self.drop_message(msg_id, from, to, DropReason::Partition);
                    return Ok(Handled::Event);
                }
                if let NodeStatus::Paused { .. } = self.nodes[to.index()].status {
                    let waiting = Event::Deliver { msg_id, from, to, msg, arrived: true };
                    self.nodes[to.index()].deferred.push_back(waiting);
                    return Ok(Handled::Skipped);
                }
                self.in_flight -= 1;
                match self.nodes[to.index()].status {
                    NodeStatus::Crashed => self.drop_message(msg_id, from, to, DropReason::NodeDown),
                    NodeStatus::Paused { .. } | NodeStatus::Up => {
                        self.network.stats.delivered += 1;
                        self.trace.push(self.now, TraceKind::Deliver { msg_id, from, to });
                        self.handle(to, |slot, ctx| slot.message(ctx, from, msg))?;
                    }
                }
            }
            Event::Timer { node, timer, generation } => {
                if let NodeStatus::Paused { .. } = self.nodes[node.index()].status {
                    self.nodes[node.index()].deferred.push_back(Event::Timer { node, timer, generation });
                    return Ok(Handled::Skipped);
                }
                self.nodes[node.index()].timers.remove(&timer);
                self.trace.push(self.now, TraceKind::Timer { node, timer: timer.0 });
                self.handle(node, |slot, ctx| slot.timer(ctx, timer))?;
            }
            Event::Resume { node } => {
                let n = &mut self.nodes[node.index()];
                if n.status != (NodeStatus::Paused { until: self.now }) {
                    return Ok(Handled::Skipped); // superseded by a longer pause
                }
                n.status = NodeStatus::Up;
                let waiting = std::mem::take(&mut n.deferred);
                self.resumed.extend(waiting);
                self.trace.push(self.now, TraceKind::Resume { node });
            }
            Event::Fault(fault) => match self.apply_fault(&fault) {
                Ok(needs_start) => self.after_fault(fault, needs_start)?,
                Err(e) => {
                    let reason = e.to_string();
                    self.trace.push(self.now, TraceKind::FaultRejected { fault, reason });
                }
            },
        }
        Ok(Handled::Event)
    }

    fn drop_message(&mut self, msg_id: u64, from: NodeId, to: NodeId, reason: DropReason) {
        self.network.stats.count_drop(reason);
        self.trace.push(self.now, TraceKind::Drop { msg_id, from, to, reason });
    }

    /// Runs one handler on `node` with a fresh context and applies what it recorded.
    fn handle(&mut self, node: NodeId, f: impl FnOnce(&mut dyn Slot<P>, &mut Ctx<'_, P>)) -> Result<(), SimError> {
        self.check_up(node)?;
        let mut effects = std::mem::take(&mut self.effects);
        effects.clear();
        let n = &mut self.nodes[node.index()];
        let local_now = n.clock.read(self.now);
        f(n.slot.as_mut(), &mut Ctx::new(node, local_now, &mut self.rng, &mut effects));
        if effects.len() > self.config.effects_per_handler_max {
            return Err(SimError::EffectsMax {
                node: n.name.clone(),
                effects_max: self.config.effects_per_handler_max,
            });
        }
        let result = effects.drain(..).try_for_each(|e| self.apply_effect(node, e));
        self.effects = effects;
        result
    }

    fn apply_effect(&mut self, node: NodeId, effect: Effect<P>) -> Result<(), SimError> {
        match effect {
            Effect::Send { to, msg } => self.send(node, to, msg),
            Effect::SetTimer { timer, after } => self.set_timer(node, timer, after),
            Effect::CancelTimer { timer } => {
                self.nodes[node.index()].timers.remove(&timer);
                Ok(())
            }
            Effect::Observe(obs) => {
                self.trace.push_typed(self.now, &obs, |obs| TraceKind::Observe { node, obs });
                self.observations.push(Observed { time: self.now, node, obs });
                Ok(())
            }
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg) -> Result<(), SimError> {
        if to.index() >= self.nodes.len() {
            return Err(SimError::SendToUnknownNode { from: self.nodes[from.index()].name.clone(), to });
        }
        let msg_id = self.msg_seq;
        self.msg_seq += 1;
        self.trace.push_typed(self.now, &msg, |msg| TraceKind::Send { msg_id, from, to, msg });
        let deliveries = match self.network.route(&mut self.rng, self.now, from, to) {
            Route::Dropped(reason) => {
                self.drop_message(msg_id, from, to, reason);
                return Ok(());
            }
            Route::Deliver(deliveries) => deliveries,
        };
        if deliveries.len() > 1 {
            self.trace.push(self.now, TraceKind::Duplicate { msg_id });
        }
        for d in deliveries {
            if self.in_flight >= self.config.in_flight_max {
                return Err(SimError::InFlightMax { in_flight_max: self.config.in_flight_max, time: self.now });
            }
            self.in_flight += 1;
            self.enqueue(d.at, Event::Deliver { msg_id, from, to, msg: msg.clone(), arrived: false });
        }
        Ok(())
    }

    fn set_timer(&mut self, node: NodeId, timer: TimerId, after: SimDuration) -> Result<(), SimError> {
        let n = &mut self.nodes[node.index()];
        if !n.timers.contains_key(&timer) && n.timers.len() >= self.config.timers_per_node_max {
            return Err(SimError::TimersMax { node: n.name.clone(), timers_max: self.config.timers_per_node_max });
        }
        self.timer_generation += 1;
        let generation = self.timer_generation;
        n.timers.insert(timer, generation);
        let after = SimDuration::from_micros(after.as_micros().saturating_mul(u64::from(n.slow_factor)));
        let at = self.now + n.clock.true_duration(after);
        self.enqueue(at, Event::Timer { node, timer, generation });
        Ok(())
    }

    fn resolve(&self, name: &str) -> Result<NodeId, FaultError> {
        self.node_id(name).ok_or_else(|| FaultError::UnknownNode {
            name: name.to_owned(),
            known: self.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// Applies a fault's state change. Returns the node to start when the fault restarts one.
    fn apply_fault(&mut self, fault: &Fault) -> Result<Option<NodeId>, FaultError> {
        match fault {
            Fault::Partition { groups } => {
                let mut ids = Vec::with_capacity(groups.len());
                let mut seen = std::collections::BTreeSet::new();
                for group in groups {
                    let mut g = Vec::with_capacity(group.len());
                    for name in group {
                        let id = self.resolve(name)?;
                        if !seen.insert(id) {
                            return Err(FaultError::NodeInTwoGroups { node: name.clone() });
                        }
                        g.push(id);
                    }
                    ids.push(g);
                }
                self.network.heal();
                for (i, a) in ids.iter().enumerate() {
                    for b in ids.iter().skip(i + 1) {
                        for &x in a {
                            for &y in b {
                                self.network.cut(x, y);
                                self.network.cut(y, x);
                            }
                        }
                    }
                }
            }
            Fault::Cut { from, to } => {
                let (f, t) = (self.resolve(from)?, self.resolve(to)?);
                self.network.cut(f, t);
            }
            Fault::Repair { from, to } => {
                let (f, t) = (self.resolve(from)?, self.resolve(to)?);
                self.network.repair(f, t);
            }
            Fault::Heal => self.network.heal(),
            Fault::Crash { node } => {
                let id = self.resolve(node)?;
                let n = &mut self.nodes[id.index()];
                if n.status == NodeStatus::Crashed {
                    return Err(FaultError::Crashed { node: node.clone() });
                }
                n.status = NodeStatus::Crashed;
                n.slot.crash();
                n.timers.clear();
                for event in std::mem::take(&mut n.deferred) {
                    if let Event::Deliver { msg_id, from, to, .. } = event {
                        self.lost_in_crash.push((msg_id, from, to));
                    }
                }
            }
            Fault::Restart { node } => {
                let id = self.resolve(node)?;
                let n = &mut self.nodes[id.index()];
                if n.status != NodeStatus::Crashed {
                    return Err(FaultError::NotCrashed { node: node.clone() });
                }
                n.slot.restart();
                n.status = NodeStatus::Up;
                n.incarnation += 1;
                return Ok(Some(id));
            }
            Fault::Pause { node, duration_us } => {
                let id = self.resolve(node)?;
                check_fault_range("duration_us", *duration_us, 1, PAUSE_US_MAX)?;
                let until = self.now + SimDuration::from_micros(*duration_us);
                let n = &mut self.nodes[id.index()];
                let until = match n.status {
                    NodeStatus::Crashed => return Err(FaultError::Crashed { node: node.clone() }),
                    NodeStatus::Paused { until: earlier } => earlier.max(until),
                    NodeStatus::Up => until,
                };
                n.status = NodeStatus::Paused { until };
                self.enqueue(until, Event::Resume { node: id });
            }
            Fault::ClockSkew { node, offset_us } => {
                let id = self.resolve(node)?;
                check_fault_range_i64("offset_us", *offset_us, CLOCK_OFFSET_US_MAX)?;
                self.nodes[id.index()].clock.set_skew(*offset_us);
            }
            Fault::ClockDrift { node, drift_ppm } => {
                let id = self.resolve(node)?;
                let max = i64::from(super::clock::DRIFT_PPM_MAX);
                check_fault_range_i64("drift_ppm", i64::from(*drift_ppm), max)?;
                let now = self.now;
                self.nodes[id.index()].clock.set_drift(now, *drift_ppm);
            }
            Fault::ClockJump { node, delta_us } => {
                let id = self.resolve(node)?;
                check_fault_range_i64("delta_us", *delta_us, CLOCK_OFFSET_US_MAX)?;
                self.nodes[id.index()].clock.jump(*delta_us);
            }
            Fault::Slow { node, factor } => {
                let id = self.resolve(node)?;
                check_fault_range("factor", u64::from(*factor), 1, SLOW_FACTOR_MAX)?;
                self.nodes[id.index()].slow_factor = *factor;
            }
        }
        Ok(None)
    }
}

/// A pause longer than an hour is a typo, not a GC pause.
pub const PAUSE_US_MAX: u64 = 3_600_000_000;
/// A node slowed more than a thousandfold has failed, not slowed.
pub const SLOW_FACTOR_MAX: u64 = 1_000;
/// Clock offsets and jumps up to a day either way.
pub const CLOCK_OFFSET_US_MAX: i64 = 86_400_000_000;

fn check_fault_range(field: &'static str, value: u64, lo: u64, hi: u64) -> Result<(), FaultError> {
    if (lo..=hi).contains(&value) {
        return Ok(());
    }
    Err(FaultError::OutOfRange {
        field,
        value: i64::try_from(value).unwrap_or(i64::MAX),
        allowed: format!("{lo}..={hi}"),
    })
}

fn check_fault_range_i64(field: &'static str, value: i64, max_abs: i64) -> Result<(), FaultError> {
    if (-max_abs..=max_abs).contains(&value) {
        return Ok(());
    }
    Err(FaultError::OutOfRange { field, value, allowed: format!("{}..={max_abs}", -max_abs) })
}
