//! The broker (46.2): named queues behind exchanges, a log, publisher confirms, backpressure and
//! consumer groups, as one actor.
//!
//! What it fixes in the chapter's `MessageBroker`: messages are routed by exchanges (the
//! chapter's `_exchanges` is never read); a consumed message stays in flight until acked and is
//! delivered again after its visibility timeout ([`super::queue`]); a failed one backs off and
//! ends in the dead letters; every change is logged and a crash recovers from what was synced
//! ([`super::log`]), delayed messages included; a producer hears "stored" only once that is true
//! under the fsync policy (publisher confirms).
//!
//! Backpressure, as the chapter's 5 s `put`: a publish to a full queue waits, first come first
//! served, until room appears or `publish_timeout_us` passes, then is refused with the reason. That
//! holds for a message routed to one queue (a work queue, a partition). A message fanned out to
//! several subscribers' queues never waits: a copy that finds its subscriber's queue full is
//! dead-lettered with the reason, so one slow subscriber costs only itself (RabbitMQ's
//! `x-overflow: drop-head` dead-letters the same way).
//!
//! Consumer groups, as Kafka's: the members of a group share its partitions, each partition
//! owned by one member at a time (round robin over the members in id order), reassigned when a
//! member joins or falls silent for `session_us`. A partition delivers its next message only
//! once the previous one is settled (acked or dead), so a partition's messages are handled in
//! order, at the price of head-of-line blocking while one backs off.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::exchange::Exchange;
use super::log::{self, Fsync, Log, OS_WRITEBACK_US, Record};
use super::queue::{Due, Mode, Next, Queue, QueueConfig, State};
use super::{Item, MqMsg, MqObs, MqProtocol, Source};
use crate::actor::{Actor, Ctx, NodeId};
use crate::sim::SimDuration;
use crate::timers;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerConfig {
    pub queue: QueueConfig,
    pub fsync: Fsync,
    /// How often `Fsync::EveryMs` syncs, in µs.
    pub fsync_every_us: u64,
    /// Publisher confirms: confirm a publish only once its record is synced.
    pub confirms: bool,
    /// How long a publish to a full queue waits for room.
    pub publish_timeout_us: u64,
    /// A group member silent this long loses its partitions.
    pub session_us: u64,
}

/// The broker's exchanges and consumer groups (its queues are every queue bound to an exchange).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    pub exchanges: BTreeMap<String, Exchange>,
    /// Group → the partitions (queues) its members share.
    pub groups: BTreeMap<String, Vec<String>>,
}

impl Topology {
    pub fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.exchanges.values().flat_map(|e| e.bindings.iter().map(|b| b.queue.clone())).collect();
        names.sort();
        names.dedup();
        names
    }
}

timers! {
    /// The broker's timers.
    pub enum BrokerTimer {
        /// The earliest visibility deadline, end of a delay or end of a publish's wait.
        Wake = 0,
        /// The periodic fsync (`every_ms`) or the kernel's writeback (`never`).
        Fsync = 1,
        /// Drop group members whose session ran out.
        Sessions = 2,
    }
}

/// A stored message's confirm: sent once its records are synced.
#[derive(Clone, Debug)]
struct Stored {
    synced: bool,
    confirm_to: Vec<NodeId>,
}

/// A publish, as received (and, while it waits for room in a full queue, until when).
#[derive(Clone, Debug)]
struct Pending {
    from: NodeId,
    exchange: String,
    key: String,
    id: u64,
    body: String,
    delay_us: u64,
    deadline_us: u64,
}

/// A publish waiting for room in `queue`.
#[derive(Clone, Debug)]
struct Waiting {
    queue: String,
    publish: Pending,
}

#[derive(Clone, Debug, Default)]
struct Group {
    /// Member → when it was last heard from (µs).
    members: BTreeMap<NodeId, u64>,
    owners: BTreeMap<String, NodeId>,
}

#[derive(Clone, Debug)]
pub struct Broker {
    cfg: Rc<BrokerConfig>,
    topo: Rc<Topology>,
    queues: BTreeMap<String, Queue>,
    log: Log,
    stored: BTreeMap<u64, Stored>,
    /// Stored ids whose records are not synced yet.
    unsynced: Vec<u64>,
    waiting: VecDeque<Waiting>,
    groups: BTreeMap<String, Group>,
    recovered: Option<u64>,
}

impl Broker {
    /// A broker, empty or recovered from the synced records it persisted (`durable`).
    pub fn new(cfg: Rc<BrokerConfig>, topo: Rc<Topology>, durable: Option<Vec<Record>>) -> Self {
        let mut queues: BTreeMap<String, Queue> =
            topo.queue_names().into_iter().map(|q| (q, Queue::new(cfg.queue.clone()))).collect();
        let records = durable.unwrap_or_default();
        let mut stored = BTreeMap::new();
        for r in &records {
            if let Record::Enqueued { id, .. } = r {
                stored.insert(*id, Stored { synced: true, confirm_to: Vec::new() });
            }
        }
        for (name, messages) in log::replay(&records) {
            if let Some(q) = queues.get_mut(&name) {
                messages.into_iter().for_each(|m| q.restore(m));
            }
        }
        let groups = topo.groups.keys().map(|g| (g.clone(), Group::default())).collect();
        let recovered = (!records.is_empty()).then_some(records.len() as u64);
        Broker {
            cfg,
            topo,
            queues,
            log: Log::from_synced(records),
            stored,
            unsynced: Vec::new(),
            waiting: VecDeque::new(),
            groups,
            recovered,
        }
    }

    pub fn queues(&self) -> &BTreeMap<String, Queue> {
        &self.queues
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.cfg
    }

    fn reliable(&self) -> bool {
        self.cfg.queue.mode == Mode::Reliable
    }

    /// Whether a confirm waits for the sync (publisher confirms on a persistent broker).
    fn confirm_waits(&self) -> bool {
        self.reliable() && self.cfg.confirms
    }

    fn record(&mut self, r: Record) {
        if self.reliable() {
            self.log.append(r);
        }
    }

    /// The queues a publish goes to. The chapter's broker ignores exchanges: its `publish`
    /// names a queue, here the exchange's name.
    fn targets(&self, exchange: &str, key: &str) -> Vec<String> {
        if !self.reliable() {
            return if self.queues.contains_key(exchange) { vec![exchange.to_owned()] } else { Vec::new() };
        }
        self.topo
            .exchanges
            .get(exchange)
            .map(|e| e.route(key).into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn full(&self, queue: &str) -> bool {
        self.queues.get(queue).is_some_and(|q| q.live() >= self.cfg.queue.capacity)
    }

    fn publish(&mut self, ctx: &mut Ctx<'_, MqProtocol>, p: Pending) {
        let (id, from) = (p.id, p.from);
        let confirm_waits = self.confirm_waits();
        if let Some(s) = self.stored.get_mut(&id) {
            // A resend of a stored message: confirm it (again) once it is durable.
            if s.synced || !confirm_waits {
                ctx.send(from, MqMsg::Confirm { id });
            } else if !s.confirm_to.contains(&from) {
                s.confirm_to.push(from);
            }
            return;
        }
        if self.waiting.iter().any(|w| w.publish.id == id) {
            return;
        }
        let targets = self.targets(&p.exchange, &p.key);
        if targets.is_empty() {
            let reason = format!("unroutable: exchange {:?} has no queue bound for key {:?}", p.exchange, p.key);
            ctx.observe(MqObs::Refused { id, reason: reason.clone() });
            ctx.send(from, MqMsg::Refused { id, reason });
            return;
        }
        if let [queue] = targets.as_slice()
            && (self.full(queue) || self.waiting.iter().any(|w| &w.queue == queue))
        {
            let deadline_us = ctx.now().as_micros().saturating_add(self.cfg.publish_timeout_us);
            self.waiting.push_back(Waiting { queue: queue.clone(), publish: Pending { deadline_us, ..p } });
            return;
        }
        self.store(ctx, p, &targets);
    }

    /// Queues a copy in every target (a copy finding its queue full is dead-lettered) and
    /// confirms, now or once synced.
    fn store(&mut self, ctx: &mut Ctx<'_, MqProtocol>, w: Pending, targets: &[String]) {
        let now = ctx.now().as_micros();
        for queue in targets {
            let full = self.full(queue);
            let Some(q) = self.queues.get_mut(queue) else { continue };
            if full {
                let error = format!("queue {queue:?} full ({} messages): overflow", self.cfg.queue.capacity);
                q.bury(w.id, w.body.clone(), error.clone());
                ctx.observe(MqObs::Enqueued { queue: queue.clone(), id: w.id, until_us: None });
                ctx.observe(MqObs::Dead { queue: queue.clone(), id: w.id, deliveries: 0, error: error.clone() });
                self.record(Record::Enqueued { queue: queue.clone(), id: w.id, body: w.body.clone(), until_us: None });
                self.record(Record::Dead { queue: queue.clone(), id: w.id, deliveries: 0, error });
                continue;
            }
            if q.publish(w.id, w.body.clone(), now, w.delay_us).is_err() {
                continue;
            }
            let until_us = match q.message(w.id).map(|m| &m.state) {
                Some(State::Delayed { until_us }) => Some(*until_us),
                _ => None,
            };
            ctx.observe(MqObs::Enqueued { queue: queue.clone(), id: w.id, until_us });
            self.record(Record::Enqueued { queue: queue.clone(), id: w.id, body: w.body.clone(), until_us });
        }
        if self.confirm_waits() {
            self.stored.insert(w.id, Stored { synced: false, confirm_to: vec![w.from] });
            self.unsynced.push(w.id);
        } else {
            self.stored.insert(w.id, Stored { synced: true, confirm_to: Vec::new() });
            ctx.send(w.from, MqMsg::Confirm { id: w.id });
        }
    }

    /// Makes the log durable and sends the confirms that waited for it.
    fn sync(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        let n = self.log.sync();
        if n > 0 {
            ctx.observe(MqObs::Synced { records: n as u64 });
        }
        for id in std::mem::take(&mut self.unsynced) {
            if let Some(s) = self.stored.get_mut(&id) {
                s.synced = true;
                for to in s.confirm_to.drain(..) {
                    ctx.send(to, MqMsg::Confirm { id });
                }
            }
        }
    }

    /// Lets waiting publishes in, first come first served in each queue, while it has room;
    /// refuses those whose wait ran out.
    fn admit(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        let now = ctx.now().as_micros();
        let mut i = 0;
        while i < self.waiting.len() {
            let w = &self.waiting[i];
            if w.publish.deadline_us <= now {
                let Some(w) = self.waiting.remove(i) else { break };
                let reason = format!("queue {:?} stayed full for {} ms", w.queue, self.cfg.publish_timeout_us / 1_000);
                ctx.observe(MqObs::Refused { id: w.publish.id, reason: reason.clone() });
                ctx.send(w.publish.from, MqMsg::Refused { id: w.publish.id, reason });
            } else if self.full(&w.queue) {
                i += 1;
            } else if let Some(w) = self.waiting.remove(i) {
                self.store(ctx, w.publish, std::slice::from_ref(&w.queue));
            }
        }
    }

    /// What a nack or an expiry did, logged and observed.
    fn settle(&mut self, ctx: &mut Ctx<'_, MqProtocol>, queue: &str, id: u64, next: Next, error: String) {
        let now = ctx.now().as_micros();
        match next {
            Next::Retry { at_us } => {
                let deliveries = self.queues.get(queue).and_then(|q| q.message(id)).map_or(0, |m| m.deliveries);
                ctx.observe(MqObs::Retry { queue: queue.to_owned(), id, at_us, error: error.clone() });
                self.record(Record::Retry { queue: queue.to_owned(), id, deliveries, until_us: at_us, error });
            }
            Next::Requeued => ctx.observe(MqObs::Retry { queue: queue.to_owned(), id, at_us: now, error }),
            Next::Dead { deliveries } => {
                ctx.observe(MqObs::Dead { queue: queue.to_owned(), id, deliveries, error: error.clone() });
                self.record(Record::Dead { queue: queue.to_owned(), id, deliveries, error });
            }
        }
    }

    fn fetch(&mut self, ctx: &mut Ctx<'_, MqProtocol>, from: NodeId, source: &Source, max: u32) -> Vec<Item> {
        let now = ctx.now().as_micros();
        let names: Vec<String> = match source {
            Source::Queues { queues } => queues.clone(),
            Source::Group { group } => {
                self.touch(ctx, group, from);
                // Only its own partitions, and only those with nothing unsettled: in order.
                let owned = self.groups.get(group).map(|g| g.owners.iter().filter(|(_, o)| **o == from));
                let owned: Vec<String> = owned.into_iter().flatten().map(|(p, _)| p.clone()).collect();
                owned.into_iter().filter(|p| self.queues.get(p).is_some_and(|q| q.busy() == 0)).collect()
            }
        };
        let per_queue = if matches!(source, Source::Group { .. }) { 1 } else { usize::MAX };
        let mut items = Vec::new();
        for name in names {
            let Some(q) = self.queues.get_mut(&name) else { continue };
            let mut taken = 0;
            while items.len() < max as usize && taken < per_queue {
                let Some(d) = q.consume(from, now) else { break };
                ctx.observe(MqObs::Delivered { queue: name.clone(), id: d.id, attempt: d.attempt, consumer: from });
                items.push(Item { queue: name.clone(), id: d.id, body: d.body, attempt: d.attempt });
                taken += 1;
            }
        }
        items
    }

    /// A group member was heard from: a new one joins (and the partitions are reassigned).
    fn touch(&mut self, ctx: &mut Ctx<'_, MqProtocol>, group: &str, member: NodeId) {
        let now = ctx.now().as_micros();
        let Some(g) = self.groups.get_mut(group) else { return };
        if g.members.insert(member, now).is_none() {
            self.rebalance(ctx, group);
        }
    }

    /// Partition i goes to the (i mod n)-th member in id order.
    fn rebalance(&mut self, ctx: &mut Ctx<'_, MqProtocol>, group: &str) {
        let (Some(g), Some(partitions)) = (self.groups.get_mut(group), self.topo.groups.get(group)) else { return };
        let members: Vec<NodeId> = g.members.keys().copied().collect();
        g.owners = if members.is_empty() {
            BTreeMap::new()
        } else {
            partitions.iter().enumerate().map(|(i, p)| (p.clone(), members[i % members.len()])).collect()
        };
        ctx.observe(MqObs::Assigned {
            group: group.to_owned(),
            owners: g.owners.iter().map(|(p, m)| (p.clone(), *m)).collect(),
        });
    }

    /// Re-arms the wake timer for the earliest deadline, delay end or publish wait.
    fn rearm(&self, ctx: &mut Ctx<'_, MqProtocol>) {
        let now = ctx.now().as_micros();
        let next = self
            .queues
            .values()
            .filter_map(Queue::next_wake_us)
            .chain(self.waiting.front().map(|w| w.publish.deadline_us))
            .min();
        match next {
            Some(at) => ctx.set_timer(BrokerTimer::Wake, SimDuration::from_micros(at.saturating_sub(now))),
            None => ctx.cancel_timer(BrokerTimer::Wake),
        }
    }

    /// Work every handler ends with: sync if every write is synced, let waiting publishes in,
    /// re-arm the wake.
    fn finish(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        self.admit(ctx);
        if self.reliable() && self.cfg.fsync == Fsync::Always {
            self.sync(ctx);
        }
        self.rearm(ctx);
    }
}

impl Actor<MqProtocol> for Broker {
    type Durable = Vec<Record>;
    type Timer = BrokerTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        if let Some(records) = self.recovered.take() {
            let live = self.queues.values().map(|q| q.live() as u64).sum();
            ctx.observe(MqObs::Recovered { records, live });
        }
        match (self.reliable(), self.cfg.fsync) {
            (true, Fsync::EveryMs) => {
                ctx.set_timer(BrokerTimer::Fsync, SimDuration::from_micros(self.cfg.fsync_every_us))
            }
            (true, Fsync::Never) => ctx.set_timer(BrokerTimer::Fsync, SimDuration::from_micros(OS_WRITEBACK_US)),
            _ => {}
        }
        if !self.groups.is_empty() {
            ctx.set_timer(BrokerTimer::Sessions, SimDuration::from_micros(self.cfg.session_us / 4));
        }
        self.rearm(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, MqProtocol>, from: NodeId, msg: MqMsg) {
        let now = ctx.now().as_micros();
        match msg {
            MqMsg::Publish { exchange, key, id, body, delay_us } => {
                self.publish(ctx, Pending { from, exchange, key, id, body, delay_us, deadline_us: 0 });
            }
            MqMsg::Fetch { source, max } => {
                let items = self.fetch(ctx, from, &source, max);
                ctx.send(from, MqMsg::Deliver { items });
            }
            MqMsg::Heartbeat { group } => self.touch(ctx, &group, from),
            MqMsg::Ack { queue, id, attempt } => {
                let acked = self.queues.get_mut(&queue).is_some_and(|q| q.ack(id, from, attempt).is_ok());
                if acked {
                    ctx.observe(MqObs::Acked { queue: queue.clone(), id });
                    self.record(Record::Acked { queue, id });
                }
            }
            MqMsg::Nack { queue, id, attempt, error } => {
                let next =
                    self.queues.get_mut(&queue).map(|q| q.nack(id, from, attempt, error.clone(), now, ctx.rng()));
                if let Some(Ok(next)) = next {
                    self.settle(ctx, &queue, id, next, error);
                }
            }
            MqMsg::Confirm { .. }
            | MqMsg::Refused { .. }
            | MqMsg::Deliver { .. }
            | MqMsg::Write { .. }
            | MqMsg::Written { .. }
            | MqMsg::Handle { .. }
            | MqMsg::Handled { .. } => {}
        }
        self.finish(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, MqProtocol>, timer: BrokerTimer) {
        let now = ctx.now().as_micros();
        match timer {
            BrokerTimer::Wake => {
                let names: Vec<String> = self.queues.keys().cloned().collect();
                for name in names {
                    let due = match self.queues.get_mut(&name) {
                        Some(q) => q.tick(now, ctx.rng()),
                        None => continue,
                    };
                    for d in due {
                        if let Due::Expired { id, next, .. } = d {
                            self.settle(ctx, &name, id, next, "visibility timeout".to_owned());
                        }
                    }
                }
            }
            BrokerTimer::Fsync => {
                self.sync(ctx);
                let every = if self.cfg.fsync == Fsync::EveryMs { self.cfg.fsync_every_us } else { OS_WRITEBACK_US };
                ctx.set_timer(BrokerTimer::Fsync, SimDuration::from_micros(every));
            }
            BrokerTimer::Sessions => {
                let session = self.cfg.session_us;
                let names: Vec<String> = self.groups.keys().cloned().collect();
                for name in names {
                    let Some(g) = self.groups.get_mut(&name) else { continue };
                    let before = g.members.len();
                    g.members.retain(|_, seen| now.saturating_sub(*seen) < session);
                    if g.members.len() != before {
                        self.rebalance(ctx, &name);
                    }
                }
                ctx.set_timer(BrokerTimer::Sessions, SimDuration::from_micros(session / 4));
            }
        }
        self.finish(ctx);
    }

    fn durable(&self) -> Vec<Record> {
        self.log.synced().to_vec()
    }

    fn public_state(&self) -> serde_json::Value {
        let queues: serde_json::Map<String, serde_json::Value> = self
            .queues
            .iter()
            .map(|(name, q)| {
                let mut counts = BTreeMap::<&str, u64>::new();
                for m in q.messages() {
                    *counts.entry(state_name(&m.state)).or_default() += 1;
                }
                (name.clone(), serde_json::json!({ "counts": counts, "live": q.live() }))
            })
            .collect();
        serde_json::json!({
            "queues": queues,
            "log": { "synced": self.log.synced().len(), "unsynced": self.log.unsynced().len() },
            "waiting": self.waiting.len(),
            "groups": self.groups.iter().map(|(g, grp)| (g.clone(), serde_json::json!(grp.owners))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// A state's name, as the page and the counters say it.
pub fn state_name(s: &State) -> &'static str {
    match s {
        State::Ready => "ready",
        State::InFlight { .. } => "in_flight",
        State::Delayed { .. } => "delayed",
        State::Acked => "acked",
        State::Dead { .. } => "dead",
        State::Taken => "taken",
    }
}
