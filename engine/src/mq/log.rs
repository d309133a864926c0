//! The broker's persistence (46.2, exercise 2: "a message queue with persistence"): an
//! append-only log of what happened to each message, made durable by fsync under a policy, and
//! replayed after a crash.
//!
//! The chapter's queues live in memory: a crash loses every message, delayed ones included. Here
//! every change is a log record; what survives a crash is what was *synced*. The policy decides
//! when: `always` syncs each record as it is written (nothing written is ever lost; its cost,
//! one fsync per write, is not modelled), `every_ms` syncs on a timer (a crash loses up to that
//! much, as Redis's `appendfsync everysec` or RabbitMQ's lazy flush), `never` leaves it to the
//! operating system's writeback (modelled as every [`OS_WRITEBACK_US`], Linux's
//! `dirty_expire_centisecs`). A crash here is a machine's crash: what the kernel had not written
//! is gone. Publisher confirms make the policy safe for producers: a confirm is sent only once the
//! message's record is synced, so a producer that has its confirm never loses the message, and
//! one that has not keeps resending it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::queue::{Message, State};

/// When the kernel writes back what the broker never fsyncs.
pub const OS_WRITEBACK_US: u64 = 30_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    #[default]
    Always,
    EveryMs,
    Never,
}

/// One change to one message in one queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Enqueued {
        queue: String,
        id: u64,
        body: String,
        until_us: Option<u64>,
    },
    /// Failed (or timed out) after `deliveries`, to be delivered again from `until_us`.
    Retry {
        queue: String,
        id: u64,
        deliveries: u32,
        until_us: u64,
        error: String,
    },
    Acked {
        queue: String,
        id: u64,
    },
    Dead {
        queue: String,
        id: u64,
        deliveries: u32,
        error: String,
    },
}

impl Record {
    pub fn id(&self) -> u64 {
        match self {
            Record::Enqueued { id, .. }
            | Record::Retry { id, .. }
            | Record::Acked { id, .. }
            | Record::Dead { id, .. } => *id,
        }
    }
}

/// The log: what is synced (it survives a crash) and what is only written.
#[derive(Clone, Debug, Default)]
pub struct Log {
    synced: Vec<Record>,
    unsynced: Vec<Record>,
}

impl Log {
    /// A log recovered from its synced records.
    pub fn from_synced(synced: Vec<Record>) -> Self {
        Log { synced, unsynced: Vec::new() }
    }

    pub fn append(&mut self, r: Record) {
        self.unsynced.push(r);
    }

    /// Makes everything written durable; returns how many records that was.
    pub fn sync(&mut self) -> usize {
        let n = self.unsynced.len();
        self.synced.append(&mut self.unsynced);
        n
    }

    pub fn synced(&self) -> &[Record] {
        &self.synced
    }

    pub fn unsynced(&self) -> &[Record] {
        &self.unsynced
    }
}

/// Replays `records` into each queue's messages, in the order each was first queued: the last
/// record of a message decides its state.
pub fn replay(records: &[Record]) -> BTreeMap<String, Vec<Message>> {
    let mut out: BTreeMap<String, Vec<Message>> = BTreeMap::new();
    let mut index: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for r in records {
        match r {
            Record::Enqueued { queue, id, body, until_us } => {
                let list = out.entry(queue.clone()).or_default();
                index.entry((queue.clone(), *id)).or_insert_with(|| {
                    let state = until_us.map_or(State::Ready, |until_us| State::Delayed { until_us });
                    list.push(Message { id: *id, body: body.clone(), deliveries: 0, last_error: None, state });
                    list.len() - 1
                });
            }
            Record::Retry { queue, id, deliveries, until_us, error } => {
                if let Some(m) = find(&mut out, &index, queue, *id) {
                    m.deliveries = *deliveries;
                    m.last_error = Some(error.clone());
                    m.state = State::Delayed { until_us: *until_us };
                }
            }
            Record::Acked { queue, id } => {
                if let Some(m) = find(&mut out, &index, queue, *id) {
                    m.state = State::Acked;
                }
            }
            Record::Dead { queue, id, deliveries, error } => {
                if let Some(m) = find(&mut out, &index, queue, *id) {
                    m.deliveries = *deliveries;
                    m.last_error = Some(error.clone());
                    m.state = State::Dead { error: error.clone() };
                }
            }
        }
    }
    out
}

fn find<'a>(
    out: &'a mut BTreeMap<String, Vec<Message>>,
    index: &BTreeMap<(String, u64), usize>,
    queue: &str,
    id: u64,
) -> Option<&'a mut Message> {
    let i = *index.get(&(queue.to_owned(), id))?;
    out.get_mut(queue)?.get_mut(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enq(id: u64) -> Record {
        Record::Enqueued { queue: "q".into(), id, body: format!("m{id}"), until_us: None }
    }

    #[test]
    fn only_synced_records_survive_and_the_last_record_decides() {
        let mut log = Log::default();
        log.append(enq(3));
        log.append(enq(1));
        log.append(Record::Enqueued { queue: "q".into(), id: 2, body: String::new(), until_us: Some(900) });
        log.append(Record::Retry { queue: "q".into(), id: 3, deliveries: 2, until_us: 500, error: "boom".into() });
        assert_eq!(log.sync(), 4);
        log.append(Record::Acked { queue: "q".into(), id: 1 });
        log.append(enq(4));
        // The crash: only the synced records come back; message 1's ack and message 4 are lost.
        let recovered = Log::from_synced(log.synced().to_vec());
        assert!(recovered.unsynced().is_empty());
        let queues = replay(recovered.synced());
        let q = &queues["q"];
        let ids: Vec<u64> = q.iter().map(|m| m.id).collect();
        assert_eq!(ids, [3, 1, 2], "first-queued order, not id order");
        assert_eq!(q[0].state, State::Delayed { until_us: 500 });
        assert_eq!((q[0].deliveries, q[0].last_error.as_deref()), (2, Some("boom")));
        assert_eq!(q[1].state, State::Ready, "its ack was never synced");
        assert_eq!(q[2].state, State::Delayed { until_us: 900 }, "a delayed message keeps its time");
    }

    #[test]
    fn acked_and_dead_are_final_and_duplicates_are_ignored() {
        let records = vec![
            enq(1),
            enq(1),
            Record::Acked { queue: "q".into(), id: 1 },
            enq(2),
            Record::Dead { queue: "q".into(), id: 2, deliveries: 5, error: "poison".into() },
            Record::Acked { queue: "other".into(), id: 9 },
        ];
        let queues = replay(&records);
        assert_eq!(queues["q"].len(), 2);
        assert_eq!(queues["q"][0].state, State::Acked);
        assert_eq!(queues["q"][1].state, State::Dead { error: "poison".into() });
        assert_eq!(queues["q"][1].deliveries, 5);
        assert!(!queues.contains_key("other"), "a record for an unknown message changes nothing");
    }
}
