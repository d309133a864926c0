//! The trace: every event of a run as a serializable record, and a 64-bit hash over all of them.
//!
//! The canonical encoding of a record is its compact JSON (object keys sorted, since messages and
//! observations pass through `serde_json::Value`) followed by a newline; the trace hash is 64-bit
//! FNV-1a over those bytes. Two runs with the same hash took the same steps in the same order,
//! which is how tests pin event order and how the page proves a replay is exact.

use serde::{Deserialize, Serialize};

use super::{DropReason, SimTime};
use crate::NodeId;

/// One event of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// Position in the trace, from 0.
    pub index: u64,
    /// True simulated time of the event, in microseconds.
    pub time: SimTime,
    #[serde(flatten)]
    pub kind: TraceKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceKind {
    /// A node started (at the beginning of the run).
    Start { node: NodeId },
    /// A message left `from`. The payload is recorded here only; later records refer to `msg_id`.
    Send { msg_id: u64, from: NodeId, to: NodeId, msg: serde_json::Value },
    /// The network will deliver a second copy of `msg_id`.
    Duplicate { msg_id: u64 },
    /// `msg_id` reached `to` and was handled.
    Deliver { msg_id: u64, from: NodeId, to: NodeId },
    /// `msg_id` never reached `to`.
    Drop { msg_id: u64, from: NodeId, to: NodeId, reason: DropReason },
    /// A timer fired on `node`.
    Timer { node: NodeId, timer: u64 },
    /// An actor reported something for the checkers and the page.
    Observe { node: NodeId, obs: serde_json::Value },
    /// A fault took effect.
    Fault { fault: super::Fault },
    /// A scheduled fault could not apply (e.g. restarting a node that is up).
    FaultRejected { fault: super::Fault, reason: String },
    /// A paused node resumed.
    Resume { node: NodeId },
}

/// FNV-1a, 64-bit: tiny, stable and identical on every target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    pub fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub fn value(self) -> u64 {
        self.0
    }
}

/// The recorded events of a run and their running hash.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Records before this one are not held here (see [`Trace::detached`]).
    base: usize,
    records: Vec<TraceRecord>,
    hash: TraceHash,
    buf: Vec<u8>,
    /// Hash and count records without holding them (see [`Trace::set_held`]).
    hash_only: bool,
}

impl Trace {
    pub(crate) fn push(&mut self, time: SimTime, kind: TraceKind) {
        let record = TraceRecord { index: self.len() as u64, time, kind };
        self.buf.clear();
        // Serializing plain data into a Vec cannot fail: no I/O, no maps with non-string keys.
        if serde_json::to_writer(&mut self.buf, &record).is_ok() {
            self.buf.push(b'\n');
            self.hash.update(&self.buf);
        }
        if self.hash_only {
            self.base += 1;
        } else {
            self.records.push(record);
        }
    }

    /// Whether records from now on are held (the default) or only hashed and counted. A
    /// headless run that writes no trace needs only the hash: its checkers read the world's
    /// typed observations, and the records are most of a long run's memory (about a kilobyte
    /// per event, message payloads as JSON).
    pub fn set_held(&mut self, held: bool) {
        if !held {
            self.base = self.len();
            self.records = Vec::new();
        }
        self.hash_only = !held;
    }

    /// The records held: all of them, except in a checkpoint's copy, which holds those after
    /// [`Trace::base`] (their `index` fields still count from the run's first record).
    pub fn records(&self) -> &[TraceRecord] {
        &self.records
    }

    /// How many records came before the first one held.
    pub fn base(&self) -> usize {
        self.base
    }

    /// Records over the whole run, held or not.
    pub fn len(&self) -> usize {
        self.base + self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same hash and length without the records: a checkpoint's trace, which goes on from
    /// here (copying the records would make every checkpoint cost the whole run so far).
    pub(crate) fn detached(&self) -> Trace {
        Trace { base: self.len(), records: Vec::new(), hash: self.hash, buf: Vec::new(), hash_only: self.hash_only }
    }

    /// The 64-bit hash over the canonical encoding of every record so far.
    pub fn hash(&self) -> u64 {
        self.hash.value()
    }
}

/// `0x` and sixteen hex digits: how hashes are printed everywhere (CLI, page, tests).
pub fn format_hash(hash: u64) -> String {
    format!("{hash:#018x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        let h = |s: &str| {
            let mut t = TraceHash::default();
            t.update(s.as_bytes());
            t.value()
        };
        assert_eq!(h(""), 0xcbf29ce484222325);
        assert_eq!(h("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(h("foobar"), 0x85944171f73967e8);
        assert_eq!(format_hash(0xab), "0x00000000000000ab");
    }
}
