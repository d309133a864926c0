//! The reliable queue on Redis Streams (46.2, exercise 2 on a real Redis): the broker's
//! semantics of [`super::broker`] with the store as the broker, reached through `Cmd`, so that
//! `distlab mq` runs these actors, unchanged, on a real Redis (standalone or Cluster).
//!
//! A queue is one stream read by one consumer group. A publish is `mq_publish`, idempotent by
//! message id: a producer killed and run again publishes nothing twice. `XREADGROUP … >` hands out
//! new entries, which stay in the group's pending list until `XACK`: the chapter's `queue.get()`
//! forgets a message the moment it is taken; here a consumer that crashes, pauses or fails a
//! message leaves it pending, and once it has been idle for the visibility timeout `XAUTOCLAIM`
//! (that timeout as its min-idle-time) hands it to a live consumer, its delivery count one more.
//! A message delivered more than `max_deliveries` times goes to the dead-letter stream with its
//! count and its last error, acknowledged in the same atomic step (`mq_dead_letter`). Delayed
//! messages wait in a sorted set scored by when they are due, on the server's clock, until
//! `mq_promote` moves them into the stream. A consumer handles a whole read, then writes every
//! effect and acks every entry of it in one step (`mq_settle`, dedup by message id in the same
//! write as the effect): a crash before that step leaves the batch pending, to be delivered again
//! and applied once; one round trip settles ten messages instead of two a message.
//!
//! Every key is under one hash tag, so the queue lives in one Redis Cluster slot and its scripts
//! may touch all of its keys.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Ctx, NodeId, Protocol};
use crate::sim::{Ratio, SimDuration};
use crate::store::{Cmd, Reply, ScoreBound, ScriptName, StoreMsg, XPendingRange};

/// The consumer group every consumer of the queue belongs to.
pub const GROUP: &str = "workers";
/// A poison message's body: every handler fails it.
pub const POISON: &str = "poison";

#[derive(Debug)]
pub struct StreamsProtocol;

impl Protocol for StreamsProtocol {
    type Msg = StoreMsg;
    type Obs = StreamObs;
}

/// What the actors report; the native command counts them for its progress and its report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamObs {
    /// `fresh` is false when an earlier run had published it already.
    Published {
        id: u64,
        fresh: bool,
    },
    /// Every message of this producer is published.
    Done,
    Delivered {
        id: u64,
        deliveries: u64,
    },
    Failed {
        id: u64,
        deliveries: u64,
        error: String,
    },
    /// The effect was written; `first` is false when it had been applied before (without dedup:
    /// applied twice; with it, never).
    Applied {
        id: u64,
        first: bool,
    },
    /// A redelivery whose effect dedup found applied already.
    Skipped {
        id: u64,
    },
    Acked {
        id: u64,
    },
    DeadLettered {
        id: u64,
        deliveries: u64,
    },
    /// Entries taken over from consumers that left them idle past the visibility timeout.
    Claimed {
        count: u64,
    },
    /// Delayed messages moved into the stream.
    Promoted {
        count: u64,
    },
    StoreFailed {
        error: String,
    },
}

/// The queue's keys, all under the hash tag `{tag}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamKeys {
    tag: String,
}

impl StreamKeys {
    pub fn new(tag: &str) -> Self {
        StreamKeys { tag: format!("{{{tag}}}") }
    }
    pub fn stream(&self) -> String {
        format!("{}:stream", self.tag)
    }
    /// The dead letters of one consumer group.
    pub fn dead(&self, group: &str) -> String {
        format!("{}:{group}:dead", self.tag)
    }
    pub fn delayed(&self) -> String {
        format!("{}:delayed", self.tag)
    }
    /// The ids published (a hash: id → 1), which makes publishing idempotent.
    pub fn published(&self) -> String {
        format!("{}:published", self.tag)
    }
    /// A consumer group's database: the effects (message id → times applied), whose rows are
    /// also the dedup record. Each group (a subscriber of the stream) has its own.
    pub fn effects(&self, group: &str) -> String {
        format!("{}:{group}:db:effects", self.tag)
    }
    /// The last error of each of a group's failed entries (stream id → error), for its dead letter.
    pub fn errors(&self, group: &str) -> String {
        format!("{}:{group}:errors", self.tag)
    }
}

/// What a producer publishes: the ids `first, first + step, …` up to `messages`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishPlan {
    pub first: u64,
    pub step: u64,
    pub messages: u64,
    /// Every n-th id is delayed by `delay_ms` (0: none).
    pub delay_every: u64,
    pub delay_ms: u64,
    /// Every n-th id is poison (0: none).
    pub poison_every: u64,
    /// Messages a `mq_publish` call carries at most: publishing is a round trip a batch, not a
    /// message.
    pub batch: usize,
    /// `mq_publish` calls in flight at once.
    pub window: usize,
    /// At most this many publishes a millisecond (0: as fast as the window allows): an offered
    /// load, so that latency is measured at a rate rather than at saturation.
    pub per_ms: u64,
}

impl PublishPlan {
    fn body(&self, id: u64) -> String {
        if self.poison_every > 0 && id.is_multiple_of(self.poison_every) { POISON.to_owned() } else { format!("m{id}") }
    }
    fn delay(&self, id: u64) -> u64 {
        if self.delay_every > 0 && id.is_multiple_of(self.delay_every) { self.delay_ms } else { 0 }
    }
}

crate::timers! {
    /// The producer's timers.
    pub enum ProducerTimer {
        /// Send again what the store failed.
        Retry = 0,
        /// A paced producer's next millisecond of publishes.
        Tick = 1,
    }
}

/// Publishes its plan's ids through `mq_publish`, a batch a call and a window of calls at a time;
/// a store error is retried (the script is idempotent, so a publish that did happen is not
/// repeated).
#[derive(Clone, Debug)]
pub struct StreamProducer {
    store: NodeId,
    keys: StreamKeys,
    plan: PublishPlan,
    next: u64,
    next_req: u64,
    /// The ids each call in flight carries.
    awaiting: BTreeMap<u64, Vec<u64>>,
    failed: Vec<u64>,
    /// A paced producer's publishes still allowed, and when it last added to them (µs).
    allowance: u64,
    paced_at_us: u64,
}

impl StreamProducer {
    pub fn new(store: NodeId, keys: StreamKeys, plan: PublishPlan) -> Self {
        StreamProducer {
            store,
            keys,
            plan,
            next: plan.first,
            next_req: 0,
            awaiting: BTreeMap::new(),
            failed: Vec::new(),
            allowance: plan.per_ms,
            paced_at_us: 0,
        }
    }

    fn publish(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, ids: Vec<u64>) {
        self.next_req += 1;
        let args =
            ids.iter().flat_map(|&id| [id.to_string(), self.plan.body(id), self.plan.delay(id).to_string()]).collect();
        self.awaiting.insert(self.next_req, ids);
        let cmd = Cmd::Script {
            script: ScriptName::MqPublish,
            keys: vec![self.keys.published(), self.keys.stream(), self.keys.delayed()],
            args,
        };
        ctx.send(self.store, StoreMsg::Request { req: self.next_req, cmd });
    }

    fn fill(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        let paced = self.plan.per_ms > 0;
        while self.awaiting.len() < self.plan.window.max(1)
            && self.next <= self.plan.messages
            && (!paced || self.allowance > 0)
        {
            let room = self.plan.batch.max(1) as u64;
            let room = if paced { room.min(self.allowance) } else { room };
            let step = self.plan.step.max(1);
            let ids: Vec<u64> =
                (0..room).map(|k| self.next + k * step).take_while(|&id| id <= self.plan.messages).collect();
            self.allowance = self.allowance.saturating_sub(ids.len() as u64);
            self.next += ids.len() as u64 * step;
            self.publish(ctx, ids);
        }
        if self.awaiting.is_empty() && self.failed.is_empty() && self.next > self.plan.messages {
            ctx.observe(StreamObs::Done);
        }
    }
}

impl Actor<StreamsProtocol> for StreamProducer {
    type Durable = ();
    type Timer = ProducerTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        if self.plan.per_ms > 0 {
            ctx.set_timer(ProducerTimer::Tick, SimDuration::from_millis(1));
        }
        self.fill(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, _from: NodeId, msg: StoreMsg) {
        let StoreMsg::Reply { req, reply } = msg else { return };
        let Some(ids) = self.awaiting.remove(&req) else { return };
        match reply {
            Reply::Array(answers)
                if answers.len() == ids.len() && answers.iter().all(|a| matches!(a, Reply::Int(_))) =>
            {
                for (id, answer) in ids.into_iter().zip(answers) {
                    ctx.observe(StreamObs::Published { id, fresh: answer == Reply::Int(1) });
                }
            }
            other => {
                ctx.observe(StreamObs::StoreFailed { error: format!("publishing {ids:?}: {other:?}") });
                self.failed.extend(ids);
                ctx.set_timer(ProducerTimer::Retry, SimDuration::from_millis(RETRY_MS));
            }
        }
        self.fill(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, timer: ProducerTimer) {
        match timer {
            ProducerTimer::Retry => {
                let failed = std::mem::take(&mut self.failed);
                for ids in failed.chunks(self.plan.batch.max(1)) {
                    self.publish(ctx, ids.to_vec());
                }
            }
            ProducerTimer::Tick => {
                // Allowed by the time that has passed, not by the ticks: a timer fires late on a
                // busy runtime (and a real-time one rounds up to its millisecond), and the rate
                // must hold anyway; a long stall catches up at most ten milliseconds' worth.
                let now = ctx.now().as_micros();
                let earned = now.saturating_sub(self.paced_at_us) * self.plan.per_ms / 1_000;
                // The fraction of a publish not yet earned carries over to the next tick.
                self.paced_at_us += earned * 1_000 / self.plan.per_ms;
                if earned > self.plan.per_ms * 10 {
                    self.paced_at_us = now;
                }
                self.allowance = (self.allowance + earned).min(self.plan.per_ms * 10);
                self.fill(ctx);
                if self.next <= self.plan.messages {
                    ctx.set_timer(ProducerTimer::Tick, SimDuration::from_millis(1));
                }
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "next": self.next, "awaiting": self.awaiting.len() })
    }
}

/// A consumer looks for due delayed messages at most this often (ms), and for idle entries at
/// most this often too, and at least this often whatever the visibility timeout.
const SWEEP_MS: u64 = 20;
/// The longest a consumer waits between looks for idle entries (ms).
const CLAIM_SWEEP_MAX_MS: u64 = 1_000;
/// How long a producer or a consumer waits before trying a failed store request again.
const RETRY_MS: u64 = 100;

/// How a consumer works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumeConfig {
    /// Its consumer group: a queue's consumers share one ([`GROUP`]); each subscriber of a
    /// stream is a group of its own, which sees every entry.
    pub group: String,
    /// Its name in the group (its pending entries are its own: a restarted consumer of the same
    /// name is the same member).
    pub name: String,
    /// Entries read or claimed per request (`COUNT`).
    pub batch: u64,
    pub visibility_ms: u64,
    pub max_deliveries: u64,
    pub work_min_us: u64,
    pub work_max_us: u64,
    /// This share of deliveries fail (poison messages always do).
    pub fail: Ratio,
    pub dedup: bool,
    /// The wait before asking again when nothing was there.
    pub poll_ms: u64,
    /// How long a read after an empty one may wait at the server for new entries
    /// (`XREADGROUP … BLOCK`; 0: never). Such a read goes to the consumer's reader
    /// ([`StreamConsumer::with_reader`]): a connection of its own, which a blocked read holds.
    /// The simulated store answers at once either way.
    pub block_ms: u64,
}

/// One delivery in a consumer's hands.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// The stream entry's id (`ms-seq`).
    entry: String,
    id: u64,
    body: String,
    deliveries: u64,
}

/// What a consumer is waiting for from the store.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Wait {
    Setup,
    Promote,
    Claim,
    /// The delivery count of a claimed entry.
    Count(Entry),
    Read,
    /// Whether an entry delivered too often had been applied (then it is only acked).
    Applied(Entry),
    /// Its last error, for its dead letter.
    LastError(Entry),
    DeadLetter(Entry),
    /// A batch's effects written and its entries acked, in one step.
    Settle(Vec<Entry>),
    Ack(Entry),
    RecordError(Entry),
}

crate::timers! {
    /// A consumer's timers.
    pub enum ConsumerTimer {
        /// Look for work again.
        Poll = 0,
        /// The handler has finished the entry in hand.
        Work = 1,
    }
}

/// A member of the group: promotes due delayed messages, claims entries idle past the
/// visibility timeout, reads new ones, and handles each (or records its failure and leaves it
/// pending for a redelivery); then settles the handled ones together, effects and acks.
#[derive(Clone, Debug)]
pub struct StreamConsumer {
    store: NodeId,
    /// Where reads that may block go: the store through a connection of the consumer's own.
    reader: NodeId,
    /// The last read found nothing new: the next may wait at the server.
    idle: bool,
    keys: StreamKeys,
    cfg: ConsumeConfig,
    next_req: u64,
    /// The request awaited (one at a time: the driver runs one actor's requests in order).
    waiting: Option<(u64, Wait)>,
    inbox: VecDeque<Entry>,
    /// Claimed entries whose delivery count is still to be read.
    claimed: VecDeque<Entry>,
    working: Option<Entry>,
    /// Whether the current round found anything (else the next waits `poll_ms`).
    found: bool,
    /// Handled entries whose effect and ack are still to be written, together.
    done: Vec<Entry>,
    /// When the delayed messages, and the idle entries, were last looked at (µs).
    promoted_at_us: Option<u64>,
    claimed_at_us: Option<u64>,
    /// The last look for idle entries filled its batch: look again at once.
    claim_more: bool,
}

impl StreamConsumer {
    pub fn new(store: NodeId, keys: StreamKeys, cfg: ConsumeConfig) -> Self {
        StreamConsumer {
            store,
            reader: store,
            idle: false,
            keys,
            cfg,
            next_req: 0,
            waiting: None,
            inbox: VecDeque::new(),
            claimed: VecDeque::new(),
            working: None,
            found: false,
            done: Vec::new(),
            promoted_at_us: None,
            claimed_at_us: None,
            claim_more: false,
        }
    }

    /// Reads that may block (`block_ms`) go to `reader`, the same store through a connection of
    /// the consumer's own; everything else shares `store`'s connection, where the server takes
    /// many clients' requests in one read and answers them in one write.
    pub fn with_reader(mut self, reader: NodeId) -> Self {
        self.reader = reader;
        self
    }

    fn request(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, wait: Wait, cmd: Cmd) {
        self.request_to(ctx, self.store, wait, cmd);
    }

    fn request_to(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, to: NodeId, wait: Wait, cmd: Cmd) {
        self.next_req += 1;
        self.waiting = Some((self.next_req, wait));
        ctx.send(to, StoreMsg::Request { req: self.next_req, cmd });
    }

    /// A round begins with the delayed messages now due, at most every [`SWEEP_MS`] (a busy
    /// consumer reads far more often than they can change), then the entries idle past the
    /// visibility timeout, then reads.
    fn round(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        self.found = false;
        let now = ctx.now().as_micros();
        if self.promoted_at_us.is_none_or(|at| now.saturating_sub(at) >= SWEEP_MS * 1_000) {
            self.promoted_at_us = Some(now);
            return self.promote(ctx);
        }
        self.claim_or_read(ctx);
    }

    /// Idle entries are looked for every tenth of the visibility timeout (within [`SWEEP_MS`]
    /// and [`CLAIM_SWEEP_MAX_MS`]), so one is redelivered at most that late. Not every round: an
    /// `XAUTOCLAIM` scans up to ten times `COUNT` pending entries on the server, and ten consumers
    /// sweeping every 20 ms spent 6% of Redis's time finding nothing.
    fn claim_or_read(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        let now = ctx.now().as_micros();
        let every_us = (self.cfg.visibility_ms / 10).clamp(SWEEP_MS, CLAIM_SWEEP_MAX_MS) * 1_000;
        if self.claim_more || self.claimed_at_us.is_none_or(|at| now.saturating_sub(at) >= every_us) {
            self.claimed_at_us = Some(now);
            return self.claim(ctx);
        }
        self.read(ctx);
    }

    fn promote(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        let cmd = Cmd::Script {
            script: ScriptName::MqPromote,
            keys: vec![self.keys.delayed(), self.keys.stream()],
            args: vec![self.cfg.batch.to_string()],
        };
        self.request(ctx, Wait::Promote, cmd);
    }

    fn claim(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        let cmd = Cmd::XAutoClaim {
            key: self.keys.stream(),
            group: self.cfg.group.clone(),
            consumer: self.cfg.name.clone(),
            min_idle_ms: i64::try_from(self.cfg.visibility_ms).unwrap_or(i64::MAX),
            start: "0-0".to_owned(),
            count: Some(i64::try_from(self.cfg.batch).unwrap_or(i64::MAX)),
            just_id: false,
        };
        self.request(ctx, Wait::Claim, cmd);
    }

    /// Reads new entries; after a read that found none, waiting at the server up to `block_ms`
    /// for the next (handed over the moment it is added), through the reader.
    fn read(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        let block = self.idle && self.cfg.block_ms > 0;
        let cmd = Cmd::XReadGroup {
            group: self.cfg.group.clone(),
            consumer: self.cfg.name.clone(),
            count: Some(i64::try_from(self.cfg.batch).unwrap_or(i64::MAX)),
            block_ms: block.then(|| i64::try_from(self.cfg.block_ms).unwrap_or(i64::MAX)),
            streams: vec![(self.keys.stream(), ">".to_owned())],
        };
        let to = if block { self.reader } else { self.store };
        self.request_to(ctx, to, Wait::Read, cmd);
    }

    /// The next step of the round: count the claimed entries, then read, then work through the
    /// inbox, then wait for the next round.
    fn next(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        if let Some(e) = self.claimed.pop_front() {
            let range = XPendingRange {
                min_idle_ms: None,
                start: e.entry.clone(),
                end: e.entry.clone(),
                count: 1,
                consumer: None,
            };
            let cmd = Cmd::XPending { key: self.keys.stream(), group: self.cfg.group.clone(), range: Some(range) };
            return self.request(ctx, Wait::Count(e), cmd);
        }
        let Some(e) = self.inbox.pop_front() else {
            if !self.done.is_empty() {
                return self.settle(ctx);
            }
            let wait = if self.found { 0 } else { self.cfg.poll_ms };
            ctx.set_timer(ConsumerTimer::Poll, SimDuration::from_millis(wait));
            return;
        };
        if e.deliveries > self.cfg.max_deliveries {
            let cmd = Cmd::HGet { key: self.keys.effects(&self.cfg.group), field: e.id.to_string() };
            return self.request(ctx, Wait::Applied(e), cmd);
        }
        ctx.observe(StreamObs::Delivered { id: e.id, deliveries: e.deliveries });
        let work = ctx.rng().between(self.cfg.work_min_us, self.cfg.work_max_us.max(self.cfg.work_min_us));
        self.working = Some(e);
        ctx.set_timer(ConsumerTimer::Work, SimDuration::from_micros(work));
    }

    /// The handler is done with `e`: write its effect, or record why it failed.
    fn handled(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, e: Entry) {
        let error = if e.body == POISON {
            Some("poison message: the handler cannot parse it")
        } else if ctx.rng().chance(self.cfg.fail) {
            Some("handler failed")
        } else {
            None
        };
        if let Some(error) = error {
            ctx.observe(StreamObs::Failed { id: e.id, deliveries: e.deliveries, error: error.to_owned() });
            let cmd =
                Cmd::HSet { key: self.keys.errors(&self.cfg.group), fields: vec![(e.entry.clone(), error.to_owned())] };
            return self.request(ctx, Wait::RecordError(e), cmd);
        }
        self.done.push(e);
        self.next(ctx);
    }

    /// The batch's effects (deduplicated by message id when asked) and acks, in one script.
    fn settle(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        let batch = std::mem::take(&mut self.done);
        let mut args = vec![self.cfg.group.clone(), if self.cfg.dedup { "1" } else { "0" }.to_owned()];
        args.extend(batch.iter().flat_map(|e| [e.entry.clone(), e.id.to_string()]));
        let cmd = Cmd::Script {
            script: ScriptName::MqSettle,
            keys: vec![self.keys.stream(), self.keys.effects(&self.cfg.group)],
            args,
        };
        self.request(ctx, Wait::Settle(batch), cmd);
    }

    fn ack(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, e: Entry) {
        let cmd = Cmd::XAck { key: self.keys.stream(), group: self.cfg.group.clone(), ids: vec![e.entry.clone()] };
        self.request(ctx, Wait::Ack(e), cmd);
    }

    fn answered(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, wait: Wait, reply: Reply) {
        if let Reply::Error(error) = &reply {
            let busy = matches!(wait, Wait::Setup) && error.starts_with("BUSYGROUP");
            if !busy {
                ctx.observe(StreamObs::StoreFailed { error: format!("{}: {error}", self.cfg.name) });
                // Start the round again a little later: whatever was in hand stays pending and
                // comes back by XAUTOCLAIM.
                self.inbox.clear();
                self.claimed.clear();
                self.done.clear();
                ctx.set_timer(ConsumerTimer::Poll, SimDuration::from_millis(RETRY_MS));
                return;
            }
        }
        match wait {
            Wait::Setup => self.round(ctx),
            Wait::Promote => {
                if let Reply::Int(n) = reply
                    && n > 0
                {
                    ctx.observe(StreamObs::Promoted { count: u64::try_from(n).unwrap_or(0) });
                }
                self.claim_or_read(ctx);
            }
            Wait::Claim => {
                // [next cursor, [entries], [deleted ids]]: the deleted ones have left the
                // pending list already.
                let entries = match &reply {
                    Reply::Array(parts) => parts.get(1).map(entries).unwrap_or_default(),
                    _ => Vec::new(),
                };
                if !entries.is_empty() {
                    self.found = true;
                    ctx.observe(StreamObs::Claimed { count: entries.len() as u64 });
                }
                self.claim_more = entries.len() as u64 >= self.cfg.batch;
                self.claimed.extend(entries);
                self.read(ctx);
            }
            Wait::Count(mut e) => {
                if let Some(n) = delivery_count(&reply) {
                    e.deliveries = n;
                    self.inbox.push_back(e);
                }
                self.next(ctx);
            }
            Wait::Read => {
                // [[stream, [entries]]], or nil when nothing is new.
                let fresh = match &reply {
                    Reply::Array(streams) => streams
                        .iter()
                        .filter_map(|s| match s {
                            Reply::Array(pair) => pair.get(1).map(entries),
                            _ => None,
                        })
                        .flatten()
                        .collect(),
                    _ => Vec::new(),
                };
                self.found |= !fresh.is_empty();
                self.idle = fresh.is_empty();
                self.inbox.extend(fresh);
                self.next(ctx);
            }
            Wait::Applied(e) => {
                if matches!(reply, Reply::Bulk(_)) {
                    self.ack(ctx, e);
                } else {
                    let cmd = Cmd::HGet { key: self.keys.errors(&self.cfg.group), field: e.entry.clone() };
                    self.request(ctx, Wait::LastError(e), cmd);
                }
            }
            Wait::LastError(e) => {
                let error = match reply {
                    Reply::Bulk(error) => error,
                    _ => "visibility timeout".to_owned(),
                };
                let cmd = Cmd::Script {
                    script: ScriptName::MqDeadLetter,
                    keys: vec![self.keys.stream(), self.keys.dead(&self.cfg.group)],
                    args: vec![self.cfg.group.clone(), e.entry.clone(), error],
                };
                self.request(ctx, Wait::DeadLetter(e), cmd);
            }
            Wait::DeadLetter(e) => {
                if matches!(reply, Reply::Bulk(_)) {
                    ctx.observe(StreamObs::DeadLettered { id: e.id, deliveries: e.deliveries });
                }
                self.next(ctx);
            }
            Wait::Settle(batch) => {
                let Reply::Array(answers) = reply else { return self.next(ctx) };
                for (e, pair) in batch.iter().zip(answers.chunks(2)) {
                    match pair {
                        [Reply::Int(0), _] if self.cfg.dedup => ctx.observe(StreamObs::Skipped { id: e.id }),
                        [Reply::Int(n), _] => ctx.observe(StreamObs::Applied { id: e.id, first: *n == 1 }),
                        _ => {}
                    }
                    if pair.get(1) == Some(&Reply::Int(1)) {
                        ctx.observe(StreamObs::Acked { id: e.id });
                    }
                }
                self.next(ctx);
            }
            Wait::Ack(e) => {
                if reply == Reply::Int(1) {
                    ctx.observe(StreamObs::Acked { id: e.id });
                }
                self.next(ctx);
            }
            Wait::RecordError(_) => self.next(ctx),
        }
    }
}

/// A stream reply's entries (`[[id, [field, value, …]], …]`) as deliveries: their message id and
/// body from the fields `mq_publish` writes (`id`, `body`) or the one `mq_promote` writes
/// (`msg` = `id|body`); an entry deleted meanwhile (nil fields) or foreign is left out.
fn entries(reply: &Reply) -> Vec<Entry> {
    let Reply::Array(items) = reply else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let Reply::Array(pair) = item else { return None };
            let (Some(Reply::Bulk(entry)), Some(Reply::Array(flat))) = (pair.first(), pair.get(1)) else {
                return None;
            };
            let fields: BTreeMap<&str, &str> = flat
                .chunks(2)
                .filter_map(|kv| match kv {
                    [Reply::Bulk(k), Reply::Bulk(v)] => Some((k.as_str(), v.as_str())),
                    _ => None,
                })
                .collect();
            let (id, body) = match (fields.get("id"), fields.get("body"), fields.get("msg")) {
                (Some(id), Some(body), _) => (*id, *body),
                (_, _, Some(msg)) => msg.split_once('|')?,
                _ => return None,
            };
            Some(Entry { entry: entry.clone(), id: id.parse().ok()?, body: body.to_owned(), deliveries: 1 })
        })
        .collect()
}

/// The delivery count in an extended `XPENDING` reply of one entry; `None` if it is no longer
/// pending (acked or dead-lettered by another consumer meanwhile).
fn delivery_count(reply: &Reply) -> Option<u64> {
    let Reply::Array(rows) = reply else { return None };
    let Some(Reply::Array(row)) = rows.first() else { return None };
    match row.get(3) {
        Some(Reply::Int(n)) => u64::try_from(*n).ok(),
        _ => None,
    }
}

impl Actor<StreamsProtocol> for StreamConsumer {
    type Durable = ();
    type Timer = ConsumerTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>) {
        let cmd = Cmd::XGroupCreate {
            key: self.keys.stream(),
            group: self.cfg.group.clone(),
            id: "0".to_owned(),
            mkstream: true,
        };
        self.request(ctx, Wait::Setup, cmd);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, _from: NodeId, msg: StoreMsg) {
        let StoreMsg::Reply { req, reply } = msg else { return };
        match self.waiting.take() {
            Some((awaited, wait)) if awaited == req => self.answered(ctx, wait, reply),
            other => self.waiting = other,
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, StreamsProtocol>, timer: ConsumerTimer) {
        match timer {
            ConsumerTimer::Poll => self.round(ctx),
            ConsumerTimer::Work => {
                if let Some(e) = self.working.take() {
                    self.handled(ctx, e);
                }
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "inbox": self.inbox.len(),
            "working": self.working.as_ref().map(|e| e.id),
        })
    }
}

/// What the store holds of a queue, read by [`StreamSnapshot::commands`]: the same reads on the
/// simulated store and on a real Redis, judged by [`StreamAudit`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamSnapshot {
    pub published: Vec<u64>,
    /// Each id's effect count.
    pub effects: BTreeMap<u64, u64>,
    /// The dead letters' message ids, with their delivery count and error, in order.
    pub dead: Vec<(u64, u64, String)>,
    /// Entries still pending in the group.
    pub pending: u64,
    /// Messages still waiting in the delayed set.
    pub delayed: u64,
}

impl StreamSnapshot {
    pub fn commands(keys: &StreamKeys) -> Vec<Cmd> {
        vec![
            Cmd::HGetAll { key: keys.published() },
            Cmd::HGetAll { key: keys.effects(GROUP) },
            Cmd::XRange { key: keys.dead(GROUP), start: "-".to_owned(), end: "+".to_owned(), count: None },
            Cmd::XPending { key: keys.stream(), group: GROUP.to_owned(), range: None },
            Cmd::ZRangeByScore {
                key: keys.delayed(),
                min: ScoreBound::NegInf,
                max: ScoreBound::PosInf,
                with_scores: false,
                limit: None,
            },
        ]
    }

    pub fn from_replies(replies: &[Reply]) -> StreamSnapshot {
        let at = |i: usize| replies.get(i).cloned().unwrap_or(Reply::Nil);
        let pairs = |r: &Reply| crate::txn::saga_store::pairs(r);
        let dead = match at(2) {
            Reply::Array(items) => items
                .iter()
                .filter_map(|item| {
                    let Reply::Array(pair) = item else { return None };
                    let flat = pair.get(1)?;
                    let fields: BTreeMap<String, String> = pairs(flat).into_iter().collect();
                    let id = fields
                        .get("id")
                        .cloned()
                        .or_else(|| fields.get("msg").and_then(|m| m.split_once('|')).map(|(id, _)| id.to_owned()))?;
                    Some((
                        id.parse().ok()?,
                        fields.get("deliveries").and_then(|d| d.parse().ok()).unwrap_or(0),
                        fields.get("error").cloned().unwrap_or_default(),
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        let pending = match at(3) {
            Reply::Array(summary) => match summary.first() {
                Some(Reply::Int(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            },
            _ => 0,
        };
        StreamSnapshot {
            published: pairs(&at(0)).iter().filter_map(|(k, _)| k.parse().ok()).collect(),
            effects: pairs(&at(1)).iter().filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?))).collect(),
            dead,
            pending,
            delayed: match at(4) {
                Reply::Array(items) => items.len() as u64,
                _ => 0,
            },
        }
    }
}

/// The judgement of a queue once it is quiet: each of the `messages` ids published once, and
/// then applied or dead-lettered, exactly one of the two, exactly once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamAudit {
    pub messages: u64,
    pub published: u64,
    pub applied: u64,
    pub dead_lettered: u64,
    /// Ids never published.
    pub unpublished: Vec<u64>,
    /// Published, and neither applied nor dead-lettered: lost.
    pub lost: Vec<u64>,
    /// Effects applied more than once.
    pub applied_twice: Vec<u64>,
    /// Dead-lettered more than once, or both applied and dead-lettered.
    pub settled_twice: Vec<u64>,
    pub pending: u64,
    pub delayed: u64,
    /// Whether applying twice breaks the promise (it does with dedup).
    pub dedup: bool,
}

impl StreamAudit {
    pub fn of(s: &StreamSnapshot, messages: u64, dedup: bool) -> StreamAudit {
        let published: std::collections::BTreeSet<u64> = s.published.iter().copied().collect();
        let mut dead: BTreeMap<u64, u64> = BTreeMap::new();
        for (id, _, _) in &s.dead {
            *dead.entry(*id).or_default() += 1;
        }
        let mut a = StreamAudit {
            messages,
            published: published.len() as u64,
            pending: s.pending,
            delayed: s.delayed,
            dedup,
            ..StreamAudit::default()
        };
        for id in 1..=messages {
            let applied = s.effects.get(&id).copied().unwrap_or(0);
            let buried = dead.get(&id).copied().unwrap_or(0);
            if !published.contains(&id) {
                a.unpublished.push(id);
            } else if applied == 0 && buried == 0 {
                a.lost.push(id);
            }
            if applied > 0 {
                a.applied += 1;
            }
            if buried > 0 {
                a.dead_lettered += 1;
            }
            if applied > 1 {
                a.applied_twice.push(id);
            }
            if buried > 1 || (applied > 0 && buried > 0) {
                a.settled_twice.push(id);
            }
        }
        a
    }

    pub fn holds(&self) -> bool {
        self.unpublished.is_empty()
            && self.lost.is_empty()
            && self.settled_twice.is_empty()
            && self.pending == 0
            && self.delayed == 0
            && (!self.dedup || self.applied_twice.is_empty())
    }

    /// Every message applied or dead-lettered (dead ones counted once): what the native command
    /// waits for before it audits.
    pub fn settled(s: &StreamSnapshot) -> u64 {
        let dead: std::collections::BTreeSet<u64> = s.dead.iter().map(|(id, _, _)| *id).collect();
        s.effects.keys().filter(|id| !dead.contains(id)).count() as u64 + dead.len() as u64
    }
}
