//! The simulator against the real thing. A store-backed scenario's clients talk to their stores
//! only through commands (`StoreMsg`), and the simulated store answers them as Redis would (the
//! differential tests hold it to that, command by command). A run's store history — every
//! command as the store executed it, when, and its answer — can therefore be sent to a real Redis
//! at the same moments and in the same order, and the two histories compared: until the first
//! answer that differs, the clients saw the same world, so they would have sent the same
//! commands. That first difference is where the simulator's model and Redis part: a store clock
//! jump the simulator makes and Redis cannot (46.7.1: the lease that ran out early), a restart
//! that lost what Redis kept, or a bug in either.
//!
//! This module reads a run's store history from its trace and says when two answers are the
//! same answer (Redis's own freedoms allowed: a TTL read a millisecond later, a hash's field
//! order); the native `distlab replay` sends it to the target.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::Value;

use super::ScenarioRun;
use crate::sim::{Fault, Payload, TraceKind, TraceRecord};
use crate::store::{Cmd, Reply, StoreMsg};

/// One command a store executed, in the order it executed them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exchange {
    /// Its place in the whole history (every store's commands, by execution).
    pub n: usize,
    pub client: String,
    pub store: String,
    /// The client's request number (it matches the answer to the request).
    pub req: u64,
    /// When the store executed it (µs of true time): the delivery.
    pub at_us: u64,
    /// The trace record of that delivery.
    pub record: u64,
    pub cmd: Cmd,
    /// The store's answer; `None` when it sent none (it crashed first).
    pub reply: Option<Reply>,
}

/// The store history of `run`, whose trace must hold every record (a run built and run with its
/// trace held, the default). Commands lost on the way (a cut link, a crashed store) never ran and
/// are not in it; a duplicated one ran twice and is there twice.
pub fn exchanges(run: &dyn ScenarioRun) -> Vec<Exchange> {
    let names: BTreeMap<u64, String> = run.snapshot().nodes.into_iter().map(|n| (u64::from(n.id.0), n.name)).collect();
    let name = |id: u64| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
    // Requests on their way, by message id; executed requests awaiting their answer, by
    // (store, client, req), oldest first.
    let mut sent: BTreeMap<u64, (u64, u64, u64, Cmd)> = BTreeMap::new();
    let mut waiting: BTreeMap<(u64, u64, u64), VecDeque<usize>> = BTreeMap::new();
    let mut history: Vec<Exchange> = Vec::new();
    for r in run.trace().records() {
        match &r.kind {
            TraceKind::Send { msg_id, from, to, msg } => {
                match carries_store_msg(msg).then(|| store_msg(&msg.value())).flatten() {
                    Some(StoreMsg::Request { req, cmd }) => {
                        sent.insert(*msg_id, (u64::from(from.0), u64::from(to.0), req, cmd));
                    }
                    Some(StoreMsg::Reply { req, reply }) => {
                        let key = (u64::from(from.0), u64::from(to.0), req);
                        if let Some(i) = waiting.get_mut(&key).and_then(VecDeque::pop_front) {
                            history[i].reply = Some(reply);
                        }
                    }
                    None => {}
                }
            }
            TraceKind::Deliver { msg_id, .. } => {
                if let Some((client, store, req, cmd)) = sent.get(msg_id).cloned() {
                    waiting.entry((store, client, req)).or_default().push_back(history.len());
                    history.push(Exchange {
                        n: history.len(),
                        client: name(client),
                        store: name(store),
                        req,
                        at_us: r.time.as_micros(),
                        record: r.index,
                        cmd,
                        reply: None,
                    });
                }
            }
            _ => {}
        }
    }
    history
}

/// Whether a message may carry a store message (most of a run's messages do not: they are not
/// parsed).
fn carries_store_msg(msg: &Payload) -> bool {
    msg.as_bytes().windows(8).any(|w| w == b"\"store\":")
}

/// The store message a protocol message carries, wherever its wrapper put it (`{"type":
/// "store", "msg": {"store": "request", …}}` in a lock world, the bare `StoreMsg` in a queue's).
fn store_msg(msg: &Value) -> Option<StoreMsg> {
    match msg {
        Value::Object(fields) => {
            if fields.get("store").and_then(Value::as_str).is_some_and(|s| s == "request" || s == "reply") {
                return serde_json::from_value(msg.clone()).ok();
            }
            fields.values().find_map(store_msg)
        }
        _ => None,
    }
}

/// Faults of `run` that happened to one of its stores and that a real server in a replay does
/// not undergo: its clock stepped, skewed or drifting (Redis keeps its own time), a crash (the
/// simulated store may lose what Redis keeps). Pauses are not among them: they only delay the
/// commands, and the history already has them at their delayed times.
pub fn store_faults(run: &dyn ScenarioRun, history: &[Exchange]) -> Vec<(u64, Fault)> {
    let stores: Vec<&str> = history.iter().map(|e| e.store.as_str()).collect();
    run.trace()
        .records()
        .iter()
        .filter_map(|r: &TraceRecord| match &r.kind {
            TraceKind::Fault { fault } => Some((r.time.as_micros(), fault.clone())),
            _ => None,
        })
        .filter(|(_, f)| match f {
            Fault::ClockJump { node, .. }
            | Fault::ClockSkew { node, .. }
            | Fault::ClockDrift { node, .. }
            | Fault::Crash { node } => stores.contains(&node.as_str()),
            _ => false,
        })
        .collect()
}

/// Stream entry ids are the server's clock (`<ms>-<seq>`): the simulated store's count from the
/// run's start, Redis's from 1970. Both give their ids in the same order, so each simulated id
/// stands for the real one its `XADD` got; commands are sent with the real ids and answers
/// compared with the simulated ids put back.
#[derive(Clone, Debug, Default)]
pub struct StreamIds {
    real_of: BTreeMap<String, String>,
    simulated_of: BTreeMap<String, String>,
}

impl StreamIds {
    /// `cmd` as the real server must get it: every simulated id it names replaced by the real one.
    pub fn to_real(&self, cmd: &Cmd) -> Cmd {
        if self.real_of.is_empty() {
            return cmd.clone();
        }
        serde_json::to_value(cmd)
            .ok()
            .map(|v| swap_strings(v, &self.real_of))
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_else(|| cmd.clone())
    }

    /// After a command ran in both: each id neither side has been seen with before, at the same
    /// place in the two answers, is paired (an `XADD`'s answer, or a read of entries a script
    /// added). Ids already paired are left to the comparison.
    pub fn learn(&mut self, simulated: &Reply, real: &Reply) {
        match (simulated, real) {
            (Reply::Bulk(s) | Reply::Status(s), Reply::Bulk(r) | Reply::Status(r))
                if is_stream_id(s)
                    && is_stream_id(r)
                    && !self.real_of.contains_key(s)
                    && !self.simulated_of.contains_key(r) =>
            {
                self.real_of.insert(s.clone(), r.clone());
                self.simulated_of.insert(r.clone(), s.clone());
            }
            (Reply::Array(a), Reply::Array(b)) if a.len() == b.len() => {
                for (a, b) in a.iter().zip(b) {
                    self.learn(a, b);
                }
            }
            _ => {}
        }
    }

    /// Redis's answer with the simulated ids put back, to compare with the simulated answer.
    pub fn to_simulated(&self, reply: &Reply) -> Reply {
        match reply {
            Reply::Bulk(text) | Reply::Status(text) if self.simulated_of.contains_key(text) => {
                let back = self.simulated_of[text].clone();
                if matches!(reply, Reply::Bulk(_)) { Reply::Bulk(back) } else { Reply::Status(back) }
            }
            Reply::Array(items) => Reply::Array(items.iter().map(|i| self.to_simulated(i)).collect()),
            other => other.clone(),
        }
    }
}

/// `<ms>-<seq>`, both whole numbers: how a stream entry is named.
fn is_stream_id(text: &str) -> bool {
    text.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

fn swap_strings(value: Value, map: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(map.get(&s).cloned().unwrap_or(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| swap_strings(v, map)).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, swap_strings(v, map))).collect()),
        other => other,
    }
}

/// How far apart two readings of a time to live may be and still be the same answer: the real
/// command runs a little off its simulated moment.
pub const TTL_TOLERANCE_MS: i64 = 25;

/// Whether Redis's `real` answer to `cmd` is the simulated store's `simulated` one, allowing what
/// Redis leaves free: a TTL or a pending entry's idle time read within [`TTL_TOLERANCE_MS`], a
/// hash's fields in any order, a script error's text after its code (`real` with its stream ids
/// put back to the simulated ones: [`StreamIds`]).
pub fn same_reply(cmd: &Cmd, simulated: &Reply, real: &Reply) -> bool {
    same_reply_within(cmd, simulated, real, TTL_TOLERANCE_MS)
}

/// [`same_reply`] with times read up to `tolerance_ms` apart (the store's differential tests,
/// which run each command on both stores in turn, allow more).
pub fn same_reply_within(cmd: &Cmd, simulated: &Reply, real: &Reply, tolerance_ms: i64) -> bool {
    let (simulated, real) = (normalise(cmd, simulated.clone()), normalise(cmd, real.clone()));
    match (cmd, &simulated, &real) {
        (Cmd::PTtl { .. }, Reply::Int(a), Reply::Int(b)) if *a >= 0 && *b >= 0 => (a - b).abs() <= tolerance_ms,
        // A pending entry's idle time, read a little off its simulated moment.
        (Cmd::XPending { range: Some(_), .. }, Reply::Array(a), Reply::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_pending_row(a, b, tolerance_ms))
        }
        _ => simulated == real,
    }
}

/// `[id, consumer, idle ms, deliveries]`: the same but for the idle time, within tolerance.
fn same_pending_row(a: &Reply, b: &Reply, tolerance_ms: i64) -> bool {
    match (a, b) {
        (Reply::Array(a), Reply::Array(b)) if a.len() == 4 && b.len() == 4 => match (&a[2], &b[2]) {
            (Reply::Int(x), Reply::Int(y)) => (x - y).abs() <= tolerance_ms && a[..2] == b[..2] && a[3] == b[3],
            _ => a == b,
        },
        _ => a == b,
    }
}

fn normalise(cmd: &Cmd, reply: Reply) -> Reply {
    match (cmd, reply) {
        (Cmd::HGetAll { .. }, Reply::Array(items)) => {
            let mut pairs: Vec<Vec<Reply>> = items.chunks(2).map(<[Reply]>::to_vec).collect();
            pairs.sort_by_key(|pair| format!("{pair:?}"));
            Reply::Array(pairs.into_iter().flatten().collect())
        }
        (Cmd::Script { .. }, Reply::Error(e)) => Reply::Error(e.split_whitespace().next().unwrap_or("").to_owned()),
        (_, reply) => reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;
    use serde_json::json;

    #[test]
    fn a_lock_runs_history_pairs_every_executed_command_with_its_answer() {
        let config = json!({ "clients": 2, "loss_percent": 0, "pauses": false, "clock_jumps": false,
            "partitions": false, "crashes": false, "store_restarts": false, "duration_ms": 3000 });
        let mut run = scenario::build("lock", &config, 1).unwrap();
        let end = run.default_until();
        run.run_until(end).unwrap();
        let history = exchanges(run.as_ref());
        assert!(history.len() > 10, "{} commands", history.len());
        assert!(history.iter().all(|e| e.store == "redis" && e.client.starts_with('c')));
        assert!(history.iter().all(|e| e.reply.is_some()), "no fault: every command answered");
        assert!(history.windows(2).all(|w| w[0].at_us <= w[1].at_us && w[0].record < w[1].record));
        assert!(history.iter().enumerate().all(|(i, e)| e.n == i));
        let first = &history[0];
        assert!(
            matches!(&first.cmd, Cmd::Script { script: crate::store::ScriptName::AcquireFenced, .. }),
            "a client's first command takes the lock with a fencing token: {first:?}"
        );
        assert_eq!(first.reply, Some(Reply::Int(1)), "the first token");
        assert!(store_faults(run.as_ref(), &history).is_empty());
    }

    #[test]
    fn answers_are_the_same_up_to_what_redis_leaves_free() {
        let pttl = Cmd::PTtl { key: "k".into() };
        assert!(same_reply(&pttl, &Reply::Int(1_000), &Reply::Int(990)));
        assert!(!same_reply(&pttl, &Reply::Int(1_000), &Reply::Int(900)));
        assert!(!same_reply(&pttl, &Reply::Int(-2), &Reply::Int(5)), "gone is not nearly gone");
        let get = Cmd::Get { key: "k".into() };
        assert!(!same_reply(&get, &Reply::Nil, &Reply::Bulk("x".into())));
        let all = Cmd::HGetAll { key: "h".into() };
        let (a, b) = (Reply::Bulk("a".into()), Reply::Bulk("1".into()));
        let (c, d) = (Reply::Bulk("c".into()), Reply::Bulk("2".into()));
        assert!(same_reply(
            &all,
            &Reply::Array(vec![a.clone(), b.clone(), c.clone(), d.clone()]),
            &Reply::Array(vec![c, d, a, b])
        ));
    }

    #[test]
    fn stream_ids_made_by_the_two_clocks_stand_for_each_other() {
        let add = Cmd::XAdd { key: "s".into(), no_mkstream: false, maxlen: None, id: "*".into(), fields: vec![] };
        let mut ids = StreamIds::default();
        let (sim, real) = (Reply::Bulk("3-0".into()), Reply::Bulk("1796670771261-0".into()));
        ids.learn(&sim, &real);
        assert!(same_reply(&add, &sim, &ids.to_simulated(&real)));
        ids.learn(&Reply::Bulk("4-0".into()), &Reply::Bulk("1796670771261-0".into()));
        assert_eq!(ids.to_simulated(&real), sim, "a real id already paired is not paired again");
        let ack = Cmd::XAck { key: "s".into(), group: "g".into(), ids: vec!["3-0".into(), "9-9".into()] };
        assert_eq!(
            ids.to_real(&ack),
            Cmd::XAck { key: "s".into(), group: "g".into(), ids: vec!["1796670771261-0".into(), "9-9".into()] }
        );
        let read =
            Reply::Array(vec![Reply::Array(vec![Reply::Bulk("1796670771261-0".into()), Reply::Bulk("m".into())])]);
        assert_eq!(
            ids.to_simulated(&read),
            Reply::Array(vec![Reply::Array(vec![Reply::Bulk("3-0".into()), Reply::Bulk("m".into())])])
        );
    }
}
