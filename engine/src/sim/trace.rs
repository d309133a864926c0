//! The trace: every event of a run as a serializable record, and a 64-bit hash over all of them.
//!
//! The canonical encoding of a record is its compact JSON (object keys sorted, since messages and
//! observations pass through `serde_json::Value`) followed by a newline; the trace hash is 64-bit
//! FNV-1a over those bytes. Two runs with the same hash took the same steps in the same order,
//! which is how tests pin event order and how the page proves a replay is exact.
//!
//! A record holds its message or observation as that canonical JSON ([`Payload`]), written once
//! from the typed value for the hash and kept as it is: a run that holds its trace (the page,
//! `--trace`) builds no `serde_json::Value` per event; a reader parses the few it looks at.

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
    Send { msg_id: u64, from: NodeId, to: NodeId, msg: Payload },
    /// The network will deliver a second copy of `msg_id`.
    Duplicate { msg_id: u64 },
    /// `msg_id` reached `to` and was handled.
    Deliver { msg_id: u64, from: NodeId, to: NodeId },
    /// `msg_id` never reached `to`.
    Drop { msg_id: u64, from: NodeId, to: NodeId, reason: DropReason },
    /// A timer fired on `node`.
    Timer { node: NodeId, timer: u64 },
    /// An actor reported something for the checkers and the page.
    Observe { node: NodeId, obs: Payload },
    /// A fault took effect.
    Fault { fault: super::Fault },
    /// A scheduled fault could not apply (e.g. restarting a node that is up).
    FaultRejected { fault: super::Fault, reason: String },
    /// A paused node resumed.
    Resume { node: NodeId },
}

/// A message or an observation in a record: its canonical JSON (compact, object keys sorted),
/// exactly the bytes the trace hash is over. It serializes as the JSON value it holds, so a
/// record reads the same to the page and in a trace file as when it held a `serde_json::Value`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Payload(Box<[u8]>);

impl Payload {
    /// The canonical JSON.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The value, parsed.
    pub fn value(&self) -> serde_json::Value {
        self.parse().unwrap_or_else(|e| serde_json::Value::String(format!("<unreadable: {e}>")))
    }

    /// The payload read as `T` (a protocol's message or observation type).
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.0)
    }
}

impl From<&serde_json::Value> for Payload {
    fn from(value: &serde_json::Value) -> Payload {
        // A `Value`'s objects are sorted maps: its compact JSON is canonical. Writing plain data
        // into a Vec cannot fail.
        Payload(serde_json::to_vec(value).unwrap_or_default().into_boxed_slice())
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Payload {
        Payload::from(&value)
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.parse::<serde_json::Value>().map_err(serde::ser::Error::custom)?.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Payload, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Payload::from)
    }
}

/// A record's canonical encoding, written by hand: exactly the bytes `serde_json::to_writer`
/// gives (its fields in order, the kind's tag and then the kind's fields; the payloads through
/// serde), without serde's `flatten`, which serializes every record through a map and was the
/// largest share of a headless run's time. `encoding_is_serdes` in the tests holds them equal.
/// `typed`, when given, is the canonical JSON of the record's message or observation, written
/// in place of its `Value` (a placeholder then); that payload is always the record's last field.
#[inline]
fn encode(buf: &mut Vec<u8>, record: &TraceRecord, typed: Option<&[u8]>) {
    // Each piece of fixed text is one literal, keys with their punctuation (`,"time":`): every
    // copy into the buffer is a call in WebAssembly, where a record's two dozen small copies
    // were a fifth of a run.
    let number = |buf: &mut Vec<u8>, key: &[u8], value: u64| {
        buf.extend_from_slice(key);
        canonical::number(buf, value);
    };
    number(buf, b"{\"index\":", record.index);
    number(buf, b",\"time\":", record.time.as_micros());
    // Payloads are plain data into a Vec: serializing them cannot fail (no I/O, no maps with
    // non-string keys).
    let payload = |buf: &mut Vec<u8>, key: &[u8], value: &dyn erased::Json| {
        buf.extend_from_slice(key);
        value.write(buf);
    };
    let message = |buf: &mut Vec<u8>, key: &[u8], value: &Payload| {
        buf.extend_from_slice(key);
        buf.extend_from_slice(typed.unwrap_or(value.as_bytes()));
    };
    let node = |n: NodeId| u64::from(n.0);
    // A message's id and its two ends: what a send, a delivery and a drop have in common;
    // `kind` is the tag and the id's key.
    let message_link = |buf: &mut Vec<u8>, kind: &[u8], msg_id: u64, from: NodeId, to: NodeId| {
        number(buf, kind, msg_id);
        number(buf, b",\"from\":", node(from));
        number(buf, b",\"to\":", node(to));
    };
    match &record.kind {
        TraceKind::Start { node: n } => number(buf, b",\"kind\":\"start\",\"node\":", node(*n)),
        TraceKind::Send { msg_id, from, to, msg } => {
            message_link(buf, b",\"kind\":\"send\",\"msg_id\":", *msg_id, *from, *to);
            message(buf, b",\"msg\":", msg);
        }
        TraceKind::Duplicate { msg_id } => number(buf, b",\"kind\":\"duplicate\",\"msg_id\":", *msg_id),
        TraceKind::Deliver { msg_id, from, to } => {
            message_link(buf, b",\"kind\":\"deliver\",\"msg_id\":", *msg_id, *from, *to);
        }
        TraceKind::Drop { msg_id, from, to, reason } => {
            message_link(buf, b",\"kind\":\"drop\",\"msg_id\":", *msg_id, *from, *to);
            payload(buf, b",\"reason\":", reason);
        }
        TraceKind::Timer { node: n, timer } => {
            number(buf, b",\"kind\":\"timer\",\"node\":", node(*n));
            number(buf, b",\"timer\":", *timer);
        }
        TraceKind::Observe { node: n, obs } => {
            number(buf, b",\"kind\":\"observe\",\"node\":", node(*n));
            message(buf, b",\"obs\":", obs);
        }
        TraceKind::Fault { fault } => payload(buf, b",\"kind\":\"fault\",\"fault\":", fault),
        TraceKind::FaultRejected { fault, reason } => {
            payload(buf, b",\"kind\":\"fault_rejected\",\"fault\":", fault);
            payload(buf, b",\"reason\":", reason);
        }
        TraceKind::Resume { node: n } => number(buf, b",\"kind\":\"resume\",\"node\":", node(*n)),
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
    #[inline]
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
    scratch: canonical::Scratch,
    /// Hash and count records without holding them (see [`Trace::set_held`]).
    hash_only: bool,
}

impl Trace {
    #[inline]
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

    /// [`Trace::push`] of a record whose payload (a message or an observation, which `kind`
    /// puts in a `Send` or an `Observe`) is still typed: its canonical JSON is written straight
    /// from it, never through a `serde_json::Value` (a payload the canonical writer leaves to
    /// `serde_json` goes through one), hashed where it lies, and kept as the record's [`Payload`]
    /// when the trace holds its records.
    #[inline]
    pub(crate) fn push_typed<T: Serialize>(
        &mut self,
        time: SimTime,
        payload: &T,
        kind: impl FnOnce(Payload) -> TraceKind,
    ) {
        self.payload.clear();
        if canonical::write(&mut self.payload, &mut self.scratch, payload).is_err() {
            self.payload.clear();
            self.payload.extend_from_slice(Payload::from(to_json(payload)).as_bytes());
        }
        let mut record = TraceRecord { index: self.len() as u64, time, kind: kind(Payload::default()) };
        // The payload is a record's last field: the record is hashed as the bytes before it, the
        // payload where it is, then the closing brace, never copied together.
        self.buf.clear();
        encode(&mut self.buf, &record, Some(b""));
        let before = self.buf.len() - 1;
        self.hash.update(&self.buf[..before]);
        self.hash.update(&self.payload);
        self.hash.update(b"}\n");
        if self.hash_only {
            self.base += 1;
            return;
        }
        if let TraceKind::Send { msg: held, .. } | TraceKind::Observe { obs: held, .. } = &mut record.kind {
            *held = Payload(self.payload.as_slice().into());
        }
        self.records.push(record);
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
            scratch: canonical::Scratch::default(),
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
                msg: serde_json::json!({"z": [1, 2.5, null], "a": {"s": "q\"\\\n\u{1}é"}}).into(),
            },
            TraceKind::Duplicate { msg_id: u64::MAX },
            TraceKind::Deliver { msg_id: 0, from: NodeId(u32::MAX), to: NodeId(1) },
            TraceKind::Drop { msg_id: 9, from: NodeId(1), to: NodeId(2), reason: DropReason::NodeDown },
            TraceKind::Timer { node: NodeId(4), timer: 1 << 40 },
            TraceKind::Observe { node: NodeId(2), obs: serde_json::json!("text").into() },
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
    fn a_payload_reads_and_writes_as_the_json_it_holds() {
        let value = serde_json::json!({"z": [1, 2.5, null], "a": {"s": "é\""}, "big": u64::MAX});
        let payload = Payload::from(&value);
        assert_eq!(payload.as_bytes(), r#"{"a":{"s":"é\""},"big":18446744073709551615,"z":[1,2.5,null]}"#.as_bytes());
        assert_eq!(payload.value(), value);
        assert_eq!(serde_json::to_value(&payload).unwrap(), value, "it serializes as its value");
        let read: Payload =
            serde_json::from_str(r#"{"z": [1, 2.5, null], "big": 18446744073709551615, "a": {"s": "é\""}}"#).unwrap();
        assert_eq!(read, payload, "read back in canonical form, whatever the spacing and order");
        #[derive(Debug, PartialEq, Deserialize)]
        struct Inner {
            s: String,
        }
        #[derive(Debug, PartialEq, Deserialize)]
        struct Typed {
            a: Inner,
            big: u64,
        }
        assert_eq!(payload.parse::<Typed>().unwrap(), Typed { a: Inner { s: "é\"".into() }, big: u64::MAX });
        assert!(payload.parse::<u64>().is_err());
    }

    #[test]
    fn a_held_record_keeps_the_payload_it_hashed() {
        let mut held = Trace::default();
        let mut hashed = Trace::default();
        hashed.set_held(false);
        let msg = serde_json::json!({"type": "write", "key": "k", "value": 3});
        for trace in [&mut held, &mut hashed] {
            trace.push_typed(SimTime::from_micros(5), &msg, |msg| TraceKind::Send {
                msg_id: 1,
                from: NodeId(0),
                to: NodeId(1),
                msg,
            });
        }
        assert_eq!(held.hash(), hashed.hash());
        let record = &held.records()[0];
        assert_eq!(record.kind, TraceKind::Send { msg_id: 1, from: NodeId(0), to: NodeId(1), msg: msg.clone().into() });
        let mut again = TraceHash::default();
        again.update(format!("{}\n", serde_json::to_string(record).unwrap()).as_bytes());
        assert_eq!(again.value(), held.hash(), "the hash is over the record as serde writes it");
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
