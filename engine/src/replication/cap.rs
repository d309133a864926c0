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

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Ctx, NodeId, Protocol, TimerId};
use crate::sim::{SimDuration, SimTime};

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

const ANTI_ENTROPY: TimerId = TimerId(1);
const RETRANSMIT: TimerId = TimerId(2);
/// Per-operation deadlines: `TimerId(OP_TIMER + rid)`.
const OP_TIMER: u64 = 1_000;

/// Everything a replica stores, and keeps across a crash (its disk).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaData {
    /// Strong and quorum: the newest version of each key.
    pub registers: BTreeMap<String, (Stamp, String)>,
    /// Eventual: the concurrent versions of each key.
    pub versions: BTreeMap<String, Vec<Versioned>>,
    /// Causal: updates applied per origin, the applied log, and each key's winning write.
    pub applied: Vec<u64>,
    pub log: Vec<CausalWrite>,
    pub causal: BTreeMap<String, (u64, usize, String)>,
    /// Eventual: keys whose replication a peer has not acknowledged (hinted handoff).
    pub hints: BTreeMap<u32, BTreeSet<String>>,
    /// Per client, the latest request this replica coordinated and its answer once given.
    /// Clients are sequential, so anything older is a stale duplicate.
    pub requests: BTreeMap<u32, RequestSeen>,
    /// Lives of this replica: request ids carry it, so that a reply meant for a request of an
    /// earlier life can never count for a new one.
    pub incarnation: u64,
}

/// A request a coordinator started: answered, or (after a crash) of unknown fate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSeen {
    pub req: u64,
    pub answer: Option<OpResult>,
}

/// A request a coordinator is working on.
#[derive(Clone, Debug)]
struct Coordinating {
    client: NodeId,
    req: u64,
    op: ClientOp,
    session: Vec<u64>,
    phase: Phase,
}

#[derive(Clone, Debug)]
enum Phase {
    /// ABD: collecting versions.
    /// One reply per replica (a duplicated message must not count twice).
    Query { replies: BTreeMap<NodeId, Option<(Stamp, String)>> },
    /// ABD: storing `stamp`; `result` is the answer once W acknowledged.
    Store { acked: BTreeSet<NodeId>, stamp: Stamp, value: String, result: OpResult },
    /// Eventual read: collecting states.
    ReadState { replies: BTreeMap<NodeId, Vec<Versioned>> },
    /// Causal: waiting for this replica to catch up with the session.
    CatchUp,
}

#[derive(Debug)]
pub struct Replica {
    config: CapConfig,
    index: usize,
    data: ReplicaData,
    ops: BTreeMap<u64, Coordinating>,
    next_rid: u64,
    /// Causal writes received before their dependencies.
    pending: Vec<CausalWrite>,
}

impl Replica {
    pub fn new(config: CapConfig, index: usize, durable: Option<ReplicaData>) -> Self {
        let n = config.replicas.len();
        let restarted = durable.is_some();
        let mut data = durable.unwrap_or_default();
        data.applied.resize(n, 0);
        data.incarnation += u64::from(restarted);
        let next_rid = data.incarnation << 40;
        Replica { config, index, data, ops: BTreeMap::new(), next_rid, pending: Vec::new() }
    }

    fn n(&self) -> usize {
        self.config.replicas.len()
    }

    fn others(&self, me: NodeId) -> Vec<NodeId> {
        self.config.replicas.iter().copied().filter(|r| *r != me).collect()
    }

    fn observe_state(&self, ctx: &mut Ctx<'_, CapProtocol>) {
        let contents = match self.config.consistency {
            Consistency::Strong | Consistency::Quorum => serde_json::to_string(&self.data.registers),
            Consistency::Eventual => serde_json::to_string(&self.data.versions),
            Consistency::Causal => serde_json::to_string(&self.data.causal),
        }
        .unwrap_or_default();
        let mut digest = crate::sim::trace::TraceHash::default();
        digest.update(contents.as_bytes());
        ctx.observe(CapObs::State { digest: crate::sim::format_hash(digest.value()) });
    }

    fn respond(&self, ctx: &mut Ctx<'_, CapProtocol>, client: NodeId, req: u64, result: OpResult) {
        let session =
            if self.config.consistency == Consistency::Causal { self.data.applied.clone() } else { Vec::new() };
        ctx.send(client, CapMsg::Response { req, result, session });
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64, result: OpResult) {
        if let Some(op) = self.ops.remove(&rid) {
            ctx.cancel_timer(TimerId(OP_TIMER + rid));
            self.answer(ctx, op.client, op.req, result);
        }
    }

    /// Answers a client's request, remembering the answer for its retries.
    fn answer(&mut self, ctx: &mut Ctx<'_, CapProtocol>, client: NodeId, req: u64, result: OpResult) {
        if let Some(r) = self.data.requests.get_mut(&client.0).filter(|r| r.req == req) {
            r.answer = Some(result.clone());
        }
        self.respond(ctx, client, req, result);
    }

    /// A client's retry (or a duplicated request): joins the request in flight, or gets the
    /// answer again; an older request (a late duplicate) is ignored. Executing a write twice
    /// could let it land again after a newer one, so a request this replica started before a
    /// crash (its fate unknown) is refused.
    fn is_repeat(&mut self, ctx: &mut Ctx<'_, CapProtocol>, client: NodeId, req: u64) -> bool {
        let known = match self.data.requests.get(&client.0) {
            Some(known) if known.req > req => return true,
            Some(known) if known.req == req => known.answer.clone(),
            _ => {
                self.data.requests.insert(client.0, RequestSeen { req, answer: None });
                return false;
            }
        };
        match known {
            Some(result) => self.respond(ctx, client, req, result),
            None if self.ops.values().any(|o| o.client == client && o.req == req) => {}
            None => self.respond(ctx, client, req, OpResult::Unavailable),
        }
        true
    }

    /// Resends each request in flight to the replicas that have not answered it yet, so that a
    /// lost message costs a retransmission rather than the operation.
    fn retransmit(&self, ctx: &mut Ctx<'_, CapProtocol>) {
        let me = ctx.me();
        for (&rid, op) in &self.ops {
            let key = op.op.key().to_owned();
            for r in self.others(me) {
                let msg = match &op.phase {
                    Phase::Query { replies } if !replies.contains_key(&r) => CapMsg::Query { rid, key: key.clone() },
                    Phase::Store { acked, stamp, value, .. } if !acked.contains(&r) => {
                        CapMsg::Store { rid, key: key.clone(), stamp: *stamp, value: value.clone() }
                    }
                    Phase::ReadState { replies } if !replies.contains_key(&r) => {
                        CapMsg::ReadState { rid, key: key.clone() }
                    }
                    _ => continue,
                };
                ctx.send(r, msg);
            }
        }
        if !self.ops.is_empty() {
            ctx.set_timer(RETRANSMIT, self.retransmit_every());
        }
    }

    fn retransmit_every(&self) -> SimDuration {
        SimDuration::from_micros((self.config.timeout.as_micros() / 4).max(1))
    }

    fn start(&mut self, ctx: &mut Ctx<'_, CapProtocol>, client: NodeId, req: u64, op: ClientOp, session: Vec<u64>) {
        match self.config.consistency {
            Consistency::Strong | Consistency::Quorum => {
                let rid = self.track(ctx, client, req, op.clone(), session, Phase::Query { replies: BTreeMap::new() });
                let key = op.key().to_owned();
                for r in self.others(ctx.me()) {
                    ctx.send(r, CapMsg::Query { rid, key: key.clone() });
                }
                let local = self.data.registers.get(&key).cloned();
                let me = ctx.me();
                self.on_query_reply(ctx, rid, me, local);
            }
            Consistency::Eventual => match op {
                ClientOp::Put { key, value } => {
                    self.eventual_write(ctx, &key, value);
                    self.answer(ctx, client, req, OpResult::Ok);
                }
                ClientOp::Cas { key, expected, value } => {
                    // Against this replica's versions only: one version equal to `expected`.
                    let here: Vec<String> = self
                        .data
                        .versions
                        .get(&key)
                        .map(|vs| vs.iter().map(|v| v.value.clone()).collect())
                        .unwrap_or_default();
                    let ok = match &expected {
                        None => here.is_empty(),
                        Some(e) => here.len() == 1 && here[0] == *e,
                    };
                    if ok {
                        self.eventual_write(ctx, &key, value);
                    }
                    self.answer(ctx, client, req, OpResult::Swapped { ok });
                }
                ClientOp::Get { key } => {
                    let rid = self.track(
                        ctx,
                        client,
                        req,
                        ClientOp::Get { key: key.clone() },
                        session,
                        Phase::ReadState { replies: BTreeMap::new() },
                    );
                    if self.config.read_quorum > 1 {
                        for r in self.others(ctx.me()) {
                            ctx.send(r, CapMsg::ReadState { rid, key: key.clone() });
                        }
                    }
                    let local = self.data.versions.get(&key).cloned().unwrap_or_default();
                    let me = ctx.me();
                    self.on_read_state(ctx, rid, me, local);
                }
            },
            Consistency::Causal => {
                let rid = self.track(ctx, client, req, op, session, Phase::CatchUp);
                self.causal_serve(ctx, rid);
            }
        }
    }

    fn track(
        &mut self,
        ctx: &mut Ctx<'_, CapProtocol>,
        client: NodeId,
        req: u64,
        op: ClientOp,
        session: Vec<u64>,
        phase: Phase,
    ) -> u64 {
        let rid = self.next_rid;
        self.next_rid += 1;
        if self.ops.is_empty() {
            ctx.set_timer(RETRANSMIT, self.retransmit_every());
        }
        self.ops.insert(rid, Coordinating { client, req, op, session, phase });
        ctx.set_timer(TimerId(OP_TIMER + rid), self.config.timeout);
        rid
    }

    fn on_query_reply(
        &mut self,
        ctx: &mut Ctx<'_, CapProtocol>,
        rid: u64,
        from: NodeId,
        version: Option<(Stamp, String)>,
    ) {
        let r = self.config.read_quorum;
        let Some(op) = self.ops.get_mut(&rid) else { return };
        let Phase::Query { replies } = &mut op.phase else { return };
        replies.insert(from, version);
        if replies.len() < r {
            return;
        }
        let newest = replies.values().flatten().max().cloned();
        let counter = newest.as_ref().map_or(0, |(s, _)| s.counter) + 1;
        let node = u32::try_from(self.index).unwrap_or(u32::MAX);
        let fresh = Stamp { counter, node, write: rid };
        let (stamp, value, result) = match &op.op {
            ClientOp::Put { value, .. } => (fresh, value.clone(), OpResult::Ok),
            ClientOp::Cas { expected, value, .. } => {
                if newest.as_ref().map(|(_, v)| v) != expected.as_ref() {
                    return self.finish(ctx, rid, OpResult::Swapped { ok: false });
                }
                (fresh, value.clone(), OpResult::Swapped { ok: true })
            }
            ClientOp::Get { .. } => {
                let result = OpResult::Value { value: newest.as_ref().map(|(_, v)| v.clone()) };
                match (&newest, self.config.consistency) {
                    (Some((stamp, value)), Consistency::Strong) => (*stamp, value.clone(), result),
                    // Nothing to write back, or no write-back at all (bare quorums).
                    _ => return self.finish(ctx, rid, result),
                }
            }
        };
        let key = op.op.key().to_owned();
        op.phase = Phase::Store { acked: BTreeSet::new(), stamp, value: value.clone(), result };
        for r in self.others(ctx.me()) {
            ctx.send(r, CapMsg::Store { rid, key: key.clone(), stamp, value: value.clone() });
        }
        self.store_register(ctx, &key, stamp, value);
        let me = ctx.me();
        self.on_store_ack(ctx, rid, me);
    }

    fn store_register(&mut self, ctx: &mut Ctx<'_, CapProtocol>, key: &str, stamp: Stamp, value: String) {
        if self.data.registers.get(key).is_none_or(|(s, _)| *s < stamp) {
            self.data.registers.insert(key.to_owned(), (stamp, value));
            self.observe_state(ctx);
        }
    }

    fn on_store_ack(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64, from: NodeId) {
        let w = self.config.write_quorum;
        let Some(op) = self.ops.get_mut(&rid) else { return };
        let Phase::Store { acked, result, .. } = &mut op.phase else { return };
        acked.insert(from);
        if acked.len() >= w {
            let result = result.clone();
            self.finish(ctx, rid, result);
        }
    }

    /// Merges `incoming` into `current`: drops every version another dominates; with LWW keeps
    /// only the newest stamp, and reports the concurrent writes it drops.
    fn merge(&self, ctx: &mut Ctx<'_, CapProtocol>, current: &[Versioned], incoming: &[Versioned]) -> Vec<Versioned> {
        let mut all: Vec<Versioned> = current.iter().chain(incoming).cloned().collect();
        all.sort();
        all.dedup();
        let kept: Vec<Versioned> =
            all.iter().filter(|v| !all.iter().any(|o| o != *v && dominates(&o.vclock, &v.vclock))).cloned().collect();
        if !self.config.lww || kept.len() <= 1 {
            return kept;
        }
        let winner = kept.iter().max_by_key(|v| v.stamp).cloned().into_iter().collect::<Vec<_>>();
        for v in &kept {
            if v.stamp != winner[0].stamp {
                ctx.observe(CapObs::LostWrite { value: v.value.clone() });
            }
        }
        // The winner absorbs the loser's history, so the loser never comes back.
        let mut w = winner[0].clone();
        for v in &kept {
            w.vclock = join(&w.vclock, &v.vclock);
        }
        vec![w]
    }

    fn merge_key(&mut self, ctx: &mut Ctx<'_, CapProtocol>, key: &str, incoming: &[Versioned]) -> bool {
        let current = self.data.versions.get(key).cloned().unwrap_or_default();
        let merged = self.merge(ctx, &current, incoming);
        if merged == current {
            return false;
        }
        self.data.versions.insert(key.to_owned(), merged);
        self.observe_state(ctx);
        true
    }

    fn eventual_write(&mut self, ctx: &mut Ctx<'_, CapProtocol>, key: &str, value: String) {
        let n = self.n();
        let current = self.data.versions.get(key).cloned().unwrap_or_default();
        let mut vclock = current.iter().fold(vec![0; n], |acc, v| join(&acc, &v.vclock));
        vclock[self.index] += 1;
        let stamp = (ctx.now().as_micros(), u32::try_from(self.index).unwrap_or(u32::MAX));
        let version = Versioned { vclock, value, stamp };
        self.merge_key(ctx, key, std::slice::from_ref(&version));
        let versions = self.data.versions.get(key).cloned().unwrap_or_default();
        for r in self.others(ctx.me()) {
            ctx.send(r, CapMsg::Replicate { key: key.to_owned(), versions: versions.clone(), ack: true });
            self.data.hints.entry(r.0).or_default().insert(key.to_owned());
        }
    }

    fn on_read_state(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64, from: NodeId, versions: Vec<Versioned>) {
        let r = self.config.read_quorum;
        let Some(op) = self.ops.get_mut(&rid) else { return };
        let Phase::ReadState { replies } = &mut op.phase else { return };
        replies.insert(from, versions);
        if replies.len() >= r {
            self.finish_eventual_read(ctx, rid);
        }
    }

    /// Answers an eventual read with what arrived (at least this replica's own state) and
    /// repairs the replicas that answered with less.
    fn finish_eventual_read(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64) {
        let Some(op) = self.ops.get(&rid) else { return };
        let Phase::ReadState { replies } = &op.phase else { return };
        let replies = replies.clone();
        let key = op.op.key().to_owned();
        let merged = replies.values().fold(Vec::new(), |acc, v| self.merge(ctx, &acc, v));
        self.merge_key(ctx, &key, &merged);
        for (from, versions) in &replies {
            if *from != ctx.me() && *versions != merged {
                ctx.send(*from, CapMsg::Replicate { key: key.clone(), versions: merged.clone(), ack: false });
            }
        }
        let mut values: Vec<String> = merged.into_iter().map(|v| v.value).collect();
        values.sort();
        self.finish(ctx, rid, OpResult::Values { values });
    }

    /// Serves a causal request once this replica has applied everything the session has seen.
    fn causal_serve(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64) {
        let Some(op) = self.ops.get(&rid) else { return };
        if !covers(&self.data.applied, &op.session) {
            return; // waits for catch-up (or its timeout)
        }
        let op = op.op.clone();
        let result = match op {
            ClientOp::Get { key } => OpResult::Value { value: self.data.causal.get(&key).map(|(_, _, v)| v.clone()) },
            ClientOp::Cas { key, expected, value } => {
                let here = self.data.causal.get(&key).map(|(_, _, v)| v.clone());
                if here != expected {
                    return self.finish(ctx, rid, OpResult::Swapped { ok: false });
                }
                self.causal_write(ctx, key, value);
                OpResult::Swapped { ok: true }
            }
            ClientOp::Put { key, value } => {
                self.causal_write(ctx, key, value);
                OpResult::Ok
            }
        };
        self.finish(ctx, rid, result);
    }

    /// A new causal write at this replica: applied here, then sent to every other.
    fn causal_write(&mut self, ctx: &mut Ctx<'_, CapProtocol>, key: String, value: String) {
        {
            {
                let seq = self.data.applied[self.index] + 1;
                let lamport = self.data.log.iter().map(|w| w.lamport).max().unwrap_or(0) + 1;
                let write =
                    CausalWrite { origin: self.index, seq, deps: self.data.applied.clone(), key, value, lamport };
                self.apply_causal(ctx, write.clone());
                for r in self.others(ctx.me()) {
                    ctx.send(r, CapMsg::Causal { writes: vec![write.clone()] });
                }
            }
        }
    }

    fn apply_causal(&mut self, ctx: &mut Ctx<'_, CapProtocol>, w: CausalWrite) {
        self.data.applied[w.origin] = w.seq;
        let wins = self.data.causal.get(&w.key).is_none_or(|(l, o, _)| (w.lamport, w.origin) > (*l, *o));
        if wins {
            self.data.causal.insert(w.key.clone(), (w.lamport, w.origin, w.value.clone()));
        }
        self.data.log.push(w);
        if wins {
            self.observe_state(ctx);
        }
    }

    /// Applies every pending causal write whose dependencies are now met, then serves the
    /// requests that were waiting for them.
    fn deliver_causal(&mut self, ctx: &mut Ctx<'_, CapProtocol>, incoming: Vec<CausalWrite>) {
        for w in incoming {
            if w.origin < self.n() && w.seq > self.data.applied[w.origin] && !self.pending.contains(&w) {
                self.pending.push(w);
            }
        }
        loop {
            let ready = self.pending.iter().position(|w| {
                self.data.applied[w.origin] + 1 == w.seq
                    && w.deps.iter().enumerate().all(|(j, d)| j == w.origin || self.data.applied[j] >= *d)
            });
            let Some(i) = ready else { break };
            let w = self.pending.remove(i);
            self.apply_causal(ctx, w);
        }
        self.pending.retain(|w| w.seq > self.data.applied[w.origin]);
        let waiting: Vec<u64> =
            self.ops.iter().filter(|(_, o)| matches!(o.phase, Phase::CatchUp)).map(|(r, _)| *r).collect();
        for rid in waiting {
            self.causal_serve(ctx, rid);
        }
    }

    fn anti_entropy(&mut self, ctx: &mut Ctx<'_, CapProtocol>) {
        let others = self.others(ctx.me());
        match self.config.consistency {
            Consistency::Eventual => {
                for (peer, keys) in self.data.hints.clone() {
                    for key in keys {
                        let versions = self.data.versions.get(&key).cloned().unwrap_or_default();
                        ctx.send(NodeId(peer), CapMsg::Replicate { key, versions, ack: true });
                    }
                }
                if let Some(peer) = ctx.rng().pick(&others).copied() {
                    ctx.send(peer, CapMsg::Gossip { state: self.data.versions.clone() });
                }
            }
            Consistency::Causal => {
                if let Some(peer) = ctx.rng().pick(&others).copied() {
                    ctx.send(peer, CapMsg::CausalSync { applied: self.data.applied.clone() });
                }
            }
            Consistency::Strong | Consistency::Quorum => return,
        }
        ctx.set_timer(ANTI_ENTROPY, self.config.anti_entropy);
    }
}

/// `a` is causally after `b`: at least as large everywhere, larger somewhere.
fn dominates(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x >= y) && a != b
}

fn join(a: &[u64], b: &[u64]) -> Vec<u64> {
    (0..a.len().max(b.len())).map(|i| a.get(i).copied().unwrap_or(0).max(b.get(i).copied().unwrap_or(0))).collect()
}

/// Every entry of `have` is at least the one of `need`.
fn covers(have: &[u64], need: &[u64]) -> bool {
    need.iter().enumerate().all(|(i, n)| have.get(i).copied().unwrap_or(0) >= *n)
}

impl Actor<CapProtocol> for Replica {
    type Durable = ReplicaData;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CapProtocol>) {
        self.observe_state(ctx);
        if matches!(self.config.consistency, Consistency::Eventual | Consistency::Causal) {
            ctx.set_timer(ANTI_ENTROPY, self.config.anti_entropy);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CapProtocol>, from: NodeId, msg: CapMsg) {
        match msg {
            CapMsg::Request { req, op, session } => {
                if !self.is_repeat(ctx, from, req) {
                    self.start(ctx, from, req, op, session);
                }
            }
            CapMsg::Query { rid, key } => {
                ctx.send(from, CapMsg::QueryReply { rid, version: self.data.registers.get(&key).cloned() });
            }
            CapMsg::QueryReply { rid, version } => self.on_query_reply(ctx, rid, from, version),
            CapMsg::Store { rid, key, stamp, value } => {
                self.store_register(ctx, &key, stamp, value);
                ctx.send(from, CapMsg::StoreAck { rid });
            }
            CapMsg::StoreAck { rid } => self.on_store_ack(ctx, rid, from),
            CapMsg::Replicate { key, versions, ack } => {
                self.merge_key(ctx, &key, &versions);
                if ack {
                    let vclocks = self
                        .data
                        .versions
                        .get(&key)
                        .map(|vs| vs.iter().map(|v| v.vclock.clone()).collect())
                        .unwrap_or_default();
                    ctx.send(from, CapMsg::ReplicateAck { key, vclocks });
                }
            }
            CapMsg::ReplicateAck { key, vclocks } => {
                let ours = self.data.versions.get(&key).cloned().unwrap_or_default();
                let covered = ours.iter().all(|v| vclocks.iter().any(|c| c == &v.vclock || dominates(c, &v.vclock)));
                if let Some(keys) = self.data.hints.get_mut(&from.0).filter(|_| covered) {
                    keys.remove(&key);
                    if keys.is_empty() {
                        self.data.hints.remove(&from.0);
                    }
                }
            }
            CapMsg::ReadState { rid, key } => {
                let versions = self.data.versions.get(&key).cloned().unwrap_or_default();
                ctx.send(from, CapMsg::ReadStateReply { rid, versions });
            }
            CapMsg::ReadStateReply { rid, versions } => self.on_read_state(ctx, rid, from, versions),
            CapMsg::Gossip { state } => {
                for (key, versions) in state {
                    self.merge_key(ctx, &key, &versions);
                }
            }
            CapMsg::Causal { writes } => self.deliver_causal(ctx, writes),
            CapMsg::CausalSync { applied } => {
                let missing: Vec<CausalWrite> = self
                    .data
                    .log
                    .iter()
                    .filter(|w| applied.get(w.origin).is_some_and(|a| w.seq > *a))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    ctx.send(from, CapMsg::Causal { writes: missing });
                }
            }
            CapMsg::Response { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CapProtocol>, timer: TimerId) {
        if timer == ANTI_ENTROPY {
            return self.anti_entropy(ctx);
        }
        if timer == RETRANSMIT {
            return self.retransmit(ctx);
        }
        let rid = timer.0.saturating_sub(OP_TIMER);
        match self.ops.get(&rid).map(|o| &o.phase) {
            Some(Phase::ReadState { .. }) => self.finish_eventual_read(ctx, rid), // available: answer with what arrived
            Some(Phase::Query { .. } | Phase::CatchUp) => self.finish(ctx, rid, OpResult::Rejected),
            Some(Phase::Store { .. }) => self.finish(ctx, rid, OpResult::Unavailable),
            None => {}
        }
    }

    fn durable(&self) -> ReplicaData {
        self.data.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        let data = match self.config.consistency {
            Consistency::Strong | Consistency::Quorum => serde_json::to_value(
                self.data.registers.iter().map(|(k, (s, v))| (k.clone(), serde_json::json!({ "value": v, "version": [s.counter, s.node, s.write] }))).collect::<BTreeMap<_, _>>(),
            ),
            Consistency::Eventual => serde_json::to_value(
                self.data.versions.iter().map(|(k, vs)| (k.clone(), serde_json::json!({ "values": vs.iter().map(|v| &v.value).collect::<Vec<_>>(), "vclocks": vs.iter().map(|v| &v.vclock).collect::<Vec<_>>() }))).collect::<BTreeMap<_, _>>(),
            ),
            Consistency::Causal => serde_json::to_value(
                self.data.causal.iter().map(|(k, (l, o, v))| (k.clone(), serde_json::json!({ "value": v, "version": [l, o] }))).collect::<BTreeMap<_, _>>(),
            ),
        }
        .unwrap_or_default();
        serde_json::json!({ "data": data, "coordinating": self.ops.len(), "applied": self.data.applied, "hints": self.data.hints.values().map(BTreeSet::len).sum::<usize>() })
    }
}

/// A client's workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The replica it asks first; after a timeout it moves on to the next.
    pub home: usize,
    pub keys: Vec<String>,
    /// Mean time between operations (drawn from half to one and a half of it).
    pub interval: SimDuration,
    pub write_percent: u32,
    /// Of the writes, the share that are compare-and-set (expecting what the client last read).
    pub cas_percent: u32,
    /// How long it waits for an answer before calling the outcome unknown.
    pub timeout: SimDuration,
    /// Resends the same request (the coordinator answers it once) this often meanwhile.
    pub retry: SimDuration,
    /// No new operation from this time on (a quiet end, to watch the replicas converge).
    pub stop_at: SimTime,
}

const NEXT_OP: TimerId = TimerId(1);
const GIVE_UP: TimerId = TimerId(2);
const RETRY: TimerId = TimerId(3);

#[derive(Debug)]
pub struct CapClient {
    store: CapConfig,
    config: ClientConfig,
    replica: usize,
    next_req: u64,
    outstanding: Option<(u64, ClientOp)>,
    /// Causal: the session vector (everything this client has seen or written).
    session: Vec<u64>,
    /// What this client last read of each key: what its compare-and-sets expect.
    last_read: BTreeMap<String, Option<String>>,
}

impl CapClient {
    pub fn new(store: CapConfig, config: ClientConfig) -> Self {
        let replica = config.home;
        CapClient {
            store,
            config,
            replica,
            next_req: 0,
            outstanding: None,
            session: Vec::new(),
            last_read: BTreeMap::new(),
        }
    }

    fn replica_node(&self) -> NodeId {
        self.store.replicas[self.replica % self.store.replicas.len()]
    }

    fn schedule(&self, ctx: &mut Ctx<'_, CapProtocol>) {
        let mean = self.config.interval.as_micros().max(2);
        let after = ctx.rng().between(mean / 2, mean * 3 / 2);
        ctx.set_timer(NEXT_OP, SimDuration::from_micros(after));
    }
}

impl Actor<CapProtocol> for CapClient {
    type Durable = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, CapProtocol>) {
        self.schedule(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CapProtocol>, _from: NodeId, msg: CapMsg) {
        let CapMsg::Response { req, result, session } = msg else { return };
        if self.outstanding.as_ref().is_none_or(|(r, _)| *r != req) {
            return; // an answer after we gave up: the outcome stays unknown
        }
        let op = self.outstanding.take().map(|(_, op)| op);
        ctx.cancel_timer(GIVE_UP);
        ctx.cancel_timer(RETRY);
        if !matches!(result, OpResult::Unavailable | OpResult::Rejected) {
            self.session = join(&self.session, &session);
        }
        if let (Some(ClientOp::Get { key }), OpResult::Value { value }) = (op, &result) {
            self.last_read.insert(key, value.clone());
        }
        ctx.observe(CapObs::Completed { req, result });
        self.schedule(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CapProtocol>, timer: TimerId) {
        match timer {
            NEXT_OP if ctx.now() >= self.config.stop_at => {}
            NEXT_OP => {
                let key = ctx.rng().pick(&self.config.keys).cloned().unwrap_or_default();
                let req = self.next_req;
                self.next_req += 1;
                let write = ctx.rng().below(100) < u64::from(self.config.write_percent);
                // No draw without compare-and-set, so that such runs keep their workloads.
                let cas =
                    write && self.config.cas_percent > 0 && ctx.rng().below(100) < u64::from(self.config.cas_percent);
                let value = format!("{}.{req}", ctx.me());
                let op = match (write, cas) {
                    (true, true) => ClientOp::Cas { expected: self.last_read.get(&key).cloned().flatten(), key, value },
                    (true, false) => ClientOp::Put { key, value },
                    _ => ClientOp::Get { key },
                };
                let replica = self.replica_node();
                ctx.observe(CapObs::Invoked { req, op: op.clone(), replica });
                ctx.send(replica, CapMsg::Request { req, op: op.clone(), session: self.session.clone() });
                self.outstanding = Some((req, op));
                ctx.set_timer(GIVE_UP, self.config.timeout);
                ctx.set_timer(RETRY, self.config.retry);
            }
            RETRY => {
                if let Some((req, op)) = self.outstanding.clone() {
                    ctx.send(self.replica_node(), CapMsg::Request { req, op, session: self.session.clone() });
                    ctx.set_timer(RETRY, self.config.retry);
                }
            }
            GIVE_UP => {
                if let Some((req, _)) = self.outstanding.take() {
                    ctx.cancel_timer(RETRY);
                    ctx.observe(CapObs::TimedOut { req });
                    self.replica += 1;
                    self.schedule(ctx);
                }
            }
            _ => {}
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "replica": self.replica_node(), "outstanding": self.outstanding.as_ref().map(|(r, _)| r), "session": self.session })
    }
}
