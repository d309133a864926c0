//! Message queues (46.2, exercise 2): reliable delivery with acknowledgements, redelivery after a
//! visibility timeout, retries with backoff, dead letters, delayed delivery, routing, pub/sub,
//! persistence with publisher confirms, keyed partitions with consumer groups, and idempotent
//! consumers.
//!
//! What the chapter's code gets wrong: its `queue.get()` removes a message before it is processed
//! (a consumer that crashes before `ack` loses it, and `ack` changes nothing), its `nack`
//! re-publishes at once (a poison message spends its retries in a burst), nothing deduplicates,
//! its `PubSub.publish` awaits handlers one after another and swallows their errors, its
//! `DelayedMessageQueue` re-sorts its whole list on every schedule, must be polled and loses
//! everything on a crash, and its `_exchanges` is never used.
//!
//! The pieces: [`queue`] (one queue's states), [`exchange`] (routing), [`log`] (the broker's
//! append-only log and its fsync policy), [`broker`] (the broker actor), [`producer`],
//! [`consumer`] and [`db`] (the consumers' database, where dedup lives).

pub mod broker;
pub mod consumer;
pub mod db;
pub mod exchange;
pub mod log;
pub mod producer;
pub mod queue;
pub mod streams;

use serde::{Deserialize, Serialize};

use crate::actor::{NodeId, Protocol};

#[derive(Debug)]
pub struct MqProtocol;

impl Protocol for MqProtocol {
    type Msg = MqMsg;
    type Obs = MqObs;
}

/// Where a consumer takes its messages from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// These queues, competing with any other consumer of them.
    Queues { queues: Vec<String> },
    /// The partitions the broker assigns this member of `group`.
    Group { group: String },
}

/// A message handed to a consumer, with the queue it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub queue: String,
    pub id: u64,
    pub body: String,
    /// Which delivery this is (1 for the first).
    pub attempt: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MqMsg {
    /// Producer → broker: publish message `id` to `exchange` with routing `key`, deliverable
    /// after `delay_us`. Sent again, with the same id, until confirmed or refused.
    Publish {
        exchange: String,
        key: String,
        id: u64,
        body: String,
        delay_us: u64,
    },
    /// Broker → producer: the message is stored (durably, with publisher confirms).
    Confirm {
        id: u64,
    },
    /// Broker → producer: the message was not taken, and why.
    Refused {
        id: u64,
        reason: String,
    },
    /// Consumer → broker: up to `max` messages, please (an empty answer means none is ready).
    Fetch {
        source: Source,
        max: u32,
    },
    /// Consumer → broker: still alive (keeps a group member's partitions assigned to it).
    Heartbeat {
        group: String,
    },
    Deliver {
        items: Vec<Item>,
    },
    Ack {
        queue: String,
        id: u64,
        attempt: u32,
    },
    Nack {
        queue: String,
        id: u64,
        attempt: u32,
        error: String,
    },
    /// Consumer → database: apply message `id`'s effect; with `dedup`, only if not applied yet
    /// (the check and the effect in one write).
    Write {
        queue: String,
        id: u64,
        attempt: u32,
        dedup: bool,
    },
    Written {
        queue: String,
        id: u64,
        attempt: u32,
    },
    /// The chapter's `PubSub`: the publisher calls a subscriber's handler directly.
    Handle {
        id: u64,
        topic: String,
        body: String,
    },
    Handled {
        id: u64,
        error: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MqObs {
    /// A producer published message `id` (its first send).
    Published {
        id: u64,
        key: String,
        delay_us: u64,
    },
    /// The producer got its confirm: the broker promised to keep the message.
    Confirmed {
        id: u64,
    },
    Refused {
        id: u64,
        reason: String,
    },
    /// The broker queued a copy of `id` in `queue` (deliverable from `until_us` if delayed).
    Enqueued {
        queue: String,
        id: u64,
        until_us: Option<u64>,
    },
    Delivered {
        queue: String,
        id: u64,
        attempt: u32,
        consumer: NodeId,
    },
    Acked {
        queue: String,
        id: u64,
    },
    /// A failed or timed-out delivery, delivered again no earlier than `at_us` (at once in the
    /// chapter's mode).
    Retry {
        queue: String,
        id: u64,
        at_us: u64,
        error: String,
    },
    Dead {
        queue: String,
        id: u64,
        deliveries: u32,
        error: String,
    },
    /// The broker made `records` more log records durable.
    Synced {
        records: u64,
    },
    /// The broker came back from its log with `live` messages still to deliver.
    Recovered {
        records: u64,
        live: u64,
    },
    /// A consumer group's partitions were reassigned (partition → member).
    Assigned {
        group: String,
        owners: Vec<(String, NodeId)>,
    },
    /// A handler failed a delivery.
    HandlerFailed {
        queue: String,
        id: u64,
        attempt: u32,
        error: String,
    },
    /// The database applied message `id`'s effect; `again` when it had been applied before.
    Applied {
        queue: String,
        id: u64,
        again: bool,
    },
    /// The database found `id` applied already and skipped it (dedup).
    Skipped {
        queue: String,
        id: u64,
    },
    /// The chapter's `PubSub` caught a handler's error and dropped it.
    Swallowed {
        subscriber: NodeId,
        id: u64,
        error: String,
    },
}
