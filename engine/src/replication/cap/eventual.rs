//! The eventual level (46.1, AP, BASE): a coordinator answers from what it can reach, at worst
//! itself. Versions carry vector clocks; concurrent writes become siblings, or with `lww` the
//! newest timestamp wins and the other write is lost (and counted). Writes go to every replica
//! and are retried until acknowledged (hinted handoff); reads repair the replicas they asked;
//! anti-entropy pushes whole states to a random peer.

use std::collections::BTreeMap;

use super::replica::{Phase, Replica, Request};
use super::{CapMsg, CapObs, CapProtocol, ClientOp, OpResult, Versioned, dominates, join};
use crate::actor::{Ctx, NodeId};

impl Replica {
    /// Starts a client's request: writes answer at once, reads ask R replicas.
    pub(super) fn start_eventual(&mut self, ctx: &mut Ctx<'_, CapProtocol>, request: Request) {
        let Request { client, req, op, session } = request;
        match op {
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
                let get = Request { client, req, op: ClientOp::Get { key: key.clone() }, session };
                let rid = self.track(ctx, get, Phase::ReadState { replies: BTreeMap::new() });
                if self.config.read_quorum > 1 {
                    for r in self.others(ctx.me()) {
                        ctx.send(r, CapMsg::ReadState { rid, key: key.clone() });
                    }
                }
                let local = self.data.versions.get(&key).cloned().unwrap_or_default();
                let me = ctx.me();
                self.on_read_state(ctx, rid, me, local);
            }
        }
    }

    /// Merges `incoming` into `current`: drops every version another dominates; with LWW keeps
    /// only the newest stamp, and reports the concurrent writes it drops.
    pub(super) fn merge(
        &self,
        ctx: &mut Ctx<'_, CapProtocol>,
        current: &[Versioned],
        incoming: &[Versioned],
    ) -> Vec<Versioned> {
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

    pub(super) fn merge_key(&mut self, ctx: &mut Ctx<'_, CapProtocol>, key: &str, incoming: &[Versioned]) -> bool {
        let current = self.data.versions.get(key).cloned().unwrap_or_default();
        let merged = self.merge(ctx, &current, incoming);
        if merged == current {
            return false;
        }
        self.data.versions.insert(key.to_owned(), merged);
        self.observe_state(ctx);
        true
    }

    pub(super) fn eventual_write(&mut self, ctx: &mut Ctx<'_, CapProtocol>, key: &str, value: String) {
        let n = self.n();
        let current = self.data.versions.get(key).cloned().unwrap_or_default();
        let mut vclock = current.iter().fold(vec![0; n], |acc, v| join(&acc, &v.vclock));
        vclock[self.index] += 1;
        let stamp = (ctx.now().as_micros(), u32::try_from(self.index).expect("at most 7 replicas"));
        let version = Versioned { vclock, value, stamp };
        self.merge_key(ctx, key, std::slice::from_ref(&version));
        let versions = self.data.versions.get(key).cloned().unwrap_or_default();
        for r in self.others(ctx.me()) {
            ctx.send(r, CapMsg::Replicate { key: key.to_owned(), versions: versions.clone(), ack: true });
            self.data.hints.entry(r.0).or_default().insert(key.to_owned());
        }
    }

    pub(super) fn on_read_state(
        &mut self,
        ctx: &mut Ctx<'_, CapProtocol>,
        rid: u64,
        from: NodeId,
        versions: Vec<Versioned>,
    ) {
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
    pub(super) fn finish_eventual_read(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64) {
        let Some(op) = self.ops.get(&rid) else { return };
        let Phase::ReadState { replies } = &op.phase else { return };
        let replies = replies.clone();
        let key = op.request.op.key().to_owned();
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

    /// Versions of `key` from a write, a repair or a hint: merged, and acknowledged when asked.
    pub(super) fn on_replicate(
        &mut self,
        ctx: &mut Ctx<'_, CapProtocol>,
        from: NodeId,
        key: String,
        versions: &[Versioned],
        ack: bool,
    ) {
        self.merge_key(ctx, &key, versions);
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

    /// A peer's vector clocks for `key`: the hint is settled once they cover what this replica has.
    pub(super) fn on_replicate_ack(&mut self, from: NodeId, key: &str, vclocks: &[Vec<u64>]) {
        let ours = self.data.versions.get(key).cloned().unwrap_or_default();
        let covered = ours.iter().all(|v| vclocks.iter().any(|c| c == &v.vclock || dominates(c, &v.vclock)));
        if let Some(keys) = self.data.hints.get_mut(&from.0).filter(|_| covered) {
            keys.remove(key);
            if keys.is_empty() {
                self.data.hints.remove(&from.0);
            }
        }
    }

    /// A coordinator's read: this replica's versions of `key`.
    pub(super) fn on_read_state_request(&mut self, ctx: &mut Ctx<'_, CapProtocol>, from: NodeId, rid: u64, key: &str) {
        let versions = self.data.versions.get(key).cloned().unwrap_or_default();
        ctx.send(from, CapMsg::ReadStateReply { rid, versions });
    }

    /// A peer's whole state, merged key by key.
    pub(super) fn on_gossip(&mut self, ctx: &mut Ctx<'_, CapProtocol>, state: BTreeMap<String, Vec<Versioned>>) {
        for (key, versions) in state {
            self.merge_key(ctx, &key, &versions);
        }
    }

    /// Hinted handoff of every unacknowledged key, then the whole state to a random peer.
    pub(super) fn eventual_anti_entropy(&mut self, ctx: &mut Ctx<'_, CapProtocol>, others: &[NodeId]) {
        for (peer, keys) in self.data.hints.clone() {
            for key in keys {
                let versions = self.data.versions.get(&key).cloned().unwrap_or_default();
                ctx.send(NodeId(peer), CapMsg::Replicate { key, versions, ack: true });
            }
        }
        if let Some(peer) = ctx.rng().pick(others).copied() {
            ctx.send(peer, CapMsg::Gossip { state: self.data.versions.clone() });
        }
    }
}
