//! The causal level (46.1): causal broadcast. Each write carries the vector of updates its
//! coordinator had applied, and a replica applies it only after those. A client's session vector
//! travels with its requests, and a replica answers only once it has caught up with it:
//! read-your-writes and monotonic reads hold even when the client changes replica.

use super::replica::{Phase, Replica};
use super::{CapMsg, CapProtocol, CausalWrite, ClientOp, OpResult, covers};
use crate::actor::{Ctx, NodeId};

impl Replica {
    /// Serves a causal request once this replica has applied everything the session has seen.
    pub(super) fn causal_serve(&mut self, ctx: &mut Ctx<'_, CapProtocol>, rid: u64) {
        let Some(op) = self.ops.get(&rid) else { return };
        if !covers(&self.data.applied, &op.request.session) {
            return; // waits for catch-up (or its timeout)
        }
        let op = op.request.op.clone();
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
    pub(super) fn causal_write(&mut self, ctx: &mut Ctx<'_, CapProtocol>, key: String, value: String) {
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

    pub(super) fn apply_causal(&mut self, ctx: &mut Ctx<'_, CapProtocol>, w: CausalWrite) {
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
    pub(super) fn deliver_causal(&mut self, ctx: &mut Ctx<'_, CapProtocol>, incoming: Vec<CausalWrite>) {
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

    /// A peer's applied vector: the writes it lacks, from this replica's log.
    pub(super) fn on_causal_sync(&mut self, ctx: &mut Ctx<'_, CapProtocol>, from: NodeId, applied: &[u64]) {
        let missing: Vec<CausalWrite> =
            self.data.log.iter().filter(|w| applied.get(w.origin).is_some_and(|a| w.seq > *a)).cloned().collect();
        if !missing.is_empty() {
            ctx.send(from, CapMsg::Causal { writes: missing });
        }
    }

    /// What this replica has applied, to a random peer, which sends back what is missing.
    pub(super) fn causal_anti_entropy(&mut self, ctx: &mut Ctx<'_, CapProtocol>, others: &[NodeId]) {
        if let Some(peer) = ctx.rng().pick(others).copied() {
            ctx.send(peer, CapMsg::CausalSync { applied: self.data.applied.clone() });
        }
    }
}
