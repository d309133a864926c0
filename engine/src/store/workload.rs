//! `KvClient`: a client that writes and reads back one key, over and over, one request at a time,
//! and reports each round trip's latency as it sees it on its own clock.
//!
//! It is the simplest pattern that crosses the actor/store boundary, so it is what the native
//! benchmark runs through the real-time driver to measure the driver's own cost against raw
//! Redis, and it runs unchanged in the simulator (where its latencies are the simulated network's).

use serde::{Deserialize, Serialize};

use super::{Cmd, Reply, StoreMsg};
use crate::actor::{Actor, Ctx, NoTimer, NodeId, Protocol};
use crate::sim::SimTime;

/// A world of `KvClient`s and stores.
#[derive(Debug)]
pub struct KvProtocol;

impl Protocol for KvProtocol {
    type Msg = StoreMsg;
    type Obs = KvDone;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvOp {
    Set,
    Get,
}

/// One completed request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvDone {
    pub op: KvOp,
    pub latency_us: u64,
    /// False when the reply was not the one Redis semantics promise (a store bug or a lost key).
    pub ok: bool,
}

/// Alternates `SET key v<n>` and `GET key`, checking that the read returns the write.
#[derive(Clone, Debug)]
pub struct KvClient {
    store: NodeId,
    key: String,
    next_req: u64,
    pending: Option<(u64, KvOp, SimTime)>,
    written: u64,
    completed: u64,
}

impl KvClient {
    pub fn new(store: NodeId, key: impl Into<String>) -> Self {
        KvClient { store, key: key.into(), next_req: 0, pending: None, written: 0, completed: 0 }
    }

    fn value(&self) -> String {
        format!("v{}", self.written)
    }

    fn issue(&mut self, ctx: &mut Ctx<'_, KvProtocol>, op: KvOp) {
        let cmd = match op {
            KvOp::Set => {
                self.written += 1;
                Cmd::Set { key: self.key.clone(), value: self.value(), condition: None, expiry: None, get: false }
            }
            KvOp::Get => Cmd::Get { key: self.key.clone() },
        };
        let req = self.next_req;
        self.next_req += 1;
        self.pending = Some((req, op, ctx.now()));
        ctx.send(self.store, StoreMsg::Request { req, cmd });
    }
}

impl Actor<KvProtocol> for KvClient {
    type Durable = ();
    type Timer = NoTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, KvProtocol>) {
        self.issue(ctx, KvOp::Set);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, KvProtocol>, _from: NodeId, msg: StoreMsg) {
        let StoreMsg::Reply { req, reply } = msg else {
            return;
        };
        let Some((pending, op, sent_at)) = self.pending else {
            return;
        };
        if req != pending {
            return; // a duplicate or a stale reply
        }
        let ok = match op {
            KvOp::Set => reply == Reply::ok(),
            KvOp::Get => reply == Reply::Bulk(self.value()),
        };
        self.completed += 1;
        let latency_us = ctx.now().saturating_since(sent_at).as_micros();
        ctx.observe(KvDone { op, latency_us, ok });
        self.issue(ctx, if op == KvOp::Set { KvOp::Get } else { KvOp::Set });
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, KvProtocol>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "key": self.key, "completed": self.completed, "written": self.written })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{LinkConfig, Sim, SimConfig};
    use crate::store::{StoreConfig, StoreNode};

    #[test]
    fn round_trips_at_the_networks_latency_and_reads_its_writes() {
        let mut config = SimConfig::new(1);
        config.default_link = LinkConfig { latency_min_us: 500, latency_max_us: 500, ..LinkConfig::default() };
        let mut sim = Sim::<KvProtocol>::new(config);
        let store = sim.add_node("redis", |d| StoreNode::new(StoreConfig::default(), d)).unwrap();
        for i in 0..3 {
            sim.add_node(format!("client{i}"), move |_| KvClient::new(store, format!("k{i}"))).unwrap();
        }
        sim.run_until(SimTime::from_millis(100)).unwrap();
        let done = sim.observations();
        assert_eq!(done.len(), 3 * 100, "1 ms per round trip, 100 ms, 3 clients");
        assert!(done.iter().all(|d| d.obs.ok && d.obs.latency_us == 1_000), "{:?}", &done[..3]);
        assert_eq!(done.iter().filter(|d| d.obs.op == KvOp::Get).count(), 150);
    }
}
