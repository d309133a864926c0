//! A producer (46.2): publishes its messages one every `interval_us` and resends each until the
//! broker confirms or refuses it, so a message lost on the way, or a broker that crashed before
//! making it durable, costs a resend rather than the message. Ids are the producer's own (its
//! `first_id` onwards), so a resend is recognised as the same message.
//!
//! With `chapter_pubsub`, it is the chapter's `PubSub.publish` instead: no broker, each
//! subscriber's handler called in turn and awaited, an error caught and dropped, and the next
//! message only once every handler has returned. A slow subscriber stalls the publisher, and a
//! failing one loses its messages without anyone hearing of it.

use std::collections::{BTreeMap, VecDeque};

use super::{MqMsg, MqObs, MqProtocol};
use crate::actor::{Actor, Ctx, NodeId};
use crate::sim::{Ratio, SimDuration};
use crate::timers;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerConfig {
    pub broker: NodeId,
    pub exchange: String,
    /// Routing keys, one drawn at random for each message.
    pub keys: Vec<String>,
    pub messages: u64,
    pub interval_us: u64,
    pub first_id: u64,
    /// This share of messages is delayed by `delay_us`.
    pub delay: Ratio,
    pub delay_us: u64,
    /// Every `poison_every`-th message (0: none) is one every handler fails.
    pub poison_every: u64,
    pub resend_us: u64,
    /// The chapter's `PubSub`: the subscribers and the topic each subscribed to.
    pub chapter_pubsub: Option<Vec<(NodeId, String)>>,
    /// How long the chapter's publisher waits on one handler before counting it failed.
    pub call_timeout_us: u64,
}

/// The body of a message every handler fails.
pub const POISON: &str = "poison";

timers! {
    /// The producer's timers.
    pub enum ProducerTimer {
        /// Publish the next message.
        Next = 0,
        /// Resend what is not confirmed yet.
        Resend = 1,
        /// The chapter's publisher gives up on the handler it awaits.
        Call = 2,
    }
}

#[derive(Clone, Debug)]
struct Unconfirmed {
    key: String,
    body: String,
    delay_us: u64,
}

/// The chapter's publish in progress: the message and the subscribers still to call.
#[derive(Clone, Debug)]
struct Calling {
    id: u64,
    topic: String,
    body: String,
    left: VecDeque<NodeId>,
    /// The subscriber whose handler is awaited.
    awaiting: Option<NodeId>,
}

#[derive(Clone, Debug)]
pub struct Producer {
    cfg: ProducerConfig,
    sent: u64,
    unconfirmed: BTreeMap<u64, Unconfirmed>,
    calling: Option<Calling>,
}

impl Producer {
    pub fn new(cfg: ProducerConfig) -> Self {
        Producer { cfg, sent: 0, unconfirmed: BTreeMap::new(), calling: None }
    }

    fn next_message(&mut self, ctx: &mut Ctx<'_, MqProtocol>) -> (u64, String, String, u64) {
        self.sent += 1;
        let id = self.cfg.first_id + self.sent - 1;
        let key = ctx.rng().pick(&self.cfg.keys).cloned().unwrap_or_default();
        let poison = self.cfg.poison_every > 0 && self.sent.is_multiple_of(self.cfg.poison_every);
        let body = if poison { POISON.to_owned() } else { format!("m{id}") };
        let delay_us = if ctx.rng().chance(self.cfg.delay) { self.cfg.delay_us } else { 0 };
        ctx.observe(MqObs::Published { id, key: key.clone(), delay_us });
        (id, key, body, delay_us)
    }

    fn send(&self, ctx: &mut Ctx<'_, MqProtocol>, id: u64, u: &Unconfirmed) {
        let msg = MqMsg::Publish {
            exchange: self.cfg.exchange.clone(),
            key: u.key.clone(),
            id,
            body: u.body.clone(),
            delay_us: u.delay_us,
        };
        ctx.send(self.cfg.broker, msg);
    }

    /// The chapter's publisher calls the next subscriber, or returns from `publish`.
    fn call_next(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        let Some(c) = self.calling.as_mut() else { return };
        match c.left.pop_front() {
            Some(to) => {
                c.awaiting = Some(to);
                ctx.send(to, MqMsg::Handle { id: c.id, topic: c.topic.clone(), body: c.body.clone() });
                ctx.set_timer(ProducerTimer::Call, SimDuration::from_micros(self.cfg.call_timeout_us));
            }
            None => {
                ctx.observe(MqObs::Confirmed { id: c.id });
                self.calling = None;
                ctx.cancel_timer(ProducerTimer::Call);
                if self.sent < self.cfg.messages {
                    ctx.set_timer(ProducerTimer::Next, SimDuration::from_micros(self.cfg.interval_us));
                }
            }
        }
    }
}

impl Actor<MqProtocol> for Producer {
    type Durable = ();
    type Timer = ProducerTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, MqProtocol>) {
        if self.sent < self.cfg.messages {
            ctx.set_timer(ProducerTimer::Next, SimDuration::from_micros(self.cfg.interval_us));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, MqProtocol>, from: NodeId, msg: MqMsg) {
        match msg {
            MqMsg::Confirm { id } if self.unconfirmed.remove(&id).is_some() => {
                ctx.observe(MqObs::Confirmed { id });
            }
            MqMsg::Refused { id, .. } => {
                self.unconfirmed.remove(&id);
            }
            MqMsg::Handled { id, error } => {
                let awaited = self.calling.as_ref().is_some_and(|c| c.id == id && c.awaiting == Some(from));
                if awaited {
                    if let Some(error) = error {
                        ctx.observe(MqObs::Swallowed { subscriber: from, id, error });
                    }
                    self.call_next(ctx);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, MqProtocol>, timer: ProducerTimer) {
        match timer {
            ProducerTimer::Next => {
                let (id, key, body, delay_us) = self.next_message(ctx);
                if let Some(subscribers) = &self.cfg.chapter_pubsub {
                    let left = subscribers.iter().filter(|(_, topic)| *topic == key).map(|(n, _)| *n).collect();
                    self.calling = Some(Calling { id, topic: key, body, left, awaiting: None });
                    self.call_next(ctx);
                    return;
                }
                let u = Unconfirmed { key, body, delay_us };
                self.send(ctx, id, &u);
                self.unconfirmed.insert(id, u);
                ctx.set_timer(ProducerTimer::Resend, SimDuration::from_micros(self.cfg.resend_us));
                if self.sent < self.cfg.messages {
                    ctx.set_timer(ProducerTimer::Next, SimDuration::from_micros(self.cfg.interval_us));
                }
            }
            ProducerTimer::Resend => {
                for (&id, u) in &self.unconfirmed {
                    self.send(ctx, id, u);
                }
                if !self.unconfirmed.is_empty() {
                    ctx.set_timer(ProducerTimer::Resend, SimDuration::from_micros(self.cfg.resend_us));
                }
            }
            ProducerTimer::Call => {
                // The chapter awaits for ever; here a lost call counts as the handler's error,
                // which it then swallows like any other.
                if let Some(c) = &self.calling
                    && let Some(subscriber) = c.awaiting
                {
                    let error = "no answer from the handler".to_owned();
                    ctx.observe(MqObs::Swallowed { subscriber, id: c.id, error });
                }
                self.call_next(ctx);
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "sent": self.sent, "unconfirmed": self.unconfirmed.len(), "calling": self.calling.as_ref().map(|c| c.id) })
    }
}
