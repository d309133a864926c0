//! The actor model every component of distlab is written in (design.md, rule 3).
//!
//! A node, a client, a Redis-like store, a saga orchestrator: each is a state machine whose
//! handlers (`on_start`, `on_message`, `on_timer`) receive a [`Ctx`] and *record* what they want
//! done — send a message, set or cancel a timer, note an observation. The context performs
//! nothing. The simulator applies the recorded [`Effect`]s through its network and event queue;
//! the native driver applies the same effects with tokio and a real Redis. That is what lets one
//! implementation of each pattern run in the browser, in tests and against real servers.
//!
//! Actors never see the simulator: the only clock they can read is their own node's (which may
//! be skewed), and the only randomness is the simulation's seeded [`Rng`].

use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use crate::sim::{Rng, SimDuration, SimTime};

/// Identifies a node in a world: an index, stable for the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl NodeId {
    /// The index of this node in its world's node list.
    pub fn index(self) -> usize {
        usize::try_from(self.0).expect("a u32 fits a usize on every target")
    }
}

/// A timer as the simulator, the native driver and the trace number it. Setting a timer that is
/// already pending re-arms it: one id, at most one pending firing. Actors never build one by
/// hand: they name their timers with a [`Timer`] type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerId(pub u64);

/// An actor's timers as a type: an enum with a doc line per variant, some carrying the request
/// or order they time. Its `impl Timer` is the one place that numbers them (the numbers are in
/// every trace, so they never change).
pub trait Timer: Copy + Debug + 'static {
    fn id(self) -> TimerId;
    /// The timer `id` numbers, or `None` for a number this type never gives.
    fn from_id(id: TimerId) -> Option<Self>;
}

/// Declares an actor's timers whose variants carry nothing: each variant with its doc line and
/// its fixed number, and the `impl Timer` that maps them.
#[macro_export]
macro_rules! timers {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $id:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $crate::actor::Timer for $name {
            fn id(self) -> $crate::actor::TimerId {
                match self { $($name::$variant => $crate::actor::TimerId($id)),+ }
            }
            fn from_id(id: $crate::actor::TimerId) -> Option<Self> {
                match id.0 { $($id => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

/// The timers of an actor that sets none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTimer {}

impl Timer for NoTimer {
    fn id(self) -> TimerId {
        match self {}
    }
    fn from_id(_: TimerId) -> Option<Self> {
        None
    }
}

/// Delivers the timer numbered `id` to `actor`: what the simulator and the native driver call.
/// Only the actor's own timers are ever set on its node, so a number its type does not know is
/// a programmer's error (asserted in debug builds, where every test runs).
pub fn fire_timer<P: Protocol, A: Actor<P>>(actor: &mut A, ctx: &mut Ctx<'_, P>, id: TimerId) {
    let timer = A::Timer::from_id(id);
    debug_assert!(timer.is_some(), "{id:?} is not a {}", std::any::type_name::<A::Timer>());
    if let Some(timer) = timer {
        actor.on_timer(ctx, timer);
    }
}

/// The vocabulary of one world: what its actors send each other and what they report to the
/// checkers and the page. Every actor in a world speaks the same protocol.
pub trait Protocol: 'static {
    /// A message on the wire.
    type Msg: Clone + Debug + Serialize;
    /// An observation: something an actor did or saw that a checker judges (e.g. "applied +3").
    type Obs: Clone + Debug + Serialize;
}

/// A component as a deterministic state machine.
///
/// Crash semantics: when its node crashes the actor value is dropped; on restart a fresh one is
/// built from [`Actor::Durable`] (what it had persisted) by the factory given to the world. So
/// volatile state is lost by construction, not by the actor remembering to forget it.
/// `Clone` so that a world can be checkpointed ([`crate::sim::Sim::checkpoint`]).
pub trait Actor<P: Protocol>: Clone + 'static {
    /// What this actor keeps on disk across a crash; `()` for an actor that keeps nothing.
    type Durable: Clone + Debug + 'static;
    /// The timers it sets; [`NoTimer`] for an actor that sets none.
    type Timer: Timer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, P>);
    fn on_message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: P::Msg);
    fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, timer: Self::Timer);

    /// The state that survives a crash, read at the moment of the crash.
    fn durable(&self) -> Self::Durable;

    /// The state the page shows for this node (its "public" state).
    fn public_state(&self) -> serde_json::Value;
}

/// One thing a handler asked for. Applied in order after the handler returns.
#[derive(Clone, Debug)]
pub enum Effect<P: Protocol> {
    Send { to: NodeId, msg: P::Msg },
    SetTimer { timer: TimerId, after: SimDuration },
    CancelTimer { timer: TimerId },
    Observe(P::Obs),
}

/// The handler's view of the world: its own identity, its own clock, the seeded randomness, and
/// a place to record effects.
#[derive(Debug)]
pub struct Ctx<'a, P: Protocol> {
    me: NodeId,
    now: SimTime,
    rng: &'a mut Rng,
    effects: &'a mut Vec<Effect<P>>,
}

impl<'a, P: Protocol> Ctx<'a, P> {
    /// Builds a context; used by the simulator and the native driver, never by actors.
    pub fn new(me: NodeId, now: SimTime, rng: &'a mut Rng, effects: &'a mut Vec<Effect<P>>) -> Self {
        Ctx { me, now, rng, effects }
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// This node's clock: true time plus this node's skew, drift and jumps.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The simulation's seeded randomness.
    pub fn rng(&mut self) -> &mut Rng {
        self.rng
    }

    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        self.effects.push(Effect::Send { to, msg });
    }

    /// Fires `on_timer(timer)` after `after` has passed on this node's clock; re-arms a pending
    /// timer with the same id.
    pub fn set_timer(&mut self, timer: impl Timer, after: SimDuration) {
        self.effects.push(Effect::SetTimer { timer: timer.id(), after });
    }

    /// Cancels a pending timer; cancelling one that is not pending does nothing.
    pub fn cancel_timer(&mut self, timer: impl Timer) {
        self.effects.push(Effect::CancelTimer { timer: timer.id() });
    }

    /// Records an observation for the checkers and the page.
    pub fn observe(&mut self, obs: P::Obs) {
        self.effects.push(Effect::Observe(obs));
    }
}
