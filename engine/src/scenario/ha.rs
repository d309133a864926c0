//! Scenario `ha` (the chapter's fifth learning goal, "构建高可用系统"): open-loop callers call a
//! service that calls a dependency, and the dependency has an incident (it slows down, or it is
//! down for a while). Every protection can be turned off; `"story"` picks a preset:
//!
//! - `"cascade"`: no protection, the dependency slows down. The service's workers all wait on
//!   it, so calls that never needed it time out too: the failure spreads upstream.
//! - `"retry-storm"`: no protection but naive retries (three, at once), a five-second outage.
//!   The retries triple the load on a service already behind; it stays behind long after the
//!   dependency is back (a metastable failure: the trigger is gone, the overload sustains itself).
//! - none (the defaults): every protection on, the same incident survived with fallbacks.
//!
//! Judged: `limit_kept` (the rate limiter's own promise, by [`crate::check::rate::audit`] on the
//! times it admitted), `breaker_legal` (every transition one resilience4j allows, the open state
//! held for its wait), `retries_within_budget` (over every window, the retries a caller decided
//! are within the budget's share of its requests plus the floor; promised with the budget on,
//! shown broken by the storm without it), `goodput_recovers` (real answers back to
//! [`RECOVERED_PERCENT`] of their rate before the incident within [`RECOVERY_MAX`] of its end;
//! promised with the retry budget on) and `no_cascade` (calls that never need the dependency
//! keep succeeding through the incident; promised with the bulkhead: a breaker alone opens only
//! after its window has filled with slow calls, and its half-open trials wait on the dependency
//! again, so the workers are still taken at times).

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::check::Verdict;
use crate::check::rate::{RateAudit, audit};
use crate::config::{ConfigError, Knobs};
use crate::msg;
use crate::resilience::breaker::{BreakerConfig, State, Transition, Window};
use crate::resilience::caller::{Caller, CallerConfig, RETRIES_MAX};
use crate::resilience::dependency::{Dependency, DependencyConfig};
use crate::resilience::limit::{Algorithm, Limiter, Rate};
use crate::resilience::retry::Backoff;
use crate::resilience::service::{AdaptiveConfig, Service, ServiceConfig};
use crate::resilience::{Degraded, HaObs, HaProtocol, Outcome, Refusal};
use crate::sim::{Fault, LinkConfig, Ratio, Sim, SimDuration, SimTime};

/// How long after the incident's end real answers must be back.
pub const RECOVERY_MAX: SimDuration = SimDuration::from_secs(10);
/// "Back": the rate of real answers over a second, against the five seconds before the incident.
pub const RECOVERED_PERCENT: u64 = 90;
/// `no_cascade`: the share of calls that never need the dependency that must succeed while it
/// is in trouble.
pub const ISOLATED_PERCENT: u64 = 95;
/// The timeline's bucket.
pub const BUCKET: SimDuration = SimDuration::from_millis(500);

/// What happens to the dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Incident {
    None,
    /// `Fault::Slow` by `slow_factor`, then back to normal.
    Slow,
    /// `Fault::Crash`, then `Restart`.
    Outage,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HaConfig {
    pub clients: u32,
    /// Calls a second from all callers together (Poisson arrivals).
    pub rate: u64,
    pub duration_ms: u64,
    pub keys: u64,
    pub zipf: f64,
    /// The share of calls that need the dependency.
    pub dependency_percent: u32,
    /// The caller's timeout for each attempt.
    pub timeout_ms: u64,
    pub retries: u32,
    /// Exponential backoff with full jitter between attempts (off: at once).
    pub backoff: bool,
    pub backoff_base_ms: u64,
    pub backoff_cap_ms: u64,
    /// Finagle's retry budget: retries at most `budget_percent` of the requests of the last
    /// `budget_window_ms`, plus `budget_floor` a second.
    pub budget: bool,
    pub budget_percent: u64,
    pub budget_floor: u64,
    pub budget_window_ms: u64,
    pub workers: u32,
    pub queue_max: u32,
    pub work_min_ms: u64,
    pub work_max_ms: u64,
    /// The rate limiter at the service's door (`null`: none), `limit_rate` a second with
    /// `limit_burst`.
    pub limiter: Option<Algorithm>,
    pub limit_rate: u64,
    pub limit_burst: u64,
    /// Netflix's AIMD concurrency limit on calls inside the service.
    pub adaptive: bool,
    pub adaptive_initial: u32,
    pub adaptive_min: u32,
    pub adaptive_max: u32,
    pub adaptive_backoff_percent: u32,
    /// Drop queued calls whose caller has given up.
    pub deadlines: bool,
    /// At most `bulkhead_max` workers wait on the dependency at once.
    pub bulkhead: bool,
    pub bulkhead_max: u32,
    pub breaker: bool,
    pub failure_rate_percent: u32,
    pub slow_call_ms: u64,
    pub slow_call_rate_percent: u32,
    /// The breaker's window: the last this many calls.
    pub breaker_calls: u32,
    pub minimum_calls: u32,
    pub wait_in_open_ms: u64,
    pub half_open_calls: u32,
    pub dependency_timeout_ms: u64,
    /// Degrade to a cached or default answer instead of an error.
    pub fallback: bool,
    pub stale_ms: u64,
    pub dependency_capacity: u32,
    pub dependency_queue_max: u32,
    pub dependency_latency_min_ms: u64,
    pub dependency_latency_max_ms: u64,
    pub dependency_fail_percent: u32,
    pub incident: Incident,
    pub incident_at_ms: u64,
    pub incident_ms: u64,
    pub slow_factor: u32,
}

impl Default for HaConfig {
    fn default() -> Self {
        HaConfig {
            clients: 4,
            rate: 300,
            duration_ms: 60_000,
            keys: 1_000,
            zipf: 1.0,
            dependency_percent: 50,
            timeout_ms: 1_000,
            retries: 3,
            backoff: true,
            backoff_base_ms: 50,
            backoff_cap_ms: 1_000,
            budget: true,
            budget_percent: 10,
            budget_floor: 1,
            budget_window_ms: 10_000,
            workers: 8,
            queue_max: 2_000,
            work_min_ms: 2,
            work_max_ms: 4,
            limiter: Some(Algorithm::Gcra),
            limit_rate: 400,
            limit_burst: 40,
            adaptive: true,
            adaptive_initial: 20,
            adaptive_min: 4,
            adaptive_max: 200,
            adaptive_backoff_percent: 90,
            deadlines: true,
            bulkhead: true,
            bulkhead_max: 6,
            breaker: true,
            failure_rate_percent: 50,
            slow_call_ms: 300,
            slow_call_rate_percent: 80,
            breaker_calls: 20,
            minimum_calls: 10,
            wait_in_open_ms: 2_000,
            half_open_calls: 3,
            dependency_timeout_ms: 500,
            fallback: true,
            stale_ms: 30_000,
            dependency_capacity: 16,
            dependency_queue_max: 1_000,
            dependency_latency_min_ms: 10,
            dependency_latency_max_ms: 30,
            dependency_fail_percent: 0,
            incident: Incident::Slow,
            incident_at_ms: 10_000,
            incident_ms: 10_000,
            slow_factor: 20,
        }
    }
}

impl Knobs for HaConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("clients", self.clients, 1, 16)?;
        ConfigError::check_range("rate", self.rate, 1, 5_000)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1_000, 600_000)?;
        ConfigError::check_range("keys", self.keys, 1, 100_000)?;
        if !(0.0..=2.0).contains(&self.zipf) {
            return Err(ConfigError::out_of_range("zipf", self.zipf, "0 to 2"));
        }
        ConfigError::check_range("dependency_percent", self.dependency_percent, 0, 100)?;
        ConfigError::check_range("timeout_ms", self.timeout_ms, 1, 600_000)?;
        ConfigError::check_range("retries", self.retries, 0, RETRIES_MAX)?;
        ConfigError::check_range("backoff_base_ms", self.backoff_base_ms, 1, 600_000)?;
        ConfigError::check_range("backoff_cap_ms", self.backoff_cap_ms, self.backoff_base_ms, 600_000)?;
        ConfigError::check_range("budget_percent", self.budget_percent, 0, 100)?;
        ConfigError::check_range("budget_floor", self.budget_floor, 0, 1_000)?;
        ConfigError::check_range("budget_window_ms", self.budget_window_ms, 1_000, 600_000)?;
        ConfigError::check_range("workers", self.workers, 1, 1_000)?;
        ConfigError::check_range("queue_max", self.queue_max, 0, 100_000)?;
        ConfigError::check_range("work_min_ms", self.work_min_ms, 1, 10_000)?;
        ConfigError::check_range("work_max_ms", self.work_max_ms, self.work_min_ms, 10_000)?;
        ConfigError::check_range("limit_rate", self.limit_rate, 1, 100_000)?;
        ConfigError::check_range("limit_burst", self.limit_burst, 1, 100_000)?;
        ConfigError::check_range("adaptive_min", self.adaptive_min, 1, 10_000)?;
        ConfigError::check_range("adaptive_max", self.adaptive_max, self.adaptive_min, 10_000)?;
        ConfigError::check_range("adaptive_initial", self.adaptive_initial, self.adaptive_min, self.adaptive_max)?;
        ConfigError::check_range("adaptive_backoff_percent", self.adaptive_backoff_percent, 1, 99)?;
        ConfigError::check_range("bulkhead_max", self.bulkhead_max, 1, self.workers)?;
        ConfigError::check_range("failure_rate_percent", self.failure_rate_percent, 1, 100)?;
        ConfigError::check_range("slow_call_ms", self.slow_call_ms, 1, 600_000)?;
        ConfigError::check_range("slow_call_rate_percent", self.slow_call_rate_percent, 1, 100)?;
        ConfigError::check_range("breaker_calls", self.breaker_calls, 1, 10_000)?;
        ConfigError::check_range("minimum_calls", self.minimum_calls, 1, self.breaker_calls)?;
        ConfigError::check_range("wait_in_open_ms", self.wait_in_open_ms, 1, 600_000)?;
        ConfigError::check_range("half_open_calls", self.half_open_calls, 1, 1_000)?;
        ConfigError::check_range("dependency_timeout_ms", self.dependency_timeout_ms, 1, 600_000)?;
        ConfigError::check_range("stale_ms", self.stale_ms, 0, 3_600_000)?;
        ConfigError::check_range("dependency_capacity", self.dependency_capacity, 1, 10_000)?;
        ConfigError::check_range("dependency_queue_max", self.dependency_queue_max, 0, 100_000)?;
        ConfigError::check_range("dependency_latency_min_ms", self.dependency_latency_min_ms, 1, 10_000)?;
        ConfigError::check_range(
            "dependency_latency_max_ms",
            self.dependency_latency_max_ms,
            self.dependency_latency_min_ms,
            10_000,
        )?;
        ConfigError::check_range("dependency_fail_percent", self.dependency_fail_percent, 0, 100)?;
        ConfigError::check_range("incident_at_ms", self.incident_at_ms, 0, self.duration_ms)?;
        ConfigError::check_range("incident_ms", self.incident_ms, 1, self.duration_ms)?;
        ConfigError::check_range("slow_factor", self.slow_factor, 1, 1_000)?;
        Ok(())
    }
}

impl HaConfig {
    fn rate(&self) -> Option<Rate> {
        Rate::new(self.limit_rate, SimDuration::from_secs(1), self.limit_burst).ok()
    }

    fn breaker_config(&self) -> BreakerConfig {
        BreakerConfig {
            failure_rate_percent: self.failure_rate_percent,
            slow_call_rate_percent: self.slow_call_rate_percent,
            slow_call: SimDuration::from_millis(self.slow_call_ms),
            window: Window::Count(self.breaker_calls),
            minimum_calls: self.minimum_calls,
            wait_in_open: SimDuration::from_millis(self.wait_in_open_ms),
            half_open_calls: self.half_open_calls,
        }
    }

    fn service(&self) -> ServiceConfig {
        ServiceConfig {
            workers: self.workers,
            queue_max: self.queue_max,
            work_min_us: self.work_min_ms * 1_000,
            work_max_us: self.work_max_ms * 1_000,
            limiter: self.limiter.zip(self.rate()).map(|(a, r)| Limiter::new(a, r)),
            adaptive: self.adaptive.then_some(AdaptiveConfig {
                initial: self.adaptive_initial,
                min: self.adaptive_min,
                max: self.adaptive_max,
                backoff_percent: self.adaptive_backoff_percent,
            }),
            deadlines: self.deadlines,
            bulkhead: self.bulkhead.then_some(self.bulkhead_max),
            breaker: self.breaker.then(|| self.breaker_config()),
            dependency_timeout: SimDuration::from_millis(self.dependency_timeout_ms),
            fallback: self.fallback,
            stale: SimDuration::from_millis(self.stale_ms),
        }
    }

    fn caller(&self) -> CallerConfig {
        CallerConfig {
            rate: self.rate.div_ceil(u64::from(self.clients)),
            until_us: self.duration_ms * 1_000,
            keys: self.keys,
            zipf: self.zipf,
            dependency: Ratio::percent(self.dependency_percent),
            timeout: SimDuration::from_millis(self.timeout_ms),
            retries: self.retries,
            backoff: self.backoff.then_some(Backoff {
                base: SimDuration::from_millis(self.backoff_base_ms),
                cap: SimDuration::from_millis(self.backoff_cap_ms),
            }),
            budget: self.budget.then_some((
                SimDuration::from_millis(self.budget_window_ms),
                self.budget_percent,
                self.budget_floor,
            )),
        }
    }

    /// When the incident ends (the dependency back to normal), if there is one.
    fn incident_end(&self) -> Option<SimTime> {
        (self.incident != Incident::None).then(|| SimTime::from_millis(self.incident_at_ms + self.incident_ms))
    }
}

/// A preset: no protection at all, and the incident that shows what is missing.
fn story(name: &str) -> Option<serde_json::Value> {
    let unprotected = serde_json::json!({
        "limiter": null, "adaptive": false, "deadlines": false, "bulkhead": false,
        "breaker": false, "fallback": false, "budget": false, "backoff": false,
    });
    let mut preset = unprotected.as_object()?.clone();
    match name {
        "cascade" => {
            preset.insert("retries".into(), 0.into());
            preset.insert("incident".into(), "slow".into());
        }
        "retry-storm" => {
            preset.insert("retries".into(), 3.into());
            preset.insert("incident".into(), "outage".into());
            preset.insert("incident_ms".into(), 5_000.into());
        }
        _ => return None,
    }
    Some(serde_json::Value::Object(preset))
}

/// The stories `"story"` may name.
pub const STORIES: [&str; 2] = ["cascade", "retry-storm"];

pub(super) fn build(mut setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let defaults = match setup.take("story") {
        None | Some(serde_json::Value::Null) => serde_json::json!({}),
        Some(v) => match v.as_str().and_then(story) {
            Some(preset) => preset,
            None => {
                let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                let allowed = STORIES.map(|s| format!("{s:?}")).join(" or ");
                return Err(ConfigError::out_of_range("story", value, allowed).into());
            }
        },
    };
    let cfg: HaConfig = setup.config_over(defaults)?;
    let mut sim = setup.sim(LinkConfig { latency_min_us: 200, latency_max_us: 600, ..LinkConfig::default() });
    let dependency = DependencyConfig {
        latency_min_us: cfg.dependency_latency_min_ms * 1_000,
        latency_max_us: cfg.dependency_latency_max_ms * 1_000,
        capacity: cfg.dependency_capacity,
        queue_max: cfg.dependency_queue_max,
        fail: Ratio::percent(cfg.dependency_fail_percent),
    };
    let dep = sim.add_node("dependency", move |_| Dependency::new(dependency))?;
    let service_cfg = cfg.service();
    let service = sim.add_node("service", move |_| Service::new(service_cfg.clone(), dep))?;
    let caller = cfg.caller();
    for i in 1..=cfg.clients {
        sim.add_node(format!("client-{i}"), move |_| Caller::new(caller, service))?;
    }
    let (at, end) = (SimTime::from_millis(cfg.incident_at_ms), cfg.incident_end());
    let node = "dependency".to_owned();
    match cfg.incident {
        Incident::None => {}
        Incident::Slow => {
            sim.schedule(at, Fault::Slow { node: node.clone(), factor: cfg.slow_factor });
            if let Some(end) = end {
                sim.schedule(end, Fault::Slow { node, factor: 1 });
            }
        }
        Incident::Outage => {
            sim.schedule(at, Fault::Crash { node: node.clone() });
            if let Some(end) = end {
                sim.schedule(end, Fault::Restart { node });
            }
        }
    }
    let judge = HaJudge { cfg: cfg.clone() };
    let until = SimTime::from_millis(cfg.duration_ms) + SimDuration::from_millis(cfg.timeout_ms * 2 + 1_000);
    setup.run(sim, until, judge)
}

#[derive(Clone, Debug)]
struct HaJudge {
    cfg: HaConfig,
}

/// One bucket of the timeline.
#[derive(Clone, Debug, Default, Serialize)]
struct Bucket {
    /// Calls started, and retries sent.
    calls: u64,
    retries: u64,
    /// Calls ended: real answers, fallbacks, given up.
    ok: u64,
    fallback: u64,
    failed: u64,
    /// At the service: refused at the door, dropped expired, served too late.
    refused: u64,
    expired: u64,
    wasted: u64,
    /// The slowest real answer ending in it (µs).
    latency_max_us: u64,
    /// The service's gauges at the bucket's last report.
    queue: u32,
    busy: u32,
    dependency: u32,
    limit: u32,
}

/// Everything one pass over the observations yields.
#[derive(Debug, Default)]
struct Analysis {
    buckets: Vec<Bucket>,
    admitted: Vec<u64>,
    transitions: Vec<Transition>,
    /// Per caller: (time, is a retry decision) in order; requests are first attempts sent.
    budget_log: std::collections::BTreeMap<u32, Vec<(u64, bool)>>,
    calls: u64,
    attempts: u64,
    ok: u64,
    fallback_cached: u64,
    fallback_default: u64,
    failed: u64,
    retry_refused: u64,
    refused_limited: u64,
    refused_adaptive: u64,
    refused_queue: u64,
    expired: u64,
    wasted: u64,
    degraded_breaker: u64,
    degraded_bulkhead: u64,
    degraded_failed: u64,
    /// Calls that never needed the dependency, ended during the incident: (succeeded, all).
    isolated: (u64, u64),
    latencies: Vec<u64>,
}

impl HaJudge {
    fn analyse(&self, sim: &Sim<HaProtocol>) -> Analysis {
        let mut a = Analysis::default();
        let incident = self.incident_span();
        let bucket_us = BUCKET.as_micros();
        for o in sim.observations() {
            let t = o.time.as_micros();
            let i = usize::try_from(t / bucket_us).unwrap_or(usize::MAX);
            if a.buckets.len() <= i {
                a.buckets.resize(i + 1, Bucket::default());
            }
            let b = &mut a.buckets[i];
            let during = incident.is_some_and(|(from, to)| (from..to).contains(&t));
            match &o.obs {
                HaObs::Sent { attempt, .. } => {
                    a.attempts += 1;
                    if *attempt == 0 {
                        a.calls += 1;
                        b.calls += 1;
                        a.budget_log.entry(o.node.0).or_default().push((t, false));
                    } else {
                        b.retries += 1;
                    }
                }
                HaObs::Retrying { .. } => a.budget_log.entry(o.node.0).or_default().push((t, true)),
                HaObs::Answered { outcome, latency_us, dependency, .. } => {
                    match outcome {
                        Outcome::Fallback { cached } => {
                            b.fallback += 1;
                            if *cached {
                                a.fallback_cached += 1;
                            } else {
                                a.fallback_default += 1;
                            }
                        }
                        _ => {
                            b.ok += 1;
                            a.ok += 1;
                            b.latency_max_us = b.latency_max_us.max(*latency_us);
                            a.latencies.push(*latency_us);
                        }
                    }
                    if during && !dependency {
                        a.isolated.0 += 1;
                        a.isolated.1 += 1;
                    }
                }
                HaObs::GaveUp { dependency, .. } => {
                    b.failed += 1;
                    a.failed += 1;
                    if during && !dependency {
                        a.isolated.1 += 1;
                    }
                }
                HaObs::RetryRefused { .. } => a.retry_refused += 1,
                HaObs::Admitted { at_us } => a.admitted.push(*at_us),
                HaObs::Refused { why } => {
                    b.refused += 1;
                    match why {
                        Refusal::Limited => a.refused_limited += 1,
                        Refusal::Adaptive => a.refused_adaptive += 1,
                        Refusal::QueueFull => a.refused_queue += 1,
                    }
                }
                HaObs::Expired => {
                    b.expired += 1;
                    a.expired += 1;
                }
                HaObs::Wasted => {
                    b.wasted += 1;
                    a.wasted += 1;
                }
                HaObs::Degraded { why, .. } => match why {
                    Degraded::BreakerOpen => a.degraded_breaker += 1,
                    Degraded::BulkheadFull => a.degraded_bulkhead += 1,
                    Degraded::DependencyFailed => a.degraded_failed += 1,
                },
                HaObs::Breaker { transition } => a.transitions.push(*transition),
                HaObs::Gauge { queue, busy, dependency, limit } => {
                    (b.queue, b.busy, b.dependency, b.limit) = (*queue, *busy, *dependency, *limit);
                }
                HaObs::Started => {}
            }
        }
        a.admitted.sort_unstable();
        a
    }

    /// The incident's span in µs: from its start to its end.
    fn incident_span(&self) -> Option<(u64, u64)> {
        self.cfg.incident_end().map(|end| (self.cfg.incident_at_ms * 1_000, end.as_micros()))
    }

    fn limit_audit(&self, a: &Analysis) -> Option<(Algorithm, RateAudit)> {
        let algorithm = self.cfg.limiter?;
        Some((algorithm, audit(algorithm, self.cfg.rate()?, &a.admitted)))
    }

    /// The first illegal transition, if any: one resilience4j's machine cannot make, or an open
    /// state left before its wait.
    fn illegal_transition(&self, a: &Analysis) -> Option<(Transition, &'static str)> {
        let wait = SimDuration::from_millis(self.cfg.wait_in_open_ms);
        let mut state = State::Closed;
        let mut opened = SimTime::ZERO;
        for t in &a.transitions {
            let legal = t.from == state
                && matches!(
                    (t.from, t.to),
                    (State::Closed, State::Open)
                        | (State::Open, State::HalfOpen)
                        | (State::HalfOpen, State::Open | State::Closed)
                );
            if !legal {
                return Some((*t, "breaker.illegal"));
            }
            if t.to == State::HalfOpen && t.at.saturating_since(opened) < wait {
                return Some((*t, "breaker.early"));
            }
            if t.to == State::Open {
                opened = t.at;
            }
            state = t.to;
        }
        None
    }

    /// The first retry decided beyond the budget: (caller, time, retries, allowed).
    fn over_budget(&self, sim: &Sim<HaProtocol>, a: &Analysis) -> Option<(String, u64, u64, u64)> {
        let window = self.cfg.budget_window_ms * 1_000;
        let floor = self.cfg.budget_floor * window / 1_000_000;
        for (node, log) in &a.budget_log {
            let (mut requests, mut retries) = (std::collections::VecDeque::new(), std::collections::VecDeque::new());
            for (t, retry) in log {
                for q in [&mut requests, &mut retries] {
                    while q.front().is_some_and(|s| s + window <= *t) {
                        q.pop_front();
                    }
                }
                if *retry {
                    retries.push_back(*t);
                    let allowed = floor + requests.len() as u64 * self.cfg.budget_percent / 100;
                    if retries.len() as u64 > allowed {
                        let name = sim.node_name(crate::actor::NodeId(*node)).unwrap_or_default().to_owned();
                        return Some((name, *t, retries.len() as u64, allowed));
                    }
                } else {
                    requests.push_back(*t);
                }
            }
        }
        None
    }

    /// Real answers a second before the incident, and when they came back after it (the first
    /// second-long stretch from the incident's end at [`RECOVERED_PERCENT`] of that), if they did.
    fn recovery(&self, a: &Analysis) -> Option<(u64, Option<u64>)> {
        let (from, to) = self.incident_span()?;
        let per_bucket: Vec<u64> = a.buckets.iter().map(|b| b.ok).collect();
        let b = BUCKET.as_micros();
        let (first, last) =
            (usize::try_from(from.saturating_sub(5_000_000) / b).ok()?, usize::try_from(from / b).ok()?);
        let before: u64 = per_bucket.get(first..last)?.iter().sum();
        let baseline = before * 1_000_000 / (from - first as u64 * b).max(1);
        let per_second = usize::try_from(1_000_000 / b).unwrap_or(1).max(1);
        let start = usize::try_from(to.div_ceil(b)).ok()?;
        let back = (start..per_bucket.len().saturating_sub(per_second - 1)).find(|i| {
            let got: u64 = per_bucket[*i..*i + per_second].iter().sum();
            got * 100 >= baseline * RECOVERED_PERCENT
        });
        Some((baseline, back.map(|i| (i as u64 * b).saturating_sub(to))))
    }

    fn report(&self, a: &Analysis) -> serde_json::Value {
        let mut sorted = a.latencies.clone();
        sorted.sort_unstable();
        let pct = |per_mille: usize| {
            let n = sorted.len();
            (n > 0).then(|| sorted[(n * per_mille).div_ceil(1_000).clamp(1, n) - 1])
        };
        let recovery = self.recovery(a);
        serde_json::json!({
            "calls": a.calls,
            "attempts": a.attempts,
            "amplification": if a.calls == 0 { 0.0 } else { a.attempts as f64 / a.calls as f64 },
            "ok": a.ok,
            "fallback_cached": a.fallback_cached,
            "fallback_default": a.fallback_default,
            "failed": a.failed,
            "retry_refused": a.retry_refused,
            "refused_limited": a.refused_limited,
            "refused_adaptive": a.refused_adaptive,
            "refused_queue": a.refused_queue,
            "expired": a.expired,
            "wasted": a.wasted,
            "degraded_breaker": a.degraded_breaker,
            "degraded_bulkhead": a.degraded_bulkhead,
            "degraded_failed": a.degraded_failed,
            "isolated_ok": a.isolated.0,
            "isolated_calls": a.isolated.1,
            "p50_us": pct(500),
            "p99_us": pct(990),
            "baseline_per_s": recovery.map(|r| r.0),
            "recovered_after_ms": recovery.and_then(|r| r.1).map(|us| us / 1_000),
            "breaker_transitions": a.transitions.len(),
        })
    }
}

impl Judge<HaProtocol> for HaJudge {
    fn verdicts(&self, sim: &Sim<HaProtocol>) -> Vec<Verdict> {
        let a = self.analyse(sim);
        let now = sim.now();
        let mut out = Vec::new();
        if let Some((algorithm, r)) = self.limit_audit(&a) {
            let args = (algorithm.name(), r.worst, r.bound, a.admitted.len());
            out.push(if r.holds() {
                Verdict::holds(
                    "limit_kept",
                    msg!("ha.limit_kept", algorithm = args.0, worst = args.1, bound = args.2, admitted = args.3),
                )
            } else {
                Verdict::fails(
                    "limit_kept",
                    msg!("ha.limit_broken", algorithm = args.0, worst = args.1, bound = args.2, admitted = args.3),
                )
            });
        }
        if self.cfg.breaker {
            out.push(match self.illegal_transition(&a) {
                None => Verdict::holds("breaker_legal", msg!("ha.breaker_legal", transitions = a.transitions.len())),
                Some((t, code)) => {
                    let name = |s: State| match s {
                        State::Closed => "closed",
                        State::Open => "open",
                        State::HalfOpen => "half-open",
                    };
                    let (from, to) = (name(t.from), name(t.to));
                    let m = if code == "breaker.early" {
                        msg!("ha.breaker_early", from = from, to = to, at = t.at)
                    } else {
                        msg!("ha.breaker_illegal", from = from, to = to, at = t.at)
                    };
                    Verdict::fails("breaker_legal", m).at(t.at.as_micros())
                }
            });
        }
        if self.cfg.retries > 0 {
            let percent = self.cfg.budget_percent;
            let v = match self.over_budget(sim, &a) {
                None => Verdict::holds("retries_within_budget", msg!("ha.budget_kept", percent = percent)),
                Some((caller, at, retries, allowed)) => Verdict::fails(
                    "retries_within_budget",
                    msg!(
                        "ha.budget_over",
                        caller = caller,
                        at = SimTime::from_micros(at),
                        retries = retries,
                        allowed = allowed,
                        percent = percent
                    ),
                )
                .at(at),
            };
            out.push(if self.cfg.budget { v } else { v.unpromised() });
        }
        if let Some((baseline, back)) = self.recovery(&a) {
            let end = self.cfg.incident_end().unwrap_or(SimTime::ZERO);
            let bound = RECOVERY_MAX;
            let v = match back {
                Some(after) if after <= bound.as_micros() => Verdict::holds(
                    "goodput_recovers",
                    msg!("ha.recovered", after = SimDuration::from_micros(after), baseline = baseline, bound = bound),
                ),
                _ if now < end.saturating_add(bound) => {
                    Verdict::holds("goodput_recovers", msg!("ha.recovery_pending", bound = bound))
                }
                after => Verdict::fails(
                    "goodput_recovers",
                    match after {
                        Some(after) => msg!(
                            "ha.recovered_late",
                            after = SimDuration::from_micros(after),
                            baseline = baseline,
                            bound = bound
                        ),
                        None => msg!("ha.not_recovered", baseline = baseline, bound = bound),
                    },
                )
                .at(end.saturating_add(bound).as_micros()),
            };
            out.push(if self.cfg.budget { v } else { v.unpromised() });
            let (ok, all) = a.isolated;
            let v = if ok * 100 >= all * ISOLATED_PERCENT {
                Verdict::holds("no_cascade", msg!("ha.isolated", ok = ok, calls = all, percent = ISOLATED_PERCENT))
            } else {
                Verdict::fails("no_cascade", msg!("ha.cascaded", ok = ok, calls = all, percent = ISOLATED_PERCENT))
            };
            out.push(if self.cfg.bulkhead { v } else { v.unpromised() });
        }
        out
    }

    fn summary(&self, sim: &Sim<HaProtocol>) -> serde_json::Map<String, serde_json::Value> {
        match self.report(&self.analyse(sim)) {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    /// The page's data: the timeline in [`BUCKET`]s, the breaker's transitions, the limiter's
    /// audit and the run's totals.
    fn view(&self, sim: &Sim<HaProtocol>) -> serde_json::Value {
        let a = self.analyse(sim);
        serde_json::json!({
            "bucket_ms": BUCKET.as_millis(),
            "incident": self.incident_span().map(|(from, to)| serde_json::json!({
                "kind": self.cfg.incident, "from_us": from, "to_us": to,
            })),
            "buckets": a.buckets,
            "transitions": a.transitions,
            "limit": self.limit_audit(&a).map(|(algorithm, r)| serde_json::json!({ "algorithm": algorithm, "audit": r })),
            "report": self.report(&a),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(from: State, to: State, at_ms: u64) -> Transition {
        Transition {
            from,
            to,
            at: SimTime::from_millis(at_ms),
            calls: 10,
            failure_rate_percent: 100,
            slow_call_rate_percent: 0,
        }
    }

    #[test]
    fn the_breaker_checker_refuses_a_move_the_machine_lacks_and_an_open_state_left_early() {
        let judge = HaJudge { cfg: HaConfig::default() };
        let judged = |transitions: Vec<Transition>| {
            judge
                .illegal_transition(&Analysis { transitions, ..Analysis::default() })
                .map(|(t, code)| (t.at.as_millis(), code))
        };
        let legal = vec![
            transition(State::Closed, State::Open, 1_000),
            transition(State::Open, State::HalfOpen, 3_000),
            transition(State::HalfOpen, State::Open, 3_100),
            transition(State::Open, State::HalfOpen, 5_100),
            transition(State::HalfOpen, State::Closed, 5_200),
        ];
        assert_eq!(judged(legal), None);
        let skipped = vec![transition(State::Closed, State::HalfOpen, 1_000)];
        assert_eq!(judged(skipped), Some((1_000, "breaker.illegal")));
        let early =
            vec![transition(State::Closed, State::Open, 1_000), transition(State::Open, State::HalfOpen, 2_999)];
        assert_eq!(judged(early), Some((2_999, "breaker.early")));
        let out_of_turn =
            vec![transition(State::Closed, State::Open, 1_000), transition(State::Closed, State::Open, 4_000)];
        assert_eq!(judged(out_of_turn), Some((4_000, "breaker.illegal")));
    }
}
