//! The trace: every event of a run as a serializable record, and a 64-bit hash over all of them.
//!
//! The canonical encoding of a record is its compact JSON (object keys sorted, since messages and
//! observations pass through `serde_json::Value`) followed by a newline; the trace hash is 64-bit
//! FNV-1a over those bytes. Two runs with the same hash took the same steps in the same order,
//! which is how tests pin event order and how the page proves a replay is exact.

use serde::{Deserialize, Serialize};

use super::{DropReason, SimTime, canonical};
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

/// A record's canonical encoding, written by hand: exactly the bytes `serde_json::to_writer`
/// gives (its fields in order, the kind's tag and then the kind's fields; the payloads through
/// serde), without serde's `flatten`, which serializes every record through a map and was the
/// largest share of a headless run's time. `encoding_is_serdes` in the tests holds them equal.
/// `typed`, when given, is the canonical JSON of the record's message or observation, written
/// in place of its `Value` (a placeholder then); that payload is always the record's last field.
fn encode(buf: &mut Vec<u8>, record: &TraceRecord, typed: Option<&[u8]>) {
    let mut numbers = itoa::Buffer::new();
    let mut field = |buf: &mut Vec<u8>, name: &str, value: u64| {
        buf.extend_from_slice(b",\"");
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b"\":");
        buf.extend_from_slice(numbers.format(value).as_bytes());
    };
    buf.extend_from_slice(b"{\"index\":");
    buf.extend_from_slice(itoa::Buffer::new().format(record.index).as_bytes());
    field(buf, "time", record.time.as_micros());
    let tag = |buf: &mut Vec<u8>, kind: &str| {
        buf.extend_from_slice(b",\"kind\":\"");
        buf.extend_from_slice(kind.as_bytes());
        buf.push(b'"');
    };
    // Payloads are plain data into a Vec: serializing them cannot fail (no I/O, no maps with
    // non-string keys).
    let payload = |buf: &mut Vec<u8>, name: &str, value: &dyn erased::Json| {
        buf.extend_from_slice(b",\"");
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b"\":");
        value.write(buf);
    };
    let message = |buf: &mut Vec<u8>, name: &str, value: &serde_json::Value| match typed {
        Some(bytes) => {
            buf.extend_from_slice(b",\"");
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(b"\":");
            buf.extend_from_slice(bytes);
        }
        None => payload(buf, name, value),
    };
    let node = |n: NodeId| u64::from(n.0);
    // A message's id and its two ends: what a send, a delivery and a drop have in common.
    let mut message_link = |buf: &mut Vec<u8>, kind: &str, msg_id: u64, from: NodeId, to: NodeId| {
        tag(buf, kind);
        field(buf, "msg_id", msg_id);
        field(buf, "from", node(from));
        field(buf, "to", node(to));
    };
    match &record.kind {
        TraceKind::Start { node: n } => {
            tag(buf, "start");
            field(buf, "node", node(*n));
        }
        TraceKind::Send { msg_id, from, to, msg } => {
            message_link(buf, "send", *msg_id, *from, *to);
            message(buf, "msg", msg);
        }
        TraceKind::Duplicate { msg_id } => {
            tag(buf, "duplicate");
            field(buf, "msg_id", *msg_id);
        }
        TraceKind::Deliver { msg_id, from, to } => message_link(buf, "deliver", *msg_id, *from, *to),
        TraceKind::Drop { msg_id, from, to, reason } => {
            message_link(buf, "drop", *msg_id, *from, *to);
            payload(buf, "reason", reason);
        }
        TraceKind::Timer { node: n, timer } => {
            tag(buf, "timer");
            field(buf, "node", node(*n));
            field(buf, "timer", *timer);
        }
        TraceKind::Observe { node: n, obs } => {
            tag(buf, "observe");
            field(buf, "node", node(*n));
            message(buf, "obs", obs);
        }
        TraceKind::Fault { fault } => {
            tag(buf, "fault");
            payload(buf, "fault", fault);
        }
        TraceKind::FaultRejected { fault, reason } => {
            tag(buf, "fault_rejected");
            payload(buf, "fault", fault);
            payload(buf, "reason", reason);
        }
        TraceKind::Resume { node: n } => {
            tag(buf, "resume");
            field(buf, "node", node(*n));
        }
    }
    buf.push(b'}');
}

/// A payload written as `serde_json` writes it.
mod erased {
    pub trait Json {
        fn write(&self, buf: &mut Vec<u8>);
    }
    impl<T: serde::Serialize> Json for T {
        fn write(&self, buf: &mut Vec<u8>) {
            // Plain data into a Vec: cannot fail (see `encode`).
            let _ = serde_json::to_writer(buf, self);
        }
    }
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
    /// A typed payload's canonical JSON (see [`Trace::push_typed`]).
    payload: Vec<u8>,
    /// Hash and count records without holding them (see [`Trace::set_held`]).
    hash_only: bool,
}

impl Trace {
    pub(crate) fn push(&mut self, time: SimTime, kind: TraceKind) {
        let record = TraceRecord { index: self.len() as u64, time, kind };
        self.buf.clear();
        encode(&mut self.buf, &record, None);
        self.buf.push(b'\n');
        self.hash.update(&self.buf);
        if self.hash_only {
            self.base += 1;
        } else {
            self.records.push(record);
        }
    }

    /// [`Trace::push`] of a record whose payload (a message or an observation) is still typed:
    /// a trace that only hashes writes the payload's canonical JSON straight from it, never
    /// building the `Value`; one that holds its records, or a payload the canonical writer
    /// leaves to `serde_json`, builds it. The bytes hashed are the same either way.
    pub(crate) fn push_typed<T: Serialize>(
        &mut self,
        time: SimTime,
        payload: &T,
        kind: impl FnOnce(serde_json::Value) -> TraceKind,
    ) {
        if self.hash_only {
            self.payload.clear();
            if canonical::write(&mut self.payload, payload).is_ok() {
                let record = TraceRecord { index: self.len() as u64, time, kind: kind(serde_json::Value::Null) };
                // The payload is a record's last field: the record is hashed as the bytes before
                // it, the payload where it is, then the closing brace, never copied together.
                self.buf.clear();
                encode(&mut self.buf, &record, Some(b""));
                let before = self.buf.len() - 1;
                self.hash.update(&self.buf[..before]);
                self.hash.update(&self.payload);
                self.hash.update(b"}\n");
                self.base += 1;
                return;
            }
        }
        self.push(time, kind(to_json(payload)));
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
        Trace {
            base: self.len(),
            records: Vec::new(),
            hash: self.hash,
            buf: Vec::new(),
            payload: Vec::new(),
            hash_only: self.hash_only,
        }
    }

    /// The 64-bit hash over the canonical encoding of every record so far.
    pub fn hash(&self) -> u64 {
        self.hash.value()
    }
}

/// Messages and observations enter the trace as JSON. A value serde cannot represent (which
/// would be a bug in a protocol's types) is recorded as a string saying so, never skipped.
pub(crate) fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_else(|e| serde_json::Value::String(format!("<unserializable: {e}>")))
}

/// `0x` and sixteen hex digits: how hashes are printed everywhere (CLI, page, tests).
pub fn format_hash(hash: u64) -> String {
    format!("{hash:#018x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_serdes() {
        use crate::sim::{DropReason, Fault};
        let kinds = [
            TraceKind::Start { node: NodeId(3) },
            TraceKind::Send {
                msg_id: 7,
                from: NodeId(0),
                to: NodeId(12),
                msg: serde_json::json!({"z": [1, 2.5, null], "a": {"s": "q\"\\\n\u{1}é"}}),
            },
            TraceKind::Duplicate { msg_id: u64::MAX },
            TraceKind::Deliver { msg_id: 0, from: NodeId(u32::MAX), to: NodeId(1) },
            TraceKind::Drop { msg_id: 9, from: NodeId(1), to: NodeId(2), reason: DropReason::NodeDown },
            TraceKind::Timer { node: NodeId(4), timer: 1 << 40 },
            TraceKind::Observe { node: NodeId(2), obs: serde_json::json!("text") },
            TraceKind::Fault { fault: Fault::Crash { node: "n1".into() } },
            TraceKind::FaultRejected {
                fault: Fault::Restart { node: "n\"2".into() },
                reason: "it is up: \"n2\"".into(),
            },
            TraceKind::Resume { node: NodeId(0) },
        ];
        for (index, kind) in kinds.into_iter().enumerate() {
            let record = TraceRecord {
                index: index as u64 * 1_000_003,
                time: SimTime::from_micros(index as u64 * 999_999_937),
                kind,
            };
            let mut ours = Vec::new();
            encode(&mut ours, &record, None);
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&record).unwrap());
        }
    }

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
