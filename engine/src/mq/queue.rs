//! One named queue of the broker (46.2): what "reliable delivery" means, as a data structure the
//! broker actor drives with its own clock.
//!
//! What the chapter's code gets wrong: its `queue.get()` removes a message before it has been
//! processed, so a consumer that crashes between `consume` and `ack` loses it, and its `ack`
//! changes nothing; its `nack` re-publishes at once, so a message that always fails (a poison
//! message) spins: all its retries are spent at once, so a failure that would have passed in a
//! second (a database restarting) dead-letters the message in microseconds. Here a consumed message is *in flight* until acked, with a deadline
//! (the visibility timeout, as in SQS and Redis Streams' pending entries): past it, the message is
//! delivered again. A nack delays the next delivery by an exponential backoff with full jitter,
//! and after `max_deliveries` the message goes to the dead letters with its last error and its
//! delivery count, instead of spinning. [`Mode::Chapter`] keeps the chapter's behaviour, for the
//! lab to show it failing beside the fix.
//!
//! Cost: every operation is O(log n). Deadlines and delays sit in one min-heap ordered by time;
//! [`Queue::tick`] pops only what is due, so its cost does not grow with the number of messages
//! waiting (a heap entry made stale by an ack or a redelivery is dropped when it surfaces: each
//! carries the delivery it was set for). Capacity bounds what is ready, in flight or delayed; a
//! full queue refuses a publish with [`Refused::Full`] (the broker makes the producer wait, up to
//! its timeout, as the chapter's 5 s `put`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::actor::NodeId;
use crate::sim::Rng;

/// How often the chapter's `process_due_messages` is polled: its delayed messages become ready
/// only then.
pub const CHAPTER_POLL_US: u64 = 1_000_000;

/// How a queue delivers: reliably, or as the chapter's code does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// In flight until acked, redelivered after the visibility timeout, backoff on nack, dead
    /// letters after `max_deliveries`.
    #[default]
    Reliable,
    /// The chapter's `MessageQueue`: consuming removes the message, ack does nothing, nack
    /// re-publishes it at once (dead letters after its `max_retries` failures), and delayed
    /// messages wait for the next poll of its `DelayedMessageQueue` (every second).
    Chapter,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueConfig {
    pub mode: Mode,
    /// Messages ready, in flight or delayed, at most.
    pub capacity: usize,
    /// How long a consumed message stays in flight before it is delivered again.
    pub visibility_us: u64,
    /// Deliveries before a message is dead-lettered (its first delivery counts).
    pub max_deliveries: u32,
    /// The first retry's backoff; each further retry doubles it, up to `backoff_max_us`.
    pub backoff_base_us: u64,
    pub backoff_max_us: u64,
    /// A partition, delivered in order: a retried message goes back to the head, where it came
    /// from. Otherwise (a work queue) it goes to the tail, and the messages behind it are not
    /// held up, at the price of their order.
    pub ordered: bool,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            mode: Mode::Reliable,
            capacity: 1_000,
            visibility_us: 1_000_000,
            max_deliveries: 5,
            backoff_base_us: 100_000,
            backoff_max_us: 5_000_000,
            ordered: false,
        }
    }
}

/// Where a message is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Ready,
    /// Delivered to `consumer`, not acked yet; delivered again at `deadline_us` if still not.
    InFlight {
        consumer: NodeId,
        deadline_us: u64,
    },
    /// Waiting for its next delivery after a nack (or a delayed publish).
    Delayed {
        until_us: u64,
    },
    Acked,
    /// Given up after `max_deliveries`; `error` is the last one reported.
    Dead {
        error: String,
    },
    /// The chapter's mode: taken off the queue by `consume`, whatever happens to it next.
    Taken,
}

/// A message and its history at the broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: u64,
    pub body: String,
    /// Deliveries so far (the first one included).
    pub deliveries: u32,
    pub last_error: Option<String>,
    #[serde(flatten)]
    pub state: State,
}

/// A message handed to a consumer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: u64,
    pub body: String,
    /// Which delivery this is (1 for the first): an ack must name it, so a late ack of an
    /// earlier delivery cannot ack the message another consumer now holds.
    pub attempt: u32,
}

/// Why a publish was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refused {
    #[error("the queue is full ({capacity} messages)")]
    Full { capacity: usize },
    #[error("message {id} was already published")]
    Duplicate { id: u64 },
}

/// Why an ack or a nack changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Stale {
    #[error("no message {id}")]
    Unknown { id: u64 },
    #[error(
        "message {id} is not in flight with this consumer and delivery (it timed out and was delivered again, or was already settled)"
    )]
    NotHeld { id: u64 },
}

/// What a nack or an expiry did with a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "then", rename_all = "snake_case")]
pub enum Next {
    /// Delivered again no earlier than `at_us`.
    Retry { at_us: u64 },
    /// Ready again at once (the chapter's nack).
    Requeued,
    /// Dead-lettered after its `deliveries`.
    Dead { deliveries: u32 },
}

/// What [`Queue::tick`] found due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Due {
    /// An in-flight message's visibility timeout passed without an ack.
    Expired { id: u64, consumer: NodeId, next: Next },
    /// A delayed message is ready.
    Ready { id: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Wake {
    /// The deadline of this delivery (its attempt number).
    Deadline(u32),
    /// The end of a delay set at this delivery count.
    Delay(u32),
}

#[derive(Clone, Debug, Default)]
pub struct Queue {
    cfg: QueueConfig,
    messages: BTreeMap<u64, Message>,
    ready: VecDeque<u64>,
    wakes: BinaryHeap<Reverse<(u64, u64, Wake)>>,
    /// Messages ready, in flight or delayed.
    live: usize,
}

impl Queue {
    pub fn new(cfg: QueueConfig) -> Self {
        Queue { cfg, ..Queue::default() }
    }

    pub fn config(&self) -> &QueueConfig {
        &self.cfg
    }

    /// Adds a message, ready at once or after `delay_us`.
    pub fn publish(&mut self, id: u64, body: String, now_us: u64, delay_us: u64) -> Result<(), Refused> {
        if self.messages.contains_key(&id) {
            return Err(Refused::Duplicate { id });
        }
        if self.live >= self.cfg.capacity {
            return Err(Refused::Full { capacity: self.cfg.capacity });
        }
        let state = if delay_us == 0 {
            self.ready.push_back(id);
            State::Ready
        } else {
            let mut until_us = now_us.saturating_add(delay_us);
            if self.cfg.mode == Mode::Chapter {
                until_us = until_us.div_ceil(CHAPTER_POLL_US).saturating_mul(CHAPTER_POLL_US);
            }
            self.wakes.push(Reverse((until_us, id, Wake::Delay(0))));
            State::Delayed { until_us }
        };
        self.messages.insert(id, Message { id, body, deliveries: 0, last_error: None, state });
        self.live += 1;
        Ok(())
    }

    /// The oldest ready message, delivered to `consumer`: in flight until acked (or, in the
    /// chapter's mode, taken off the queue for good).
    pub fn consume(&mut self, consumer: NodeId, now_us: u64) -> Option<Delivery> {
        let id = self.ready.pop_front()?;
        let m = self.messages.get_mut(&id)?;
        m.deliveries += 1;
        match self.cfg.mode {
            Mode::Reliable => {
                let deadline_us = now_us.saturating_add(self.cfg.visibility_us);
                m.state = State::InFlight { consumer, deadline_us };
                self.wakes.push(Reverse((deadline_us, id, Wake::Deadline(m.deliveries))));
            }
            Mode::Chapter => {
                m.state = State::Taken;
                self.live -= 1;
            }
        }
        Some(Delivery { id, body: m.body.clone(), attempt: m.deliveries })
    }

    /// Settles delivery `attempt` of message `id`, held by `consumer`. The chapter's ack changes
    /// nothing (its message left the queue when it was consumed).
    pub fn ack(&mut self, id: u64, consumer: NodeId, attempt: u32) -> Result<(), Stale> {
        if self.cfg.mode == Mode::Chapter {
            return if self.messages.contains_key(&id) { Ok(()) } else { Err(Stale::Unknown { id }) };
        }
        let m = self.held(id, consumer, attempt)?;
        m.state = State::Acked;
        self.live -= 1;
        Ok(())
    }

    /// The consumer failed delivery `attempt` of `id` with `error`: retry after a backoff, or
    /// dead-letter it after `max_deliveries`. The chapter's nack puts it back at once.
    pub fn nack(
        &mut self,
        id: u64,
        consumer: NodeId,
        attempt: u32,
        error: String,
        now_us: u64,
        rng: &mut Rng,
    ) -> Result<Next, Stale> {
        if self.cfg.mode == Mode::Chapter {
            let m = self.messages.get_mut(&id).ok_or(Stale::Unknown { id })?;
            m.last_error = Some(error.clone());
            if m.deliveries >= self.cfg.max_deliveries {
                m.state = State::Dead { error };
                return Ok(Next::Dead { deliveries: m.deliveries });
            }
            m.state = State::Ready;
            self.ready.push_back(id);
            self.live += 1;
            return Ok(Next::Requeued);
        }
        self.held(id, consumer, attempt)?;
        Ok(self.retry_or_bury(id, error, now_us, rng))
    }

    /// Everything due at `now_us`: deliveries whose visibility timeout passed (delivered again
    /// after a backoff, or dead-lettered) and delays that ended (ready again).
    pub fn tick(&mut self, now_us: u64, rng: &mut Rng) -> Vec<Due> {
        let mut due = Vec::new();
        while let Some(&Reverse((at, id, wake))) = self.wakes.peek() {
            if at > now_us {
                break;
            }
            self.wakes.pop();
            let Some(m) = self.messages.get_mut(&id) else { continue };
            match (wake, &m.state) {
                (Wake::Deadline(attempt), State::InFlight { consumer, .. }) if attempt == m.deliveries => {
                    let consumer = *consumer;
                    let next = self.retry_or_bury(id, "visibility timeout".to_owned(), now_us, rng);
                    due.push(Due::Expired { id, consumer, next });
                }
                (Wake::Delay(set_at), State::Delayed { .. }) if set_at == m.deliveries => {
                    m.state = State::Ready;
                    if self.cfg.ordered && set_at > 0 {
                        self.ready.push_front(id);
                    } else {
                        self.ready.push_back(id);
                    }
                    due.push(Due::Ready { id });
                }
                _ => {}
            }
        }
        due
    }

    /// When the next deadline or delay falls (possibly a stale one, which `tick` then skips):
    /// when the broker's timer should fire.
    pub fn next_wake_us(&self) -> Option<u64> {
        self.wakes.peek().map(|Reverse((at, _, _))| *at)
    }

    pub fn message(&self, id: u64) -> Option<&Message> {
        self.messages.get(&id)
    }

    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.values()
    }

    /// Ready, in flight or delayed.
    pub fn live(&self) -> usize {
        self.live
    }

    /// In flight or delayed: a queue that must deliver in order (a partition) waits for these
    /// to settle before it delivers the next message.
    pub fn busy(&self) -> usize {
        self.live - self.ready.len()
    }

    /// A copy that could not be queued (its subscriber's queue was full), dead-lettered at once
    /// with `error`, so the overflow is reported instead of dropped.
    pub fn bury(&mut self, id: u64, body: String, error: String) {
        if self.messages.contains_key(&id) {
            return;
        }
        let state = State::Dead { error: error.clone() };
        self.messages.insert(id, Message { id, body, deliveries: 0, last_error: Some(error), state });
    }

    /// Puts back a message as the broker's log last recorded it (recovery after a crash): ready,
    /// delayed, acked or dead. One in flight when the broker crashed comes back ready. Messages
    /// are restored in the order they were first queued, so FIFO order survives.
    pub fn restore(&mut self, mut m: Message) {
        if self.messages.contains_key(&m.id) {
            return;
        }
        match m.state {
            State::Ready | State::InFlight { .. } | State::Taken => {
                m.state = State::Ready;
                self.ready.push_back(m.id);
                self.live += 1;
            }
            State::Delayed { until_us } => {
                self.wakes.push(Reverse((until_us, m.id, Wake::Delay(m.deliveries))));
                self.live += 1;
            }
            State::Acked | State::Dead { .. } => {}
        }
        self.messages.insert(m.id, m);
    }

    fn held(&mut self, id: u64, consumer: NodeId, attempt: u32) -> Result<&mut Message, Stale> {
        let m = self.messages.get_mut(&id).ok_or(Stale::Unknown { id })?;
        match m.state {
            State::InFlight { consumer: c, .. } if c == consumer && m.deliveries == attempt => Ok(m),
            _ => Err(Stale::NotHeld { id }),
        }
    }

    /// After a failed delivery: dead after `max_deliveries`, else delayed by the backoff of this
    /// attempt with full jitter (AWS's "full jitter": uniform in [0, min(max, base · 2^(n-1))]).
    fn retry_or_bury(&mut self, id: u64, error: String, now_us: u64, rng: &mut Rng) -> Next {
        let Some(m) = self.messages.get_mut(&id) else { return Next::Dead { deliveries: 0 } };
        m.last_error = Some(error.clone());
        if m.deliveries >= self.cfg.max_deliveries {
            m.state = State::Dead { error };
            self.live -= 1;
            return Next::Dead { deliveries: m.deliveries };
        }
        let exponent = m.deliveries.saturating_sub(1).min(32);
        let ceiling = self.cfg.backoff_base_us.saturating_mul(1u64 << exponent).min(self.cfg.backoff_max_us);
        let at_us = now_us.saturating_add(rng.between(0, ceiling));
        m.state = State::Delayed { until_us: at_us };
        self.wakes.push(Reverse((at_us, id, Wake::Delay(m.deliveries))));
        Next::Retry { at_us }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: NodeId = NodeId(1);
    const C2: NodeId = NodeId(2);

    fn queue(mode: Mode) -> Queue {
        Queue::new(QueueConfig {
            mode,
            capacity: 3,
            visibility_us: 1_000,
            max_deliveries: 3,
            backoff_base_us: 100,
            backoff_max_us: 1_000,
            ordered: false,
        })
    }

    fn body(s: &str) -> String {
        s.to_owned()
    }

    #[test]
    fn a_consumed_message_is_in_flight_until_acked_and_redelivered_if_not() {
        let mut q = queue(Mode::Reliable);
        let mut rng = Rng::new(1);
        q.publish(7, body("a"), 0, 0).unwrap();
        let d = q.consume(C1, 10).unwrap();
        assert_eq!((d.id, d.attempt), (7, 1));
        assert_eq!(q.message(7).unwrap().state, State::InFlight { consumer: C1, deadline_us: 1_010 });
        assert!(q.consume(C2, 20).is_none(), "nobody else gets it while it is in flight");
        assert!(q.tick(1_009, &mut rng).is_empty());
        // C1 crashed: past the deadline the message is delivered again, after a backoff.
        let due = q.tick(1_010, &mut rng);
        let Due::Expired { id: 7, consumer: C1, next: Next::Retry { at_us } } = due[0].clone() else {
            panic!("{due:?}")
        };
        assert!((1_010..=1_110).contains(&at_us), "the first retry waits up to 100 µs: {at_us}");
        assert_eq!(q.tick(at_us, &mut rng), vec![Due::Ready { id: 7 }]);
        let again = q.consume(C2, at_us).unwrap();
        assert_eq!(again.attempt, 2);
        assert_eq!(q.ack(7, C1, 1), Err(Stale::NotHeld { id: 7 }), "C1's late ack of its delivery settles nothing");
        q.ack(7, C2, 2).unwrap();
        assert_eq!(q.message(7).unwrap().state, State::Acked);
        assert_eq!(q.live(), 0);
        assert!(q.tick(u64::MAX, &mut rng).is_empty(), "the acked delivery's deadline is stale");
    }

    #[test]
    fn a_poison_message_backs_off_and_is_dead_lettered_after_max_deliveries() {
        let mut q = queue(Mode::Reliable);
        let mut rng = Rng::new(2);
        q.publish(1, body("poison"), 0, 0).unwrap();
        let mut now = 0;
        let mut ceilings = Vec::new();
        for attempt in 1..=3 {
            let d = q.consume(C1, now).unwrap();
            assert_eq!(d.attempt, attempt);
            match q.nack(1, C1, attempt, format!("boom {attempt}"), now, &mut rng).unwrap() {
                Next::Retry { at_us } => {
                    ceilings.push(at_us - now);
                    assert_eq!(q.tick(at_us, &mut rng), vec![Due::Ready { id: 1 }]);
                    now = at_us;
                }
                Next::Dead { deliveries } => assert_eq!((attempt, deliveries), (3, 3)),
                Next::Requeued => panic!("a reliable queue never requeues at once"),
            }
        }
        assert!(ceilings[0] <= 100 && ceilings[1] <= 200, "backoff doubles, with jitter: {ceilings:?}");
        let m = q.message(1).unwrap();
        assert_eq!(m.state, State::Dead { error: "boom 3".to_owned() });
        assert_eq!((m.deliveries, m.last_error.as_deref()), (3, Some("boom 3")));
        assert!(q.consume(C1, now).is_none());
    }

    #[test]
    fn the_chapters_queue_loses_a_message_whose_consumer_crashes_and_spins_a_poison_one() {
        let mut q = queue(Mode::Chapter);
        let mut rng = Rng::new(3);
        q.publish(1, body("a"), 0, 0).unwrap();
        q.consume(C1, 0).unwrap();
        // C1 crashes before acking: nothing will ever deliver message 1 again.
        assert!(q.tick(u64::MAX, &mut rng).is_empty());
        assert!(q.consume(C2, 10_000).is_none());
        assert_eq!(q.message(1).unwrap().state, State::Taken);
        // A poison message: nack puts it back at once, so its three deliveries are spent in
        // the same microsecond and it is dead before a passing failure could have passed.
        q.publish(2, body("poison"), 0, 0).unwrap();
        for attempt in 1..=3 {
            let d = q.consume(C1, 0).unwrap();
            assert_eq!((d.id, d.attempt), (2, attempt));
            let next = q.nack(2, C1, attempt, "boom".to_owned(), 0, &mut rng).unwrap();
            assert_eq!(next, if attempt < 3 { Next::Requeued } else { Next::Dead { deliveries: 3 } });
        }
        assert_eq!(q.message(2).unwrap().state, State::Dead { error: "boom".to_owned() });
        // Its delayed messages wait for the next poll of the whole second.
        q.publish(3, body("later"), 200_000, 500_000).unwrap();
        assert_eq!(q.message(3).unwrap().state, State::Delayed { until_us: 1_000_000 });
    }

    #[test]
    fn restored_messages_keep_their_state_and_order() {
        let mut q = queue(Mode::Reliable);
        let mut rng = Rng::new(6);
        let m = |id, state| Message { id, body: String::new(), deliveries: 1, last_error: None, state };
        q.restore(m(9, State::Ready));
        q.restore(m(4, State::InFlight { consumer: C1, deadline_us: 5 }));
        q.restore(m(5, State::Delayed { until_us: 300 }));
        q.restore(m(6, State::Acked));
        q.restore(m(7, State::Dead { error: "x".to_owned() }));
        assert_eq!((q.live(), q.busy()), (3, 1));
        assert_eq!(q.consume(C2, 0).unwrap().id, 9, "first queued, first out, whatever the ids");
        assert_eq!(q.consume(C2, 0).unwrap().id, 4, "in flight at the crash: ready again");
        assert_eq!(q.tick(300, &mut rng), vec![Due::Ready { id: 5 }]);
        q.bury(8, body("overflow"), "queue full".to_owned());
        assert_eq!(q.message(8).unwrap().state, State::Dead { error: "queue full".to_owned() });
        assert_eq!(q.live(), 3, "a buried copy takes no room");
    }

    #[test]
    fn a_full_queue_refuses_and_a_delayed_publish_waits() {
        let mut q = queue(Mode::Reliable);
        let mut rng = Rng::new(4);
        q.publish(1, body("now"), 0, 0).unwrap();
        q.publish(2, body("later"), 0, 500).unwrap();
        q.publish(3, body("now too"), 0, 0).unwrap();
        assert_eq!(q.publish(4, body("x"), 0, 0), Err(Refused::Full { capacity: 3 }));
        assert_eq!(q.publish(1, body("again"), 0, 0), Err(Refused::Duplicate { id: 1 }));
        assert_eq!(q.consume(C1, 0).unwrap().id, 1);
        assert_eq!(q.consume(C1, 0).unwrap().id, 3, "the delayed one is not ready yet");
        assert!(q.consume(C1, 0).is_none());
        assert_eq!(q.next_wake_us(), Some(500));
        assert_eq!(q.tick(500, &mut rng), vec![Due::Ready { id: 2 }]);
        assert_eq!(q.consume(C1, 500).unwrap().id, 2);
        q.ack(1, C1, 1).unwrap();
        q.publish(4, body("room again"), 600, 0).unwrap();
    }

    /// Random publishes, consumes, acks, nacks and ticks on many seeds: the counts always agree
    /// with the states, the ready list holds exactly the ready messages, and once everything
    /// is due and nobody consumes any more, every message is acked, dead or ready.
    #[test]
    fn the_books_balance_under_random_operations() {
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let mut q = Queue::new(QueueConfig {
                capacity: 20,
                visibility_us: 50,
                max_deliveries: 3,
                backoff_base_us: 10,
                backoff_max_us: 80,
                ..QueueConfig::default()
            });
            let mut held: Vec<(NodeId, Delivery)> = Vec::new();
            let mut now = 0;
            for step in 0..400u64 {
                now += rng.between(0, 20);
                match rng.below(5) {
                    0 => {
                        let _ = q.publish(step, String::new(), now, rng.between(0, 1) * rng.between(0, 100));
                    }
                    1 => {
                        let c = NodeId(u32::try_from(rng.below(3)).unwrap());
                        if let Some(d) = q.consume(c, now) {
                            held.push((c, d));
                        }
                    }
                    2 if !held.is_empty() => {
                        let (c, d) = held.swap_remove(usize::try_from(rng.below(held.len() as u64)).unwrap());
                        let _ = q.ack(d.id, c, d.attempt);
                    }
                    3 if !held.is_empty() => {
                        let (c, d) = held.swap_remove(usize::try_from(rng.below(held.len() as u64)).unwrap());
                        let mut r = rng.fork();
                        let _ = q.nack(d.id, c, d.attempt, "x".to_owned(), now, &mut r);
                    }
                    _ => {
                        let mut r = rng.fork();
                        q.tick(now, &mut r);
                    }
                }
                let live = q
                    .messages()
                    .filter(|m| matches!(m.state, State::Ready | State::InFlight { .. } | State::Delayed { .. }))
                    .count();
                assert_eq!(q.live(), live, "seed {seed} step {step}");
                let ready: Vec<u64> = q.messages().filter(|m| m.state == State::Ready).map(|m| m.id).collect();
                let mut queued: Vec<u64> = q.ready.iter().copied().collect();
                queued.sort_unstable();
                assert_eq!(queued, ready, "seed {seed} step {step}");
                assert!(q.messages().all(|m| m.deliveries <= 3), "seed {seed}: never more than max_deliveries");
            }
            q.tick(u64::MAX, &mut rng);
            assert!(
                q.messages().all(|m| matches!(m.state, State::Acked | State::Dead { .. } | State::Ready)),
                "seed {seed}: once everything is due, nothing is stuck in flight or delayed"
            );
        }
    }

    #[test]
    fn a_retry_goes_to_the_tail_of_a_work_queue_and_the_head_of_a_partition() {
        for (ordered, expected) in [(false, [2, 1]), (true, [1, 2])] {
            let mut q = Queue::new(QueueConfig { ordered, backoff_base_us: 100, ..QueueConfig::default() });
            let mut rng = Rng::new(7);
            q.publish(1, body("first"), 0, 0).unwrap();
            q.publish(2, body("second"), 0, 0).unwrap();
            let d = q.consume(C1, 0).unwrap();
            let Next::Retry { at_us } = q.nack(d.id, C1, d.attempt, "x".into(), 0, &mut rng).unwrap() else { panic!() };
            q.tick(at_us, &mut rng);
            let order = [q.consume(C1, at_us).unwrap().id, q.consume(C1, at_us).unwrap().id];
            assert_eq!(order, expected, "ordered: {ordered}");
        }
    }

    #[test]
    fn tick_pops_only_what_is_due() {
        let mut q = Queue::new(QueueConfig { capacity: 100_000, visibility_us: 1_000_000, ..QueueConfig::default() });
        let mut rng = Rng::new(5);
        for id in 0..50_000 {
            q.publish(id, String::new(), 0, 1_000 + id).unwrap();
        }
        let due = q.tick(1_009, &mut rng);
        assert_eq!(due.len(), 10);
        assert_eq!(q.wakes.len(), 50_000 - 10, "the rest stay in the heap untouched");
    }
}
