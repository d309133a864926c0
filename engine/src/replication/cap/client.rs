//! The store's clients: random reads, unique-valued writes and compare-and-sets expecting what
//! the client last read, a retry of the same request meanwhile, and after a timeout a move to the
//! next replica (failover) with the outcome reported unknown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CapConfig, CapMsg, CapObs, CapProtocol, ClientOp, OpResult, join};
use crate::actor::{Actor, Ctx, NodeId};
use crate::sim::{SimDuration, SimTime};

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

crate::timers! {
    /// A client's timers.
    pub enum ClientTimer {
        /// Time for the next operation.
        NextOp = 1,
        /// No answer in time: the outcome is unknown; move to the next replica.
        GiveUp = 2,
        /// Resend the request in flight (the coordinator answers it once).
        Retry = 3,
    }
}

#[derive(Clone, Debug)]
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
        ctx.set_timer(ClientTimer::NextOp, SimDuration::from_micros(after));
    }
}

impl Actor<CapProtocol> for CapClient {
    type Durable = ();
    type Timer = ClientTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CapProtocol>) {
        self.schedule(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CapProtocol>, _from: NodeId, msg: CapMsg) {
        let CapMsg::Response { req, result, session } = msg else { return };
        if self.outstanding.as_ref().is_none_or(|(r, _)| *r != req) {
            return; // an answer after we gave up: the outcome stays unknown
        }
        let op = self.outstanding.take().map(|(_, op)| op);
        ctx.cancel_timer(ClientTimer::GiveUp);
        ctx.cancel_timer(ClientTimer::Retry);
        if !matches!(result, OpResult::Unavailable | OpResult::Rejected) {
            self.session = join(&self.session, &session);
        }
        if let (Some(ClientOp::Get { key }), OpResult::Value { value }) = (op, &result) {
            self.last_read.insert(key, value.clone());
        }
        ctx.observe(CapObs::Completed { req, result });
        self.schedule(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CapProtocol>, timer: ClientTimer) {
        match timer {
            ClientTimer::NextOp if ctx.now() >= self.config.stop_at => {}
            ClientTimer::NextOp => {
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
                ctx.set_timer(ClientTimer::GiveUp, self.config.timeout);
                ctx.set_timer(ClientTimer::Retry, self.config.retry);
            }
            ClientTimer::Retry => {
                if let Some((req, op)) = self.outstanding.clone() {
                    ctx.send(self.replica_node(), CapMsg::Request { req, op, session: self.session.clone() });
                    ctx.set_timer(ClientTimer::Retry, self.config.retry);
                }
            }
            ClientTimer::GiveUp => {
                if let Some((req, _)) = self.outstanding.take() {
                    ctx.cancel_timer(ClientTimer::Retry);
                    ctx.observe(CapObs::TimedOut { req });
                    self.replica += 1;
                    self.schedule(ctx);
                }
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "replica": self.replica_node(), "outstanding": self.outstanding.as_ref().map(|(r, _)| r), "session": self.session })
    }
}
