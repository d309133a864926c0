//! A replicated key-value store with the chapter's consistency levels (46.1, `DistributedConfig`
//! and `ConsistencyLevel`): N replicas, any of which coordinates a client's request, and clients
//! that issue reads and writes and report what they saw.
//!
//! - [`Consistency::Strong`] (CP): the ABD algorithm. A write asks R replicas for the newest
//!   version, then stores (newest + 1, coordinator) on W; a read asks R, takes the newest, and
//!   writes it back to W before answering, so a later read can never see an older value. Without
//!   a quorum in time, the answer is an explicit `Rejected` (nothing was written) or
//!   `Unavailable` (the write may have reached some replicas: its fate is unknown).
//! - [`Consistency::Quorum`]: the same without the read's write-back: `R + W > N` alone, which is
//!   *not* linearizable (a read can see a half-written value that a later read does not).
//! - [`Consistency::Eventual`] (AP): the coordinator answers from what it can reach, at worst
//!   itself. Versions carry vector clocks; concurrent writes become siblings (or, with `lww`, the
//!   newest timestamp wins and the other write is lost, and counted). Writes go to every replica;
//!   the ones not acknowledged are retried (hinted handoff); reads repair the replicas they asked;
//!   anti-entropy pushes whole states to a random peer.
//! - [`Consistency::Causal`]: causal broadcast. Each write carries the vector of updates its
//!   coordinator had applied; a replica applies it only after those. A client's session vector
//!   travels with its requests, and a replica answers only once it has caught up with it:
//!   read-your-writes and monotonic reads hold even when the client changes replica.
//!
//! What the chapter gets wrong: its `DistributedConfig` has the knobs but nothing uses them; the
//! lab makes each level a protocol and lets a checker say what it delivers.
//!
//! One algorithm per file: `replica.rs` is what every level shares (requests, their deadlines
//! and retransmission, answering retries once, the actor itself); `abd.rs` the register
//! protocol of `strong`, `quorum.rs` what bare quorums leave out of it, `eventual.rs` vector
//! clocks with siblings or LWW, hinted handoff, read repair and anti-entropy, `causal.rs` causal
//! broadcast with session vectors, and `client.rs` the clients.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod abd;
mod causal;
mod client;
mod eventual;
mod quorum;
mod replica;

pub use client::{CapClient, ClientConfig};
pub use replica::{Replica, ReplicaData, RequestSeen};

use crate::actor::{NodeId, Protocol};
use crate::sim::SimDuration;

/// The chapter's `ConsistencyLevel`, plus bare quorums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    #[default]
    Strong,
    Quorum,
    Eventual,
    Causal,
}

/// What every replica and client of one store agree on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapConfig {
    pub consistency: Consistency,
    pub replicas: Vec<NodeId>,
    pub read_quorum: usize,
    pub write_quorum: usize,
    /// Eventual: resolve concurrent writes by timestamp instead of keeping siblings.
    pub lww: bool,
    /// How long a coordinator waits for a quorum (or a causal replica for its dependencies).
    pub timeout: SimDuration,
    /// Anti-entropy, hinted handoff and causal catch-up interval.
    pub anti_entropy: SimDuration,
}

#[derive(Debug)]
pub struct CapProtocol;

impl Protocol for CapProtocol {
    type Msg = CapMsg;
    type Obs = CapObs;
}

/// A client's operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClientOp {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: String,
    },
    /// Compare-and-set: write `value` only if the key holds `expected` (`None`: absent). Over
    /// quorums it is read, compare, write, which is not atomic: registers cannot implement
    /// compare-and-set (Herlihy's consensus hierarchy), and the checker shows it.
    Cas {
        key: String,
        expected: Option<String>,
        value: String,
    },
}

impl ClientOp {
    pub fn key(&self) -> &str {
        match self {
            ClientOp::Get { key } | ClientOp::Put { key, .. } | ClientOp::Cas { key, .. } => key,
        }
    }
}

/// A coordinator's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OpResult {
    Ok,
    Value {
        value: Option<String>,
    },
    /// Eventual reads: every concurrent version (siblings), sorted.
    Values {
        values: Vec<String>,
    },
    /// A compare-and-set's answer: whether it wrote.
    Swapped {
        ok: bool,
    },
    /// No quorum in time, after the write may have reached some replicas: its fate is unknown.
    Unavailable,
    /// No quorum (or, causal, no catch-up) in time, before anything was written: it did not
    /// happen.
    Rejected,
}

/// A version in the ABD protocols: (counter, writer, the writer's request), ordered. It must be
/// unique to its write: two concurrent writes through one coordinator can read the same counter,
/// and equal stamps on different values would leave replicas disagreeing for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    pub counter: u64,
    pub node: u32,
    pub write: u64,
}

/// An eventual version: its vector clock, its value and (for LWW) its timestamp.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Versioned {
    pub vclock: Vec<u64>,
    pub value: String,
    pub stamp: (u64, u32),
}

/// A causal write as it travels: its origin's sequence number and the updates it depends on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CausalWrite {
    pub origin: usize,
    pub seq: u64,
    pub deps: Vec<u64>,
    pub key: String,
    pub value: String,
    pub lamport: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CapMsg {
    Request {
        req: u64,
        op: ClientOp,
        session: Vec<u64>,
    },
    Response {
        req: u64,
        result: OpResult,
        session: Vec<u64>,
    },
    Query {
        rid: u64,
        key: String,
    },
    QueryReply {
        rid: u64,
        version: Option<(Stamp, String)>,
    },
    Store {
        rid: u64,
        key: String,
        stamp: Stamp,
        value: String,
    },
    StoreAck {
        rid: u64,
    },
    /// Eventual: versions of one key to merge (a write, a repair or a hint); acknowledged.
    Replicate {
        key: String,
        versions: Vec<Versioned>,
        ack: bool,
    },
    /// The receiver's vector clocks for `key` after merging: a hint is settled only when they
    /// cover what the sender has (an ack of an older write must not settle a newer one).
    ReplicateAck {
        key: String,
        vclocks: Vec<Vec<u64>>,
    },
    ReadState {
        rid: u64,
        key: String,
    },
    ReadStateReply {
        rid: u64,
        versions: Vec<Versioned>,
    },
    Gossip {
        state: BTreeMap<String, Vec<Versioned>>,
    },
    Causal {
        writes: Vec<CausalWrite>,
    },
    CausalSync {
        applied: Vec<u64>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CapObs {
    /// A client sent `op` (request `req`) to `replica`.
    Invoked { req: u64, op: ClientOp, replica: NodeId },
    /// Its answer arrived.
    Completed { req: u64, result: OpResult },
    /// No answer within the client's timeout: the outcome is unknown.
    TimedOut { req: u64 },
    /// A replica's data changed; `digest` identifies its contents (equal digests, equal data).
    /// A hex string: a 64-bit number does not survive JavaScript's doubles in the page.
    State { digest: String },
    /// An LWW merge dropped a concurrent write.
    LostWrite { value: String },
}

// Vector clocks, shared by the eventual and causal levels and the clients' sessions.

/// `a` is causally after `b`: at least as large everywhere, larger somewhere.
pub(super) fn dominates(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x >= y) && a != b
}

pub(super) fn join(a: &[u64], b: &[u64]) -> Vec<u64> {
    (0..a.len().max(b.len())).map(|i| a.get(i).copied().unwrap_or(0).max(b.get(i).copied().unwrap_or(0))).collect()
}

/// Every entry of `have` is at least the one of `need`.
pub(super) fn covers(have: &[u64], need: &[u64]) -> bool {
    need.iter().enumerate().all(|(i, n)| have.get(i).copied().unwrap_or(0) >= *n)
}
