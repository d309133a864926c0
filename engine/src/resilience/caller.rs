//! A caller of the service (the chapter's fifth learning goal): calls arrive open loop, as a
//! Poisson process at a fixed rate whatever the answers do (users keep clicking), with Zipf keys.
//! Each attempt has a timeout; a failed attempt (timed out, an error, shed, rate limited) is
//! retried up to `retries` times, after a wait drawn by [`Backoff`] (full jitter; none without
//! it: the immediate retry of naive clients) and, with a [`RetryBudget`], only while retries stay
//! within their share of the caller's recent requests. A 429's `retry_after` is honoured.
//!
//! Retries are what turn a short outage into a long one: every caller retrying every failure
//! multiplies the load on a service that is already behind, so it stays behind after the
//! dependency recovers (a metastable failure). The budget caps the multiplication.

use std::collections::BTreeMap;

use super::retry::{Backoff, RetryBudget};
use super::{Failure, HaMsg, HaObs, HaProtocol, Outcome};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::cache::workload::Zipf;
use crate::sim::{Ratio, SimDuration, SimTime};

/// Retries beyond this many are refused by configuration checks (timer numbers hold 4 bits).
pub const RETRIES_MAX: u32 = 10;

/// The caller's timers: the next arrival, an attempt's timeout, a retry's wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerTimer {
    Arrive,
    Timeout { call: u64, attempt: u32 },
    Retry { call: u64 },
}

impl Timer for CallerTimer {
    /// Arrive is 0; the others carry their call (from 1) and attempt: `call × 32 + attempt × 2 +
    /// kind`.
    fn id(self) -> TimerId {
        TimerId(match self {
            CallerTimer::Arrive => 0,
            CallerTimer::Timeout { call, attempt } => call * 32 + u64::from(attempt) * 2,
            CallerTimer::Retry { call } => call * 32 + 1,
        })
    }
    fn from_id(id: TimerId) -> Option<Self> {
        let (call, low) = (id.0 / 32, id.0 % 32);
        match (call, low % 2) {
            (0, _) => (id.0 == 0).then_some(CallerTimer::Arrive),
            (_, 0) => Some(CallerTimer::Timeout { call, attempt: u32::try_from(low / 2).ok()? }),
            _ => (low == 1).then_some(CallerTimer::Retry { call }),
        }
    }
}

/// How a caller behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallerConfig {
    /// Calls a second.
    pub rate: u64,
    /// No call starts at or after this moment of its clock (µs).
    pub until_us: u64,
    pub keys: u64,
    pub zipf: f64,
    /// The share of calls whose serving needs the dependency.
    pub dependency: Ratio,
    pub timeout: SimDuration,
    pub retries: u32,
    /// `None`: retry at once.
    pub backoff: Option<Backoff>,
    /// `(window, percent, floor per second)`; `None`: every failure may be retried.
    pub budget: Option<(SimDuration, u64, u64)>,
}

/// A call not yet ended.
#[derive(Clone, Copy, Debug)]
struct Pending {
    started: SimTime,
    attempt: u32,
    key: u32,
    dependency: bool,
    /// An attempt is out (not waiting to retry).
    out: bool,
}

#[derive(Clone, Debug)]
pub struct Caller {
    cfg: CallerConfig,
    service: NodeId,
    keys: Zipf,
    budget: Option<RetryBudget>,
    next: u64,
    pending: BTreeMap<u64, Pending>,
}

impl Caller {
    pub fn new(cfg: CallerConfig, service: NodeId) -> Self {
        let budget = cfg.budget.map(|(window, percent, floor)| RetryBudget::new(window, percent, floor));
        Caller { keys: Zipf::new(cfg.keys.max(1), cfg.zipf), cfg, service, budget, next: 0, pending: BTreeMap::new() }
    }

    /// An exponential gap with mean 1/rate, by inverse transform (`libm`, so every target draws
    /// the same gaps).
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a positive gap in µs, far below 2^53")]
    fn gap(&self, ctx: &mut Ctx<'_, HaProtocol>) -> SimDuration {
        let u = (ctx.rng().below(1 << 53) as f64 + 1.0) / (1u64 << 53) as f64;
        let mean_us = 1e6 / self.cfg.rate.max(1) as f64;
        SimDuration::from_micros((-libm::log(u) * mean_us) as u64)
    }

    fn send(&mut self, ctx: &mut Ctx<'_, HaProtocol>, call: u64) {
        let Some(p) = self.pending.get_mut(&call) else { return };
        p.out = true;
        let (attempt, key, dependency) = (p.attempt, p.key, p.dependency);
        let timeout_us = self.cfg.timeout.as_micros();
        ctx.observe(HaObs::Sent { call, attempt });
        ctx.send(self.service, HaMsg::Call { call, attempt, key, timeout_us, dependency });
        ctx.set_timer(CallerTimer::Timeout { call, attempt }, self.cfg.timeout);
    }

    /// The current attempt of `call` failed: retry it, or give up.
    fn failed(&mut self, ctx: &mut Ctx<'_, HaProtocol>, call: u64, why: Failure, retry_after: SimDuration) {
        let now = ctx.now();
        let Some(p) = self.pending.get_mut(&call) else { return };
        p.out = false;
        let (attempt, dependency) = (p.attempt, p.dependency);
        if attempt >= self.cfg.retries {
            self.pending.remove(&call);
            ctx.observe(HaObs::GaveUp { call, attempts: attempt + 1, last: why, dependency });
            return;
        }
        if let Some(budget) = &mut self.budget
            && !budget.try_retry(now)
        {
            self.pending.remove(&call);
            ctx.observe(HaObs::RetryRefused { call });
            ctx.observe(HaObs::GaveUp { call, attempts: attempt + 1, last: why, dependency });
            return;
        }
        ctx.observe(HaObs::Retrying { call });
        let wait = self.cfg.backoff.map_or(SimDuration::ZERO, |b| b.wait(attempt, ctx.rng())).max(retry_after);
        ctx.set_timer(CallerTimer::Retry { call }, wait);
    }
}

impl Actor<HaProtocol> for Caller {
    type Durable = ();
    type Timer = CallerTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, HaProtocol>) {
        let gap = self.gap(ctx);
        ctx.set_timer(CallerTimer::Arrive, gap);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, HaProtocol>, _from: NodeId, msg: HaMsg) {
        let HaMsg::Answer { call, attempt, outcome } = msg else { return };
        // An answer to an attempt already timed out is dropped, as a client that gave up on a
        // request drops its connection.
        let Some(p) = self.pending.get(&call).copied() else { return };
        if p.attempt != attempt || !p.out {
            return;
        }
        ctx.cancel_timer(CallerTimer::Timeout { call, attempt });
        if outcome.usable() {
            self.pending.remove(&call);
            let latency_us = ctx.now().saturating_since(p.started).as_micros();
            let dependency = p.dependency;
            ctx.observe(HaObs::Answered { call, attempts: attempt + 1, outcome, latency_us, dependency });
            return;
        }
        let (why, retry_after) = match outcome {
            Outcome::Limited { retry_after_us } => (Failure::Limited, SimDuration::from_micros(retry_after_us)),
            Outcome::Shed => (Failure::Shed, SimDuration::ZERO),
            _ => (Failure::Error, SimDuration::ZERO),
        };
        self.failed(ctx, call, why, retry_after);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, HaProtocol>, timer: CallerTimer) {
        match timer {
            CallerTimer::Arrive => {
                let now = ctx.now();
                if now.as_micros() >= self.cfg.until_us {
                    return;
                }
                self.next += 1;
                let call = self.next;
                let key = u32::try_from(self.keys.sample(ctx.rng())).unwrap_or(u32::MAX);
                let dependency = ctx.rng().chance(self.cfg.dependency);
                self.pending.insert(call, Pending { started: now, attempt: 0, key, dependency, out: false });
                if let Some(budget) = &mut self.budget {
                    budget.request(now);
                }
                self.send(ctx, call);
                let gap = self.gap(ctx);
                ctx.set_timer(CallerTimer::Arrive, gap);
            }
            CallerTimer::Timeout { call, attempt } => {
                if self.pending.get(&call).is_some_and(|p| p.attempt == attempt && p.out) {
                    self.failed(ctx, call, Failure::Timeout, SimDuration::ZERO);
                }
            }
            CallerTimer::Retry { call } => {
                if let Some(p) = self.pending.get_mut(&call) {
                    p.attempt += 1;
                    self.send(ctx, call);
                }
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        let out = self.pending.values().filter(|p| p.out).count();
        serde_json::json!({ "calls": self.next, "waiting": out, "backing_off": self.pending.len() - out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_numbers_round_trip() {
        for t in [
            CallerTimer::Arrive,
            CallerTimer::Timeout { call: 1, attempt: 0 },
            CallerTimer::Timeout { call: 7, attempt: RETRIES_MAX },
            CallerTimer::Retry { call: 1 },
            CallerTimer::Retry { call: 123_456 },
        ] {
            assert_eq!(CallerTimer::from_id(t.id()), Some(t));
        }
        assert_eq!(CallerTimer::from_id(TimerId(3)), None, "no call 0 besides the arrival");
        assert_eq!(CallerTimer::from_id(TimerId(32 + 3)), None);
    }
}
