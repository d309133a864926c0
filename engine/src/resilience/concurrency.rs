//! Limits on calls in flight (the chapter's fifth learning goal): a bulkhead, a fixed number of
//! concurrent calls per dependency so that one slow dependency cannot take every thread of its
//! caller (the cascading failure), and adaptive concurrency limiting, Netflix's AIMD limit
//! (`concurrency-limits`' `AIMDLimit`): the limit grows by one while the calls in flight use at
//! least half of it and nothing is dropped, and shrinks by a ratio at every drop (a timeout, an
//! overload answer), so the caller sheds load before the dependency queues it.

use serde::{Deserialize, Serialize};

/// A call refused because the limit is reached: shed it (answer at once, or degrade).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Full {
    pub in_flight: u32,
    pub limit: u32,
}

/// A fixed limit on calls in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bulkhead {
    limit: u32,
    in_flight: u32,
}

impl Bulkhead {
    pub fn new(limit: u32) -> Bulkhead {
        Bulkhead { limit: limit.max(1), in_flight: 0 }
    }

    /// Takes a slot, or says the bulkhead is full.
    pub fn try_enter(&mut self) -> Result<(), Full> {
        if self.in_flight < self.limit {
            self.in_flight += 1;
            Ok(())
        } else {
            Err(Full { in_flight: self.in_flight, limit: self.limit })
        }
    }

    /// Gives a slot back (a call ended, however it ended).
    pub fn leave(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }
}

/// Netflix's AIMD concurrency limit, between `min` and `max`; `backoff_percent` is what a drop
/// keeps of the limit (90 by default there). A bulkhead whose limit moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AimdLimit {
    gate: Bulkhead,
    min: u32,
    max: u32,
    backoff_percent: u32,
}

impl AimdLimit {
    pub fn new(initial: u32, min: u32, max: u32, backoff_percent: u32) -> AimdLimit {
        let (min, max) = (min.max(1), max.max(min.max(1)));
        let gate = Bulkhead::new(initial.clamp(min, max));
        AimdLimit { gate, min, max, backoff_percent: backoff_percent.clamp(1, 99) }
    }

    pub fn limit(&self) -> u32 {
        self.gate.limit
    }

    pub fn in_flight(&self) -> u32 {
        self.gate.in_flight
    }

    /// Takes a slot under the current limit, or sheds.
    pub fn try_enter(&mut self) -> Result<(), Full> {
        self.gate.try_enter()
    }

    /// A call ended; `dropped` if it timed out or was refused for overload. As the reference:
    /// a drop multiplies the limit by the backoff ratio; a success while at least half the
    /// limit was in flight (counting this call) adds one.
    pub fn leave(&mut self, dropped: bool) {
        let (in_flight, limit) = (self.gate.in_flight, self.gate.limit);
        self.gate.leave();
        self.gate.limit = if dropped {
            let reduced = u64::from(limit) * u64::from(self.backoff_percent) / 100;
            u32::try_from(reduced).unwrap_or(self.min).max(self.min)
        } else if in_flight * 2 >= limit {
            (limit + 1).min(self.max)
        } else {
            limit
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulkhead_holds_its_limit_and_frees_a_slot_per_call_ended() {
        let mut b = Bulkhead::new(2);
        assert_eq!((b.try_enter(), b.try_enter()), (Ok(()), Ok(())));
        assert_eq!(b.try_enter(), Err(Full { in_flight: 2, limit: 2 }));
        b.leave();
        assert_eq!(b.try_enter(), Ok(()));
        assert_eq!(b.in_flight(), 2);
    }

    #[test]
    fn aimd_grows_by_one_while_busy_and_backs_off_on_a_drop() {
        let mut l = AimdLimit::new(10, 2, 20, 90);
        // Five in flight of ten: half used, each success adds one.
        for _ in 0..5 {
            l.try_enter().unwrap();
        }
        l.leave(false);
        assert_eq!(l.limit(), 11);
        // Four left in flight, 4 × 2 < 11: no growth while mostly idle.
        l.leave(false);
        assert_eq!(l.limit(), 11);
        l.leave(true);
        assert_eq!(l.limit(), 9, "11 × 90% rounded down");
        for _ in 0..40 {
            l.try_enter().ok();
            l.leave(true);
        }
        assert_eq!(l.limit(), 2, "never below the minimum");
        let mut busy = AimdLimit::new(19, 1, 20, 90);
        for _ in 0..19 {
            busy.try_enter().unwrap();
        }
        busy.leave(false);
        busy.try_enter().unwrap();
        busy.leave(false);
        assert_eq!(busy.limit(), 20, "never above the maximum");
        assert_eq!(busy.try_enter(), Ok(()));
    }
}
