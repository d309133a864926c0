//! Sagas on a real Redis (46.7.3): the engine's store-backed saga actors (`StoreOrchestrator`,
//! `OutboxRelay`, `EventConsumer`), unchanged, run by the real-time driver — for the `distlab
//! saga` command and for `distlab bench`'s `saga` patterns.
//!
//! The driver sends one actor's requests to a store one at a time, so the orders are split among
//! `workers` independent saga worlds, each with its own accounts, log and outbox under its own
//! hash tag (one Redis Cluster slot each), its own orchestrator, relay and consumer. Order numbers
//! are local to a worker; reports number them globally, worker after worker.

use std::collections::BTreeMap;

use distlab_engine::NodeId;
use distlab_engine::sim::Observed;
use distlab_engine::txn::saga_store::{
    EventConsumer, OutboxRelay, SagaAudit, SagaKeys, SagaPlan, SagaSnapshot, SagaStoreObs, SagaStoreProtocol,
    StoreOrchestrator,
};
use serde::Serialize;

use crate::backend::{Backend, BackendError};
use crate::driver::LiveWorld;

/// What to run: `orders` in all, split among `workers`; a price; each worker's stock covers its
/// orders, and `shipping_percent` of all the orders find a shipping slot (the rest are
/// compensated), the slots split among the workers as the orders are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SagaRun {
    /// Names the run's keys: worker `w`'s are under the hash tag `{<tag>-<w>}`.
    pub tag: &'static str,
    pub orders: u64,
    pub workers: u64,
    pub price: i64,
    pub shipping_percent: u64,
}

impl SagaRun {
    /// Worker `w`'s orders: an even share, the first ones taking the remainder.
    pub fn orders_of(&self, w: u64) -> u64 {
        self.orders / self.workers + u64::from(w < self.orders % self.workers)
    }

    pub fn keys(&self, w: u64) -> SagaKeys {
        SagaKeys::new(&format!("{}-{w}", self.tag))
    }

    /// Worker `w`'s shipping slots: `shipping_percent` of all orders (rounded down), shared as the
    /// orders are, so that a worker never has more slots than orders. Worked out per worker,
    /// each share rounded down, ten workers of one order each at 90% would ship nothing.
    pub fn slots_of(&self, w: u64) -> u64 {
        let total = self.orders.saturating_mul(self.shipping_percent) / 100;
        total / self.workers + u64::from(w < total % self.workers)
    }

    pub fn plan(&self, w: u64, concurrency: u64) -> SagaPlan {
        let orders = self.orders_of(w);
        let stock = i64::try_from(orders).unwrap_or(i64::MAX);
        let slots = i64::try_from(self.slots_of(w)).unwrap_or(i64::MAX);
        SagaPlan { orders, concurrency, price: self.price, initial: [stock, stock.saturating_mul(self.price), slots] }
    }

    /// The first order number of worker `w` in the run's global numbering, minus one.
    pub fn offset(&self, w: u64) -> u64 {
        (0..w).map(|v| self.orders_of(v)).sum()
    }

    /// Which worker an actor of [`SagaRun::world`] belongs to: the store is node 0, then each
    /// worker's orchestrator, consumer and relay.
    pub fn worker_of(node: NodeId) -> u64 {
        u64::from(node.0.saturating_sub(1)) / 3
    }

    /// The world of every worker on one store.
    pub fn world(&self, backend: &Backend, seed: u64) -> LiveWorld<SagaStoreProtocol> {
        let mut world = LiveWorld::new(seed);
        let store = world.add_store("redis", backend.clone());
        for w in 0..self.workers {
            world.add_actor(format!("orchestrator-{w}"), StoreOrchestrator::new(store, self.keys(w), self.plan(w, 1)));
            // The consumer first, so that its id is known to the relay.
            let consumer = world.add_actor(format!("consumer-{w}"), EventConsumer::new(store, self.keys(w)));
            world.add_actor(format!("relay-{w}"), OutboxRelay::new(store, consumer, self.keys(w)));
        }
        world
    }

    /// The relays and consumers alone: what drains the outboxes once every saga is over.
    pub fn drain_world(&self, backend: &Backend, seed: u64) -> LiveWorld<SagaStoreProtocol> {
        let mut world = LiveWorld::new(seed);
        let store = world.add_store("redis", backend.clone());
        for w in 0..self.workers {
            let consumer = world.add_actor(format!("consumer-{w}"), EventConsumer::new(store, self.keys(w)));
            world.add_actor(format!("relay-{w}"), OutboxRelay::new(store, consumer, self.keys(w)));
        }
        world
    }

    /// Reads every worker's keys and judges them together, orders numbered globally.
    pub async fn audit(&self, backend: &Backend) -> Result<SagaAudit, BackendError> {
        let mut total = SagaAudit::default();
        let mut offset = 0;
        for w in 0..self.workers {
            let replies = backend.exec_pipeline(&SagaSnapshot::commands(&self.keys(w))).await?;
            let plan = self.plan(w, 1);
            let a = SagaAudit::of(&SagaSnapshot::from_replies(&replies), plan.orders, plan.initial);
            total.completed += a.completed;
            total.rolled_back += a.rolled_back;
            total.unfinished.extend(a.unfinished.iter().map(|tx| tx + offset));
            total.partial.extend(a.partial.iter().map(|tx| tx + offset));
            for s in a.unbalanced {
                if !total.unbalanced.contains(&s) {
                    total.unbalanced.push(s);
                }
            }
            total.events += a.events;
            total.consumed += a.consumed;
            total.outbox_left += a.outbox_left;
            offset += plan.orders;
        }
        Ok(total)
    }
}

/// What one run of the sagas did, from its observations.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SagaStats {
    /// Sagas this process finished (completed or rolled back).
    pub finished: u64,
    /// Unfinished sagas found in the log at start (left by an earlier, interrupted run).
    pub resumed: u64,
    pub compensations: u64,
    /// Store errors reported by the orchestrators.
    pub failures: Vec<String>,
    /// Begin-to-end latency of each saga begun and finished by this process, in microseconds.
    #[serde(skip)]
    pub latencies_us: Vec<u64>,
}

impl SagaStats {
    /// Failures are numbered like the run's orders: globally, worker after worker.
    pub fn of(run: &SagaRun, observations: &[Observed<SagaStoreObs>]) -> SagaStats {
        let mut stats = SagaStats::default();
        let mut begun: BTreeMap<(u32, u64), u64> = BTreeMap::new();
        for o in observations {
            match &o.obs {
                SagaStoreObs::Begun { tx } => {
                    begun.insert((o.node.0, *tx), o.time.as_micros());
                }
                SagaStoreObs::Completed { tx } | SagaStoreObs::RolledBack { tx } => {
                    stats.finished += 1;
                    if let Some(at) = begun.remove(&(o.node.0, *tx)) {
                        stats.latencies_us.push(o.time.as_micros().saturating_sub(at));
                    }
                }
                SagaStoreObs::Stepped { undo: true, .. } => stats.compensations += 1,
                SagaStoreObs::Resumed { sagas } => stats.resumed += sagas,
                SagaStoreObs::Failed { tx, error } => {
                    let w = SagaRun::worker_of(o.node);
                    stats.failures.push(if *tx == 0 {
                        format!("worker {w}: {error}")
                    } else {
                        format!("order {}: {error}", run.offset(w) + tx)
                    });
                }
                _ => {}
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::SagaRun;

    fn run(orders: u64, workers: u64, shipping_percent: u64) -> SagaRun {
        SagaRun { tag: "t", orders, workers, price: 10, shipping_percent }
    }

    #[test]
    fn the_shipping_percentage_is_of_all_orders_and_no_worker_gets_more_slots_than_orders() {
        for (orders, workers, percent, shipped) in
            [(10, 10, 90, 9), (2, 50, 90, 1), (1000, 8, 90, 900), (7, 3, 100, 7), (5, 5, 0, 0), (3, 7, 50, 1)]
        {
            let r = run(orders, workers, percent);
            let slots: Vec<u64> = (0..workers).map(|w| r.slots_of(w)).collect();
            assert_eq!(slots.iter().sum::<u64>(), shipped, "{orders} orders, {workers} workers, {percent}%: {slots:?}");
            assert!((0..workers).all(|w| r.slots_of(w) <= r.orders_of(w)), "{slots:?}");
        }
    }
}
