//! A backend server (46.4): a latency distribution with a selectable heavy tail, a number of
//! requests it serves at once and a bounded queue behind them (beyond it, it refuses with an
//! error at once, as an overloaded server answers 503), a share of error answers, and a health
//! endpoint that answers at once while the process lives. Slow-downs, crashes and recoveries are
//! the simulator's: `Fault::Slow` stretches every service time (the timers it sets) while probes
//! still answer at once, which is why a slow backend passes its health checks; a crashed backend
//! (`Fault::Crash`, then `Restart`) answers nothing, so its requests and probes time out at the
//! balancer.

use serde::{Deserialize, Serialize};

use super::{LbMsg, LbObs, LbProtocol};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::sim::{Ratio, SimDuration};
use crate::workers::{Offered, Workers};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackendConfig {
    /// Service time drawn uniformly from this range (µs)...
    pub latency_min_us: u64,
    pub latency_max_us: u64,
    /// ...and this share of requests takes `tail_factor` times as long (a heavy tail).
    pub tail: Ratio,
    pub tail_factor: u64,
    /// Requests served at once; more wait in a queue of at most `queue_max`.
    pub capacity: u32,
    pub queue_max: u32,
    /// This share of requests ends in an error answer.
    pub fail: Ratio,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            latency_min_us: 2_000,
            latency_max_us: 8_000,
            tail: Ratio::percent(1),
            tail_factor: 20,
            capacity: 8,
            queue_max: 64,
            fail: Ratio::percent(0),
        }
    }
}

/// The end of one request's service: its number in the workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finish(u64);

impl Timer for Finish {
    fn id(self) -> TimerId {
        TimerId(self.0)
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(Finish(id.0))
    }
}

#[derive(Clone, Debug)]
pub struct Backend {
    cfg: BackendConfig,
    /// Who asked, and their number there.
    workers: Workers<(NodeId, u64)>,
    served: u64,
    refused: u64,
}

impl Backend {
    pub fn new(cfg: BackendConfig) -> Self {
        Backend { workers: Workers::new(cfg.capacity, cfg.queue_max), cfg, served: 0, refused: 0 }
    }

    /// Job `number` started: its service time, with the heavy tail.
    fn start(&mut self, ctx: &mut Ctx<'_, LbProtocol>, number: u64) {
        let mut us = ctx.rng().between(self.cfg.latency_min_us, self.cfg.latency_max_us);
        if ctx.rng().chance(self.cfg.tail) {
            us = us.saturating_mul(self.cfg.tail_factor.max(1));
        }
        ctx.set_timer(Finish(number), SimDuration::from_micros(us));
    }
}

impl Actor<LbProtocol> for Backend {
    type Durable = ();
    type Timer = Finish;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LbProtocol>) {
        ctx.observe(LbObs::Started);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LbProtocol>, from: NodeId, msg: LbMsg) {
        match msg {
            LbMsg::Forward { id, .. } => match self.workers.offer((from, id)) {
                Offered::Started(number) => self.start(ctx, number),
                Offered::Queued => {}
                Offered::Full(_) => {
                    self.refused += 1;
                    ctx.send(from, LbMsg::Done { id, ok: false });
                }
            },
            LbMsg::Probe { seq } => ctx.send(from, LbMsg::ProbeOk { seq }),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LbProtocol>, timer: Finish) {
        let Some(((to, id), next)) = self.workers.done(timer.0) else { return };
        self.served += 1;
        let ok = !ctx.rng().chance(self.cfg.fail);
        ctx.send(to, LbMsg::Done { id, ok });
        if let Some(number) = next {
            self.start(ctx, number);
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "serving": self.workers.serving(),
            "queued": self.workers.queued(),
            "served": self.served,
            "refused": self.refused,
        })
    }
}
