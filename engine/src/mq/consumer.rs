//! A consumer (46.2): fetches from the broker, handles one message at a time, writes its effect
//! to the database, and only then acks; a failed handler nacks with its error.
//!
//! This order is what makes delivery *at least once*: a consumer that crashes after the write and
//! before the ack has applied the effect, and the broker, never having heard the ack, delivers
//! the message again once its visibility timeout passes. Whether that second delivery applies the
//! effect twice is the database's business: with `dedup`, the write checks the message id in the
//! same transaction as the effect ([`super::db`]), which turns at-least-once into effectively
//! once. The chapter's consume loop has the same shape, but its queue forgot the message when it
//! was handed over, so there is no second delivery to dedupe, and no message either.
//!
//! A consumer without a source is a subscriber of the chapter's `PubSub`: it only answers the
//! publisher's direct calls.

use std::collections::VecDeque;

use super::producer::POISON;
use super::{Item, MqMsg, MqObs, MqProtocol, Source};
use crate::actor::{Actor, Ctx, NodeId};
use crate::sim::{Ratio, SimDuration};
use crate::timers;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub broker: NodeId,
    pub db: NodeId,
    pub source: Option<Source>,
    /// The queue a direct call's effect is recorded under (a chapter pub/sub subscriber's name).
    pub name: String,
    /// Messages asked for per fetch.
    pub prefetch: u32,
    /// A message takes from `work_min_us` to `work_max_us` to handle.
    pub work_min_us: u64,
    pub work_max_us: u64,
    /// This share of deliveries fail (besides poison messages).
    pub fail: Ratio,
    /// A poison message fails its first `poison_failures` deliveries (0: every one).
    pub poison_failures: u32,
    /// The handler fails every message handled in `[from, to)` µs: a dependency's outage.
    pub outage_us: Option<(u64, u64)>,
    pub dedup: bool,
    /// The wait before asking again after an empty fetch.
    pub poll_us: u64,
    /// How long an unanswered fetch or database write is waited for.
    pub timeout_us: u64,
    pub heartbeat_us: u64,
}

timers! {
    /// The consumer's timers.
    pub enum ConsumerTimer {
        /// Ask the broker for messages.
        Poll = 0,
        /// The fetch went unanswered.
        FetchTimeout = 1,
        /// The handler finished its work.
        Work = 2,
        /// The database did not answer the write.
        WriteTimeout = 3,
        /// Tell the group it is alive.
        Heartbeat = 4,
    }
}

/// Who is waiting for the outcome of a message: the broker (an ack or a nack) or, for the
/// chapter's `PubSub`, the publisher calling the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Broker,
    Caller(NodeId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Working,
    Writing,
}

#[derive(Clone, Debug)]
struct Current {
    item: Item,
    origin: Origin,
    phase: Phase,
}

#[derive(Clone, Debug)]
pub struct Consumer {
    cfg: ConsumerConfig,
    inbox: VecDeque<(Item, Origin)>,
    current: Option<Current>,
    fetching: bool,
}

impl Consumer {
    pub fn new(cfg: ConsumerConfig) -> Self {
        Consumer { cfg, inbox: VecDeque::new(), current: None, fetching: false }
    }

    /// Whether message `id` of `queue` is in this consumer's hands (handled or waiting to be):
    /// what the chapter's queue, which forgets a message once taken, leaves as its only copy.
    pub fn holds(&self, queue: &str, id: u64) -> bool {
        let is = |item: &Item| item.queue == queue && item.id == id;
        self.current.as_ref().is_some_and(|c| is(&c.item)) || self.inbox.iter().any(|(item, _)| is(item))
    }

    fn poll(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        let Some(source) = &self.cfg.source else { return };
        if self.current.is_some() || !self.inbox.is_empty() || self.fetching {
            return;
        }
        self.fetching = true;
        ctx.send(self.cfg.broker, MqMsg::Fetch { source: source.clone(), max: self.cfg.prefetch });
        ctx.set_timer(ConsumerTimer::FetchTimeout, SimDuration::from_micros(self.cfg.timeout_us));
    }

    /// Starts on the next message in hand, or asks for more.
    fn next(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        if self.current.is_some() {
            return;
        }
        match self.inbox.pop_front() {
            Some((item, origin)) => {
                let work = ctx.rng().between(self.cfg.work_min_us, self.cfg.work_max_us);
                self.current = Some(Current { item, origin, phase: Phase::Working });
                ctx.set_timer(ConsumerTimer::Work, SimDuration::from_micros(work));
            }
            None => self.poll(ctx),
        }
    }

    /// The outcome of the current message, told to whoever waits for it.
    fn finish(&mut self, ctx: &mut Ctx<'_, MqProtocol>, error: Option<String>) {
        let Some(c) = self.current.take() else { return };
        let Item { queue, id, attempt, .. } = c.item;
        if let Some(e) = &error {
            ctx.observe(MqObs::HandlerFailed { queue: queue.clone(), id, attempt, error: e.clone() });
        }
        let msg = match (c.origin, error) {
            (Origin::Broker, None) => (self.cfg.broker, MqMsg::Ack { queue, id, attempt }),
            (Origin::Broker, Some(error)) => (self.cfg.broker, MqMsg::Nack { queue, id, attempt, error }),
            (Origin::Caller(to), error) => (to, MqMsg::Handled { id, error }),
        };
        ctx.send(msg.0, msg.1);
        self.next(ctx);
    }

    /// Why the handler fails this message, if it does.
    fn failure(&self, ctx: &mut Ctx<'_, MqProtocol>, item: &Item) -> Option<String> {
        let now = ctx.now().as_micros();
        if item.body == POISON && (self.cfg.poison_failures == 0 || item.attempt <= self.cfg.poison_failures) {
            return Some("poison message: the handler cannot parse it".to_owned());
        }
        if self.cfg.outage_us.is_some_and(|(from, to)| (from..to).contains(&now)) {
            return Some("dependency unavailable".to_owned());
        }
        ctx.rng().chance(self.cfg.fail).then(|| "handler failed".to_owned())
    }
}

impl Actor<MqProtocol> for Consumer {
    type Durable = ();
    type Timer = ConsumerTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        if let Some(Source::Group { .. }) = &self.cfg.source {
            ctx.set_timer(ConsumerTimer::Heartbeat, SimDuration::from_micros(self.cfg.heartbeat_us));
        }
        if self.cfg.source.is_some() {
            ctx.set_timer(ConsumerTimer::Poll, SimDuration::from_micros(self.cfg.poll_us));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, MqProtocol>, from: NodeId, msg: MqMsg) {
        match msg {
            MqMsg::Deliver { items } => {
                // Even the answer to a fetch that timed out is taken: its messages are in flight
                // for this consumer all the same, and would otherwise wait out their timeout.
                self.fetching = false;
                ctx.cancel_timer(ConsumerTimer::FetchTimeout);
                let empty = items.is_empty();
                self.inbox.extend(items.into_iter().map(|i| (i, Origin::Broker)));
                if empty && self.current.is_none() && self.inbox.is_empty() {
                    ctx.set_timer(ConsumerTimer::Poll, SimDuration::from_micros(self.cfg.poll_us));
                } else {
                    self.next(ctx);
                }
            }
            MqMsg::Handle { id, body, .. } => {
                let item = Item { queue: self.cfg.name.clone(), id, body, attempt: 1 };
                self.inbox.push_back((item, Origin::Caller(from)));
                self.next(ctx);
            }
            MqMsg::Written { queue, id, attempt } => {
                let current = self.current.as_ref().is_some_and(|c| {
                    c.phase == Phase::Writing && c.item.queue == queue && c.item.id == id && c.item.attempt == attempt
                });
                if current {
                    ctx.cancel_timer(ConsumerTimer::WriteTimeout);
                    self.finish(ctx, None);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, MqProtocol>, timer: ConsumerTimer) {
        match timer {
            ConsumerTimer::Poll => self.poll(ctx),
            ConsumerTimer::FetchTimeout => {
                self.fetching = false;
                self.poll(ctx);
            }
            ConsumerTimer::Work => {
                let Some(c) = &self.current else { return };
                let item = c.item.clone();
                match self.failure(ctx, &item) {
                    Some(error) => self.finish(ctx, Some(error)),
                    None => {
                        let Item { queue, id, attempt, .. } = item;
                        ctx.send(self.cfg.db, MqMsg::Write { queue, id, attempt, dedup: self.cfg.dedup });
                        ctx.set_timer(ConsumerTimer::WriteTimeout, SimDuration::from_micros(self.cfg.timeout_us));
                        if let Some(c) = self.current.as_mut() {
                            c.phase = Phase::Writing;
                        }
                    }
                }
            }
            ConsumerTimer::WriteTimeout => self.finish(ctx, Some("database write timed out".to_owned())),
            ConsumerTimer::Heartbeat => {
                if let Some(Source::Group { group }) = &self.cfg.source {
                    ctx.send(self.cfg.broker, MqMsg::Heartbeat { group: group.clone() });
                }
                ctx.set_timer(ConsumerTimer::Heartbeat, SimDuration::from_micros(self.cfg.heartbeat_us));
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "handling": self.current.as_ref().map(|c| serde_json::json!({
                "queue": c.item.queue, "id": c.item.id, "attempt": c.item.attempt,
                "phase": if c.phase == Phase::Working { "working" } else { "writing" },
            })),
            "in_hand": self.inbox.len(),
        })
    }
}
