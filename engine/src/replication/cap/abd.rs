//! ABD (Attiya, Bar-Noy, Dolev), the register protocol behind `strong` (46.1, CP): a write asks
//! R replicas for the newest version, then stores (newest + 1, coordinator, request) on W; a read
//! asks R, takes the newest and writes it back to W before answering, so that no later read can
//! see an older value. Bare quorums (`quorum.rs`) run the same rounds without the write-back.

use std::collections::{BTreeMap, BTreeSet};

use super::replica::{Phase, Replica, Request};
use super::{CapMsg, CapProtocol, ClientOp, OpResult, Stamp, quorum};
use crate::actor::{Ctx, NodeId};

impl Replica {
    /// Starts a client's request with the query round.
    pub(super) fn start_abd(&mut self, ctx: &mut Ctx<'_, CapProtocol>, request: Request) {
        let key = request.op.key().to_owned();
        let rid = self.track(ctx, request, Phase::Query { replies: BTreeMap::new() });
        for r in self.others(ctx.me()) {
            ctx.send(r, CapMsg::Query { rid, key: key.clone() });
        }
        let local = self.data.registers.get(&key).cloned();
        let me = ctx.me();
        self.on_query_reply(ctx, rid, me, local);
    }

    /// Another coordinator's query: this replica's version of `key`.
    pub(super) fn on_query(&mut self, ctx: &mut Ctx<'_, CapProtocol>, from: NodeId, rid: u64, key: &str) {
        ctx.send(from, CapMsg::QueryReply { rid, version: self.data.registers.get(key).cloned() });
    }

    /// Another coordinator's store: kept if newer, acknowledged either way.
    pub(super) fn on_store(
        &mut self,
        ctx: &mut Ctx<'_, CapProtocol>,
        from: NodeId,
        rid: u64,
        key: &str,
        stamp: Stamp,
        value: String,
    ) {
        self.store_register(ctx, key, stamp, value);
        ctx.send(from, CapMsg::StoreAck { rid });
    }

    pub(super) fn on_query_reply(
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
        let node = u32::try_from(self.index).expect("at most 7 replicas");
        let fresh = Stamp { counter, node, write: rid };
        let (stamp, value, result) = match &op.request.op {
            ClientOp::Put { value, .. } => (fresh, value.clone(), OpResult::Ok),
            ClientOp::Cas { expected, value, .. } => {
                if newest.as_ref().map(|(_, v)| v) != expected.as_ref() {
                    return self.finish(ctx, rid, OpResult::Swapped { ok: false });
                }
                (fresh, value.clone(), OpResult::Swapped { ok: true })
            }
            ClientOp::Get { .. } => {
                let result = OpResult::Value { value: newest.as_ref().map(|(_, v)| v.clone()) };
                match &newest {
                    Some((stamp, value)) if quorum::read_writes_back(self.config.consistency) => {
                        (*stamp, value.clone(), result)
                    }
                    // Nothing to write back, or no write-back at all (bare quorums).
                    _ => return self.finish(ctx, rid, result),
                }
            }
        };
        let key = op.request.op.key().to_owned();
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

    pub(super) fn on_store_ack(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64, from: NodeId) {
        let w = self.config.write_quorum;
        let Some(op) = self.ops.get_mut(&rid) else { return };
        let Phase::Store { acked, result, .. } = &mut op.phase else { return };
        acked.insert(from);
        if acked.len() >= w {
            let result = result.clone();
            self.finish(ctx, rid, result);
        }
    }
}
