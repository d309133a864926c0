//! Open-loop clients (46.4): requests arrive as a Poisson process at a fixed rate whatever the
//! answers do (a slow backend does not slow the arrivals down, as it does in a closed loop), and
//! each carries a key drawn from a Zipf distribution, so that hot keys, and the algorithms that
//! stick a key to a backend, show their cost. Several balancers are used in turn.

use std::collections::BTreeMap;

use super::{LbMsg, LbObs, LbProtocol};
use crate::actor::{Actor, Ctx, NodeId};
use crate::cache::workload::Zipf;
use crate::sim::SimDuration;

crate::timers! {
    /// The client's timer.
    pub enum ClientTimer {
        /// The next request arrives.
        Arrive = 0,
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    balancers: Vec<NodeId>,
    /// Requests a second.
    rate: u64,
    /// No request arrives at or after this moment of its clock (µs).
    until_us: u64,
    keys: Zipf,
    sent: u64,
    /// When each unanswered request went out (µs).
    waiting: BTreeMap<u64, u64>,
}

impl Client {
    /// `rate` requests a second over `keys` keys drawn Zipf with exponent `zipf_s`, until `until`.
    pub fn new(balancers: Vec<NodeId>, rate: u64, until: SimDuration, keys: u64, zipf_s: f64) -> Self {
        Client {
            balancers,
            rate,
            until_us: until.as_micros(),
            keys: Zipf::new(keys.max(1), zipf_s),
            sent: 0,
            waiting: BTreeMap::new(),
        }
    }

    /// An exponential gap with mean 1/rate, by inverse transform (`libm`, so every target draws
    /// the same gaps).
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a positive gap in µs, far below 2^53")]
    fn gap(&self, ctx: &mut Ctx<'_, LbProtocol>) -> SimDuration {
        let u = (ctx.rng().below(1 << 53) as f64 + 1.0) / (1u64 << 53) as f64;
        let mean_us = 1e6 / self.rate.max(1) as f64;
        SimDuration::from_micros((-libm::log(u) * mean_us) as u64)
    }
}

impl Actor<LbProtocol> for Client {
    type Durable = ();
    type Timer = ClientTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LbProtocol>) {
        let gap = self.gap(ctx);
        ctx.set_timer(ClientTimer::Arrive, gap);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LbProtocol>, _from: NodeId, msg: LbMsg) {
        if let LbMsg::Answer { id, ok } = msg
            && let Some(sent) = self.waiting.remove(&id)
        {
            let latency_us = ctx.now().as_micros().saturating_sub(sent);
            ctx.observe(LbObs::Answered { id, ok, latency_us });
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LbProtocol>, _timer: ClientTimer) {
        if ctx.now().as_micros() >= self.until_us || self.balancers.is_empty() {
            return;
        }
        self.sent += 1;
        let id = self.sent;
        let key = format!("key-{}", self.keys.sample(ctx.rng()));
        let to = self.balancers[usize::try_from(id).unwrap_or(0) % self.balancers.len()];
        self.waiting.insert(id, ctx.now().as_micros());
        ctx.send(to, LbMsg::Request { id, key });
        let gap = self.gap(ctx);
        ctx.set_timer(ClientTimer::Arrive, gap);
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "sent": self.sent, "waiting": self.waiting.len() })
    }
}
