//! The dependency (a database, another service): a number of queries it serves at once, a queue
//! behind them and a latency range. Its troubles are the simulator's faults, scheduled or
//! clicked: `Fault::Slow` stretches every service time (a slow disk, a noisy neighbour), so its
//! queue grows while it still answers; `Fault::Crash` silences it until `Restart`. A slow
//! dependency is the start of the cascading failure (its callers' workers wait on it), an outage
//! the start of the retry storm.

use serde::{Deserialize, Serialize};

use super::{HaMsg, HaObs, HaProtocol};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::sim::{Ratio, SimDuration};
use crate::workers::{Offered, Workers};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyConfig {
    /// Service time drawn uniformly from this range (µs).
    pub latency_min_us: u64,
    pub latency_max_us: u64,
    /// Queries served at once; at most `queue_max` more wait, beyond that it answers an error.
    pub capacity: u32,
    pub queue_max: u32,
    /// This share of queries ends in an error.
    pub fail: Ratio,
}

/// The end of one query's service: its number in the workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served(u64);

impl Timer for Served {
    fn id(self) -> TimerId {
        TimerId(self.0)
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(Served(id.0))
    }
}

#[derive(Clone, Debug)]
pub struct Dependency {
    cfg: DependencyConfig,
    /// Who asked, and their number there.
    workers: Workers<(NodeId, u64)>,
    served: u64,
    refused: u64,
}

impl Dependency {
    pub fn new(cfg: DependencyConfig) -> Self {
        Dependency { workers: Workers::new(cfg.capacity, cfg.queue_max), cfg, served: 0, refused: 0 }
    }

    fn start(&mut self, ctx: &mut Ctx<'_, HaProtocol>, number: u64) {
        let us = ctx.rng().between(self.cfg.latency_min_us, self.cfg.latency_max_us);
        ctx.set_timer(Served(number), SimDuration::from_micros(us));
    }
}

impl Actor<HaProtocol> for Dependency {
    type Durable = ();
    type Timer = Served;

    fn on_start(&mut self, ctx: &mut Ctx<'_, HaProtocol>) {
        ctx.observe(HaObs::Started);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, HaProtocol>, from: NodeId, msg: HaMsg) {
        let HaMsg::Query { id } = msg else { return };
        match self.workers.offer((from, id)) {
            Offered::Started(number) => self.start(ctx, number),
            Offered::Queued => {}
            Offered::Full(_) => {
                self.refused += 1;
                ctx.send(from, HaMsg::Result { id, ok: false });
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, HaProtocol>, timer: Served) {
        let Some(((to, id), next)) = self.workers.done(timer.0) else { return };
        self.served += 1;
        let ok = !ctx.rng().chance(self.cfg.fail);
        ctx.send(to, HaMsg::Result { id, ok });
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
