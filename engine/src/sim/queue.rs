//! The world's event queue: events ordered by their time, then by the order they were queued in,
//! so that two events due at the same instant always happen in the same order (design.md,
//! rule 5).
//!
//! A binary heap of small keys over a slab of events: every event is queued once and popped
//! once, and a `BTreeMap` keyed the same way, which the world used before, spent a tenth of a
//! run shifting whole events (a message travels in its delivery event) inside its nodes. The
//! order is the same: keys are unique, and the heap pops the least.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::SimTime;

/// An event's place in the queue: its time, then the order it was queued in.
pub(super) type QueueKey = (SimTime, u64);

#[derive(Clone, Debug)]
pub(super) struct EventQueue<E> {
    /// Each pending event's key and its slot in `events`, least first.
    heap: BinaryHeap<Reverse<(QueueKey, usize)>>,
    events: Vec<Option<E>>,
    /// Slots of `events` free for the next event.
    free: Vec<usize>,
    /// How many events were ever queued: the next one's place among those due at its time.
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), events: Vec::new(), free: Vec::new(), seq: 0 }
    }
}

impl<E> EventQueue<E> {
    /// Queues `event` at `at`, after every event already queued at that time.
    #[inline]
    pub(super) fn push(&mut self, at: SimTime, event: E) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.events[slot] = Some(event);
                slot
            }
            None => {
                self.events.push(Some(event));
                self.events.len() - 1
            }
        };
        self.heap.push(Reverse(((at, self.seq), slot)));
        self.seq += 1;
    }

    /// The time of the next event.
    #[inline]
    pub(super) fn next_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(((at, _), _))| *at)
    }

    /// Takes the next event.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<(SimTime, E)> {
        let Reverse(((at, _), slot)) = self.heap.pop()?;
        self.free.push(slot);
        self.events[slot].take().map(|event| (at, event))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Every pending event with its key, in the order they will happen (sorted on each call:
    /// for snapshots and checks, not for the run's own steps).
    pub(super) fn in_order(&self) -> Vec<(QueueKey, &E)> {
        let mut keys: Vec<(QueueKey, usize)> = self.heap.iter().map(|Reverse(entry)| *entry).collect();
        keys.sort_unstable();
        keys.into_iter().filter_map(|(key, slot)| self.events[slot].as_ref().map(|e| (key, e))).collect()
    }

    /// Every pending event, in no particular order.
    pub(super) fn events(&self) -> impl Iterator<Item = &E> {
        self.events.iter().flatten()
    }

    /// Removes the events queued under `keys`.
    pub(super) fn remove(&mut self, keys: &[QueueKey]) {
        let events = &mut self.events;
        let free = &mut self.free;
        self.heap.retain(|Reverse((key, slot))| {
            let keep = !keys.contains(key);
            if !keep {
                events[*slot] = None;
                free.push(*slot);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_by_the_order_they_went_in() {
        let mut q = EventQueue::default();
        let t = SimTime::from_micros;
        for (at, name) in [(5, "a"), (3, "b"), (5, "c"), (1, "d"), (3, "e"), (9, "f")] {
            q.push(t(at), name);
        }
        assert_eq!(q.next_time(), Some(t(1)));
        let order: Vec<&str> = q.in_order().into_iter().map(|(_, e)| *e).collect();
        assert_eq!(order, ["d", "b", "e", "a", "c", "f"]);
        q.remove(&[(t(5), 0), (t(9), 5)]);
        let mut popped = Vec::new();
        while let Some((at, e)) = q.pop() {
            popped.push((at.as_micros(), e));
            if e == "b" {
                q.push(t(3), "g"); // a slot freed by a pop is reused, after what is already due then
            }
        }
        assert_eq!(popped, [(1, "d"), (3, "b"), (3, "e"), (3, "g"), (5, "c")]);
        assert!(q.is_empty());
        assert_eq!(q.events.len(), 6, "no slot is allocated while a free one is there");
    }
}
