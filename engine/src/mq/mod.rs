//! Message queues (46.2, exercise 2): reliable delivery with acknowledgements, redelivery after a
//! visibility timeout, retries with backoff, dead letters and delayed delivery.
//!
//! What the chapter's code gets wrong: its `queue.get()` removes a message before it is processed
//! (a consumer that crashes before `ack` loses it, and `ack` changes nothing), its `nack`
//! re-publishes at once (a poison message spins), nothing deduplicates, its `PubSub.publish`
//! awaits handlers one after another and swallows their errors, its `DelayedMessageQueue`
//! re-sorts its whole list on every schedule and loses everything on a crash, and its
//! `_exchanges` is never used. [`queue`] is the broker's queue, reliable or as the chapter's.
//! (Issue 15 builds the rest on it: the broker actor, routing, persistence, partitions.)

pub mod queue;
