//! The deterministic simulator: time, randomness, network, clocks, faults, trace and the world
//! that ties them together. Nothing in here performs I/O or reads the ambient world.

mod canonical;
pub mod clock;
mod fault;
mod happened;
pub mod network;
mod queue;
mod rng;
mod time;
pub mod trace;
mod world;

#[cfg(test)]
mod tests;

pub use clock::Clock;
pub use fault::{Fault, FaultError};
pub use happened::Happened;
pub use network::{DropReason, LinkConfig, NetStats};
pub use rng::{Ratio, RatioError, Rng};
pub use time::{ParseDurationError, SimDuration, SimTime};
pub use trace::{Payload, Trace, TraceKind, TraceRecord, format_hash};
pub use world::{
    CLOCK_OFFSET_US_MAX, InFlightSnapshot, NodeSnapshot, NodeStatus, Observed, PAUSE_US_MAX, Sim, SimConfig, SimError,
    WorldSnapshot,
};
