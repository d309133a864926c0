//! Leaky bucket as a queue (shaping, as nginx's `limit_req` with `delay`): requests leave at the
//! steady rate, one every `period / limit`; one that arrives while others wait joins the queue
//! and is told how long it will wait; one that finds `burst` waiting is refused. Unlike the
//! token bucket it never lets a burst through: it spreads it out.
//!
//! Times are kept multiplied by `limit`, as in [`super::Gcra`], so the interval between
//! departures is the integer `period`.

use super::{Decision, Rate, div_ceil, micros};
use crate::sim::SimTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeakyBucket {
    rate: Rate,
    /// When the next request may leave, in µs × limit (the last departure plus one interval).
    next: u128,
    latest: u64,
}

impl LeakyBucket {
    pub fn new(rate: Rate) -> LeakyBucket {
        LeakyBucket { rate, next: 0, latest: 0 }
    }

    /// A request at `now` leaves at `max(now, next)`; it is refused when `burst` requests are
    /// already waiting, i.e. when it would wait `burst` intervals or more.
    pub fn check(&mut self, now: SimTime) -> Decision {
        let now = now.as_micros().max(self.latest);
        self.latest = now;
        let (p, limit) = (u128::from(self.rate.period_us()), u128::from(self.rate.limit));
        let t = u128::from(now) * limit;
        let departs = self.next.max(t);
        let queue = u128::from(self.rate.burst) * p;
        if departs - t >= queue {
            // It fits once the wait drops below `burst` intervals: departs − t' < queue.
            return Decision::Deny { retry_after: micros((departs - t - queue) / limit + 1) };
        }
        self.next = departs + p;
        if departs == t {
            Decision::Admit { remaining: u64::try_from((queue - p) / p).unwrap_or(u64::MAX) }
        } else {
            Decision::Delay { wait: micros(div_ceil(departs - t, limit)) }
        }
    }
}
