//! The replica core that every consistency level shares: tracking the requests it coordinates,
//! their deadlines and retransmission to silent replicas, answering a retried request once, and
//! the actor itself, which hands each message to its level's protocol.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{CapConfig, CapMsg, CapObs, CapProtocol, CausalWrite, ClientOp, Consistency, OpResult, Stamp, Versioned};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::sim::SimDuration;

/// A replica's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaTimer {
    /// Eventual and causal: the next push of state (or of what was applied) to a random peer.
    AntiEntropy,
    /// Resend every request in flight to the replicas that have not answered it.
    Retransmit,
    /// The deadline of the request this replica coordinates under that id.
    Op(u64),
}

/// Request deadlines are numbered from here, above the other timers.
const OP_TIMER_BASE: u64 = 1_000;

impl Timer for ReplicaTimer {
    fn id(self) -> TimerId {
        match self {
            ReplicaTimer::AntiEntropy => TimerId(1),
            ReplicaTimer::Retransmit => TimerId(2),
            ReplicaTimer::Op(rid) => TimerId(OP_TIMER_BASE + rid),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        match id.0 {
            1 => Some(ReplicaTimer::AntiEntropy),
            2 => Some(ReplicaTimer::Retransmit),
            n if n >= OP_TIMER_BASE => Some(ReplicaTimer::Op(n - OP_TIMER_BASE)),
            _ => None,
        }
    }
}

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

/// A client's request as its coordinator received it: who asked, the client's request number,
/// the operation and (causal) the client's session vector.
#[derive(Clone, Debug)]
pub(super) struct Request {
    pub(super) client: NodeId,
    pub(super) req: u64,
    pub(super) op: ClientOp,
    pub(super) session: Vec<u64>,
}

/// A request a coordinator is working on, and how far it got.
#[derive(Clone, Debug)]
pub(super) struct Coordinating {
    pub(super) request: Request,
    pub(super) phase: Phase,
}

#[derive(Clone, Debug)]
pub(super) enum Phase {
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

#[derive(Clone, Debug)]
pub struct Replica {
    pub(super) config: CapConfig,
    pub(super) index: usize,
    pub(super) data: ReplicaData,
    pub(super) ops: BTreeMap<u64, Coordinating>,
    next_rid: u64,
    /// Causal writes received before their dependencies.
    pub(super) pending: Vec<CausalWrite>,
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

    pub(super) fn n(&self) -> usize {
        self.config.replicas.len()
    }

    pub(super) fn others(&self, me: NodeId) -> Vec<NodeId> {
        self.config.replicas.iter().copied().filter(|r| *r != me).collect()
    }

    pub(super) fn observe_state(&self, ctx: &mut Ctx<'_, CapProtocol>) {
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

    pub(super) fn respond(&self, ctx: &mut Ctx<'_, CapProtocol>, client: NodeId, req: u64, result: OpResult) {
        let session =
            if self.config.consistency == Consistency::Causal { self.data.applied.clone() } else { Vec::new() };
        ctx.send(client, CapMsg::Response { req, result, session });
    }

    pub(super) fn finish(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64, result: OpResult) {
        if let Some(op) = self.ops.remove(&rid) {
            ctx.cancel_timer(ReplicaTimer::Op(rid));
            self.answer(ctx, op.request.client, op.request.req, result);
        }
    }

    /// Answers a client's request, remembering the answer for its retries.
    pub(super) fn answer(&mut self, ctx: &mut Ctx<'_, CapProtocol>, client: NodeId, req: u64, result: OpResult) {
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
            None if self.ops.values().any(|o| o.request.client == client && o.request.req == req) => {}
            None => self.respond(ctx, client, req, OpResult::Unavailable),
        }
        true
    }

    /// Resends each request in flight to the replicas that have not answered it yet, so that a
    /// lost message costs a retransmission rather than the operation.
    fn retransmit(&self, ctx: &mut Ctx<'_, CapProtocol>) {
        let me = ctx.me();
        for (&rid, op) in &self.ops {
            let key = op.request.op.key().to_owned();
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
            ctx.set_timer(ReplicaTimer::Retransmit, self.retransmit_every());
        }
    }

    fn retransmit_every(&self) -> SimDuration {
        SimDuration::from_micros((self.config.timeout.as_micros() / 4).max(1))
    }

    /// Starts a client's request the way this replica's level does it.
    fn start(&mut self, ctx: &mut Ctx<'_, CapProtocol>, request: Request) {
        match self.config.consistency {
            Consistency::Strong | Consistency::Quorum => self.start_abd(ctx, request),
            Consistency::Eventual => self.start_eventual(ctx, request),
            Consistency::Causal => {
                let rid = self.track(ctx, request, Phase::CatchUp);
                self.causal_serve(ctx, rid);
            }
        }
    }

    /// Starts coordinating `request` in `phase`: a fresh id, its deadline, retransmission on.
    pub(super) fn track(&mut self, ctx: &mut Ctx<'_, CapProtocol>, request: Request, phase: Phase) -> u64 {
        let rid = self.next_rid;
        self.next_rid += 1;
        if self.ops.is_empty() {
            ctx.set_timer(ReplicaTimer::Retransmit, self.retransmit_every());
        }
        self.ops.insert(rid, Coordinating { request, phase });
        ctx.set_timer(ReplicaTimer::Op(rid), self.config.timeout);
        rid
    }

    fn anti_entropy(&mut self, ctx: &mut Ctx<'_, CapProtocol>) {
        let others = self.others(ctx.me());
        match self.config.consistency {
            Consistency::Eventual => self.eventual_anti_entropy(ctx, &others),
            Consistency::Causal => self.causal_anti_entropy(ctx, &others),
            Consistency::Strong | Consistency::Quorum => return,
        }
        ctx.set_timer(ReplicaTimer::AntiEntropy, self.config.anti_entropy);
    }
}

impl Actor<CapProtocol> for Replica {
    type Durable = ReplicaData;
    type Timer = ReplicaTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CapProtocol>) {
        self.observe_state(ctx);
        if matches!(self.config.consistency, Consistency::Eventual | Consistency::Causal) {
            ctx.set_timer(ReplicaTimer::AntiEntropy, self.config.anti_entropy);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CapProtocol>, from: NodeId, msg: CapMsg) {
        match msg {
            CapMsg::Request { req, op, session } => {
                if !self.is_repeat(ctx, from, req) {
                    self.start(ctx, Request { client: from, req, op, session });
                }
            }
            CapMsg::Query { rid, key } => self.on_query(ctx, from, rid, &key),
            CapMsg::QueryReply { rid, version } => self.on_query_reply(ctx, rid, from, version),
            CapMsg::Store { rid, key, stamp, value } => self.on_store(ctx, from, rid, &key, stamp, value),
            CapMsg::StoreAck { rid } => self.on_store_ack(ctx, rid, from),
            CapMsg::Replicate { key, versions, ack } => self.on_replicate(ctx, from, key, &versions, ack),
            CapMsg::ReplicateAck { key, vclocks } => self.on_replicate_ack(from, &key, &vclocks),
            CapMsg::ReadState { rid, key } => self.on_read_state_request(ctx, from, rid, &key),
            CapMsg::ReadStateReply { rid, versions } => self.on_read_state(ctx, rid, from, versions),
            CapMsg::Gossip { state } => self.on_gossip(ctx, state),
            CapMsg::Causal { writes } => self.deliver_causal(ctx, writes),
            CapMsg::CausalSync { applied } => self.on_causal_sync(ctx, from, &applied),
            CapMsg::Response { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CapProtocol>, timer: ReplicaTimer) {
        let rid = match timer {
            ReplicaTimer::AntiEntropy => return self.anti_entropy(ctx),
            ReplicaTimer::Retransmit => return self.retransmit(ctx),
            ReplicaTimer::Op(rid) => rid,
        };
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
