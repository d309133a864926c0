//! The service between the callers and the dependency (the chapter's fifth learning goal): a
//! fixed number of workers and a queue in front of them, as a thread pool with its accept queue.
//! Each call takes a worker for its own work; a call that needs the dependency keeps the worker
//! while it waits for the dependency's answer. That wait is the cascading failure: when the
//! dependency slows down, every worker ends up waiting on it, and calls that never needed it
//! queue behind them and time out too.
//!
//! Every protection is optional, so a run can show each one's effect on the same seed:
//! - at the door, a rate limiter ([`Limiter`]; a denied call is told when to come back) and an
//!   adaptive concurrency limit ([`AimdLimit`], load shedding: it shrinks at each call dropped
//!   and sheds what is over it at once, instead of queueing work it cannot finish in time);
//! - in the queue, deadlines: a call whose caller has given up is dropped unserved, where a
//!   plain queue serves it anyway (work wasted, and the cause of the retry storm's long tail);
//! - before the dependency, a [`Bulkhead`] (at most so many workers wait on it) and a
//!   [`Breaker`] (while open, no call goes to it), and a timeout on every query;
//! - when the dependency cannot be asked or fails, a fallback (46.x's degradation): the last good
//!   answer for the key if it is recent enough, else a default, counted apart from real answers.

use std::collections::{BTreeMap, VecDeque};

use super::breaker::{Breaker, BreakerConfig};
use super::concurrency::{AimdLimit, Bulkhead};
use super::limit::{Decision, Limiter};
use super::{Degraded, HaMsg, HaObs, HaProtocol, Outcome, Refusal};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::sim::{SimDuration, SimTime};

/// How often the service reports its gauges.
pub const GAUGE_EVERY: SimDuration = SimDuration::from_millis(100);

/// The adaptive limit's bounds and backoff (Netflix's `AIMDLimit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveConfig {
    pub initial: u32,
    pub min: u32,
    pub max: u32,
    pub backoff_percent: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    pub workers: u32,
    pub queue_max: u32,
    /// A call's own work, drawn uniformly from this range (µs).
    pub work_min_us: u64,
    pub work_max_us: u64,
    pub limiter: Option<Limiter>,
    pub adaptive: Option<AdaptiveConfig>,
    /// Drop queued calls whose caller's deadline has passed.
    pub deadlines: bool,
    pub bulkhead: Option<u32>,
    pub breaker: Option<BreakerConfig>,
    pub dependency_timeout: SimDuration,
    /// Answer a fallback rather than an error; a cached answer at most `stale` old.
    pub fallback: bool,
    pub stale: SimDuration,
}

/// The service's timers: gauges, a call's work done, a query's timeout, a call leaving the
/// leaky bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceTimer {
    Gauge,
    Worked { job: u64 },
    QueryTimeout { job: u64 },
    Released { job: u64 },
}

impl Timer for ServiceTimer {
    /// Gauge is 0; the others carry their job (from 1): `job × 4 + kind`.
    fn id(self) -> TimerId {
        TimerId(match self {
            ServiceTimer::Gauge => 0,
            ServiceTimer::Worked { job } => job * 4 + 1,
            ServiceTimer::QueryTimeout { job } => job * 4 + 2,
            ServiceTimer::Released { job } => job * 4 + 3,
        })
    }
    fn from_id(id: TimerId) -> Option<Self> {
        let job = id.0 / 4;
        match (job, id.0 % 4) {
            (0, 0) => Some(ServiceTimer::Gauge),
            (0, _) | (_, 0) => None,
            (_, 1) => Some(ServiceTimer::Worked { job }),
            (_, 2) => Some(ServiceTimer::QueryTimeout { job }),
            _ => Some(ServiceTimer::Released { job }),
        }
    }
}

/// One call inside the service.
#[derive(Clone, Copy, Debug)]
struct Job {
    from: NodeId,
    call: u64,
    attempt: u32,
    key: u32,
    dependency: bool,
    /// When its caller stops waiting, on this service's clock.
    deadline: SimTime,
    /// Set while it waits on the dependency: when the query went.
    asked: Option<SimTime>,
}

#[derive(Clone, Debug)]
pub struct Service {
    cfg: ServiceConfig,
    dependency: NodeId,
    limiter: Option<Limiter>,
    adaptive: Option<AimdLimit>,
    bulkhead: Option<Bulkhead>,
    breaker: Option<Breaker>,
    /// Calls held by the leaky bucket until their turn.
    held: BTreeMap<u64, Job>,
    queue: VecDeque<(u64, Job)>,
    /// Calls on a worker.
    busy: BTreeMap<u64, Job>,
    /// The last good answer's time for each key.
    cache: BTreeMap<u32, SimTime>,
    next: u64,
    answered: u64,
    /// What the limiter's last decision left: admissions it would grant at once (0 after a
    /// refusal or a delay), for the page's gauge.
    tokens: Option<u64>,
}

impl Service {
    /// A service in front of `dependency`. The breaker configuration is checked by the scenario.
    pub fn new(cfg: ServiceConfig, dependency: NodeId) -> Self {
        Service {
            limiter: cfg.limiter.clone(),
            adaptive: cfg.adaptive.map(|a| AimdLimit::new(a.initial, a.min, a.max, a.backoff_percent)),
            bulkhead: cfg.bulkhead.map(Bulkhead::new),
            breaker: cfg.breaker.and_then(|b| Breaker::new(b).ok()),
            cfg,
            dependency,
            held: BTreeMap::new(),
            queue: VecDeque::new(),
            busy: BTreeMap::new(),
            cache: BTreeMap::new(),
            next: 0,
            answered: 0,
            tokens: None,
        }
    }

    /// Past the door: on a free worker, or in the queue, or shed.
    fn enter(&mut self, ctx: &mut Ctx<'_, HaProtocol>, id: u64, job: Job) {
        if self.busy.len() < self.cfg.workers as usize {
            self.start(ctx, id, job);
        } else if self.queue.len() < self.cfg.queue_max as usize {
            self.queue.push_back((id, job));
        } else {
            ctx.observe(HaObs::Refused { why: Refusal::QueueFull });
            self.answer(ctx, job, Outcome::Shed);
            if let Some(a) = &mut self.adaptive {
                a.leave(true);
            }
        }
    }

    /// A worker takes the call: its own work first.
    fn start(&mut self, ctx: &mut Ctx<'_, HaProtocol>, id: u64, job: Job) {
        let us = ctx.rng().between(self.cfg.work_min_us, self.cfg.work_max_us);
        self.busy.insert(id, job);
        ctx.set_timer(ServiceTimer::Worked { job: id }, SimDuration::from_micros(us));
    }

    /// The next queued call a worker should take, dropping those whose callers are gone.
    fn next_queued(&mut self, ctx: &mut Ctx<'_, HaProtocol>) {
        while self.busy.len() < self.cfg.workers as usize {
            let Some((id, job)) = self.queue.pop_front() else { return };
            if self.cfg.deadlines && ctx.now() >= job.deadline {
                ctx.observe(HaObs::Expired);
                if let Some(a) = &mut self.adaptive {
                    a.leave(true);
                }
                continue;
            }
            self.start(ctx, id, job);
        }
    }

    fn answer(&mut self, ctx: &mut Ctx<'_, HaProtocol>, job: Job, outcome: Outcome) {
        self.answered += 1;
        ctx.send(job.from, HaMsg::Answer { call: job.call, attempt: job.attempt, outcome });
    }

    /// A call on a worker ends with `outcome`; `dropped` tells the adaptive limit it was a
    /// failure of capacity (the dependency failed or the caller's deadline passed).
    fn finish(&mut self, ctx: &mut Ctx<'_, HaProtocol>, id: u64, outcome: Outcome, dropped: bool) {
        let Some(job) = self.busy.remove(&id) else { return };
        let late = ctx.now() >= job.deadline;
        if late {
            ctx.observe(HaObs::Wasted);
        }
        self.answer(ctx, job, outcome);
        if let Some(a) = &mut self.adaptive {
            a.leave(dropped || late);
        }
        self.next_queued(ctx);
    }

    /// The dependency cannot be asked, or failed: a fallback, or an error.
    fn degrade(&mut self, ctx: &mut Ctx<'_, HaProtocol>, id: u64, why: Degraded) {
        let Some(job) = self.busy.get(&id) else { return };
        let now = ctx.now();
        let cached = self.cache.get(&job.key).is_some_and(|t| now.saturating_since(*t) <= self.cfg.stale);
        let fallback = self.cfg.fallback;
        ctx.observe(HaObs::Degraded { why, fallback, cached: fallback && cached });
        let outcome = if fallback { Outcome::Fallback { cached } } else { Outcome::Error };
        self.finish(ctx, id, outcome, why == Degraded::DependencyFailed);
    }

    /// The work is done; ask the dependency if the call needs it.
    fn worked(&mut self, ctx: &mut Ctx<'_, HaProtocol>, id: u64) {
        let Some(job) = self.busy.get(&id).copied() else { return };
        if !job.dependency {
            self.finish(ctx, id, Outcome::Ok, false);
            return;
        }
        if let Some(b) = &mut self.bulkhead
            && b.try_enter().is_err()
        {
            self.degrade(ctx, id, Degraded::BulkheadFull);
            return;
        }
        if let Some(b) = &mut self.breaker {
            match b.try_acquire(ctx.now()) {
                Err(_) => {
                    if let Some(b) = &mut self.bulkhead {
                        b.leave();
                    }
                    self.degrade(ctx, id, Degraded::BreakerOpen);
                    return;
                }
                Ok(Some(transition)) => ctx.observe(HaObs::Breaker { transition }),
                Ok(None) => {}
            }
        }
        if let Some(j) = self.busy.get_mut(&id) {
            j.asked = Some(ctx.now());
        }
        ctx.send(self.dependency, HaMsg::Query { id });
        ctx.set_timer(ServiceTimer::QueryTimeout { job: id }, self.cfg.dependency_timeout);
    }

    /// The dependency answered query `id` (`ok`), or it timed out (`None`).
    fn queried(&mut self, ctx: &mut Ctx<'_, HaProtocol>, id: u64, ok: Option<bool>) {
        let Some(asked) = self.busy.get(&id).and_then(|j| j.asked) else { return };
        if ok.is_some() {
            ctx.cancel_timer(ServiceTimer::QueryTimeout { job: id });
        }
        if let Some(b) = &mut self.bulkhead {
            b.leave();
        }
        let now = ctx.now();
        let failed = ok != Some(true);
        if let Some(b) = &mut self.breaker
            && let Some(transition) = b.record(now, now.saturating_since(asked), failed)
        {
            ctx.observe(HaObs::Breaker { transition });
        }
        if failed {
            self.degrade(ctx, id, Degraded::DependencyFailed);
        } else {
            if let Some(key) = self.busy.get(&id).map(|j| j.key) {
                self.cache.insert(key, now);
            }
            self.finish(ctx, id, Outcome::Ok, false);
        }
    }
}

impl Actor<HaProtocol> for Service {
    type Durable = ();
    type Timer = ServiceTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, HaProtocol>) {
        ctx.set_timer(ServiceTimer::Gauge, GAUGE_EVERY);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, HaProtocol>, from: NodeId, msg: HaMsg) {
        match msg {
            HaMsg::Call { call, attempt, key, timeout_us, dependency } => {
                let now = ctx.now();
                let deadline = now.saturating_add(SimDuration::from_micros(timeout_us));
                let job = Job { from, call, attempt, key, dependency, deadline, asked: None };
                self.next += 1;
                let id = self.next;
                let mut release = None;
                if let Some(limiter) = &mut self.limiter {
                    let decision = limiter.check(now);
                    self.tokens = Some(match decision {
                        Decision::Admit { remaining } => remaining,
                        _ => 0,
                    });
                    match decision {
                        Decision::Admit { .. } => ctx.observe(HaObs::Admitted { at_us: now.as_micros() }),
                        Decision::Delay { wait } => {
                            ctx.observe(HaObs::Admitted { at_us: now.saturating_add(wait).as_micros() });
                            release = Some(wait);
                        }
                        Decision::Deny { retry_after } => {
                            ctx.observe(HaObs::Refused { why: Refusal::Limited });
                            let retry_after_us = retry_after.as_micros();
                            self.answer(ctx, job, Outcome::Limited { retry_after_us });
                            return;
                        }
                    }
                }
                if let Some(a) = &mut self.adaptive
                    && a.try_enter().is_err()
                {
                    ctx.observe(HaObs::Refused { why: Refusal::Adaptive });
                    self.answer(ctx, job, Outcome::Shed);
                    return;
                }
                match release {
                    Some(wait) if wait > SimDuration::ZERO => {
                        self.held.insert(id, job);
                        ctx.set_timer(ServiceTimer::Released { job: id }, wait);
                    }
                    _ => self.enter(ctx, id, job),
                }
            }
            HaMsg::Result { id, ok } => self.queried(ctx, id, Some(ok)),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, HaProtocol>, timer: ServiceTimer) {
        match timer {
            ServiceTimer::Gauge => {
                let waiting = self.busy.values().filter(|j| j.asked.is_some()).count();
                ctx.observe(HaObs::Gauge {
                    queue: u32::try_from(self.queue.len() + self.held.len()).unwrap_or(u32::MAX),
                    busy: u32::try_from(self.busy.len()).unwrap_or(u32::MAX),
                    dependency: u32::try_from(waiting).unwrap_or(u32::MAX),
                    limit: self.adaptive.map_or(0, |a| a.limit()),
                });
                ctx.set_timer(ServiceTimer::Gauge, GAUGE_EVERY);
            }
            ServiceTimer::Worked { job } => self.worked(ctx, job),
            ServiceTimer::QueryTimeout { job } => self.queried(ctx, job, None),
            ServiceTimer::Released { job } => {
                if let Some(j) = self.held.remove(&job) {
                    self.enter(ctx, job, j);
                }
            }
        }
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "queue": self.queue.len(),
            "busy": self.busy.len(),
            "held": self.held.len(),
            "answered": self.answered,
            "breaker": self.breaker.as_ref().map(Breaker::state),
            "limit": self.adaptive.map(|a| a.limit()),
            "tokens": self.tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_numbers_round_trip() {
        for t in [
            ServiceTimer::Gauge,
            ServiceTimer::Worked { job: 1 },
            ServiceTimer::QueryTimeout { job: 9 },
            ServiceTimer::Released { job: 1_000_000 },
        ] {
            assert_eq!(ServiceTimer::from_id(t.id()), Some(t));
        }
        assert_eq!(ServiceTimer::from_id(TimerId(2)), None);
        assert_eq!(ServiceTimer::from_id(TimerId(8)), None);
    }
}
