//! Faults a learner (or a scenario's schedule) can inject. Nodes are named, not numbered, so a
//! fault reads the same in the CLI, in the page's share link and in the trace.

use serde::{Deserialize, Serialize};

/// One fault. Applied immediately with `Sim::inject`, or at a time with `Sim::schedule`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Split the nodes into groups that cannot talk to each other (both directions). Replaces the
    /// current cuts; nodes in no group keep talking to everyone.
    Partition { groups: Vec<Vec<String>> },
    /// Cut one direction of one link: `from` can no longer reach `to`.
    Cut { from: String, to: String },
    /// Repair one direction of one link.
    Repair { from: String, to: String },
    /// Repair every link.
    Heal,
    /// Stop a node; its volatile state is lost, its timers cancelled, messages to it dropped.
    Crash { node: String },
    /// Start a crashed node again from its durable state.
    Restart { node: String },
    /// Freeze a node (a GC pause): it handles nothing until the pause ends, while the world and
    /// its own clock go on. Messages and timers that fall due meanwhile are handled on resume.
    Pause { node: String, duration_us: u64 },
    /// Set a node's clock offset from true time (replaces earlier skew and jumps).
    ClockSkew { node: String, offset_us: i64 },
    /// Set a node's clock rate error in parts per million.
    ClockDrift { node: String, drift_ppm: i32 },
    /// Step a node's clock forward or backward.
    ClockJump { node: String, delta_us: i64 },
    /// Make a node fail slow (a noisy neighbour, a throttled CPU, a dying disk): every timer it
    /// sets from now on takes `factor` times as long, so work it times (a backend's service
    /// time) stretches while it stays up and answers. Its clock is untouched; `factor` 1 makes
    /// it normal again. Survives a restart: the machine is slow, not the process.
    Slow { node: String, factor: u32 },
}

impl Fault {
    /// The nodes the fault names, in the order it names them.
    pub fn nodes(&self) -> Vec<&str> {
        match self {
            Fault::Partition { groups } => groups.iter().flatten().map(String::as_str).collect(),
            Fault::Cut { from, to } | Fault::Repair { from, to } => vec![from, to],
            Fault::Heal => Vec::new(),
            Fault::Crash { node }
            | Fault::Restart { node }
            | Fault::Pause { node, .. }
            | Fault::ClockSkew { node, .. }
            | Fault::ClockDrift { node, .. }
            | Fault::ClockJump { node, .. }
            | Fault::Slow { node, .. } => vec![node],
        }
    }
}

/// Why a fault could not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("unknown node {name:?}: the nodes are {known}")]
    UnknownNode { name: String, known: String },
    #[error("node {node:?} is not crashed, so it cannot restart")]
    NotCrashed { node: String },
    #[error("node {node:?} is crashed: restart it first")]
    Crashed { node: String },
    #[error("node {node:?} appears in more than one partition group")]
    NodeInTwoGroups { node: String },
    #[error("{field} = {value} is out of range: allowed {allowed}")]
    OutOfRange { field: &'static str, value: i64, allowed: String },
}
