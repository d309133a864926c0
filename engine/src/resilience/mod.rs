//! High availability (the chapter's fifth learning goal: "构建高可用系统：故障转移、服务降级、限流熔断",
//! failover, degradation, rate limiting and circuit breaking, which it names but never codes).
//! [`limit`] holds the rate limiters, [`breaker`] the circuit breaker, [`retry`] backoff with
//! jitter and the retry budget, [`concurrency`] the bulkhead and the adaptive (AIMD) limit.
//!
//! The world they protect ([`HaProtocol`]): [`caller`]s call a [`service`] that calls a
//! [`dependency`]. Each mechanism sits where a real system puts it: timeouts, retries and the
//! retry budget in the caller; the rate limiter, the adaptive concurrency limit, deadlines, the
//! bulkhead, the breaker and the fallbacks in the service. [`failover`] is a world of its own: an
//! active–passive pair with heartbeats and a lease, its writers and the storage that fences.

pub mod breaker;
pub mod caller;
pub mod concurrency;
pub mod dependency;
pub mod failover;
pub mod limit;
pub mod retry;
pub mod service;

use serde::{Deserialize, Serialize};

use crate::actor::Protocol;

/// Callers, a service and its dependency.
#[derive(Debug)]
pub struct HaProtocol;

impl Protocol for HaProtocol {
    type Msg = HaMsg;
    type Obs = HaObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HaMsg {
    /// A caller's call to the service: attempt 0, then its retries. `timeout_us` is how long the
    /// caller waits for this attempt (gRPC's deadline propagation: a duration, since the two
    /// clocks disagree); `dependency` whether serving it needs the dependency.
    Call {
        call: u64,
        attempt: u32,
        key: u32,
        timeout_us: u64,
        dependency: bool,
    },
    Answer {
        call: u64,
        attempt: u32,
        outcome: Outcome,
    },
    /// The service's query to the dependency, and its result.
    Query {
        id: u64,
    },
    Result {
        id: u64,
        ok: bool,
    },
}

/// What the service answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// A real answer.
    Ok,
    /// A degraded answer (46.x's "服务降级"): the last good value for the key, or a default.
    Fallback { cached: bool },
    /// The dependency failed and no fallback was given.
    Error,
    /// Refused for overload at once (a 503): the queue was full or the adaptive limit reached.
    Shed,
    /// Refused by the rate limiter (a 429), with when to come back.
    Limited { retry_after_us: u64 },
}

impl Outcome {
    /// An answer the caller can use (real or degraded): it does not retry.
    pub fn usable(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Fallback { .. })
    }
}

/// Why a caller's attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    Timeout,
    Error,
    Shed,
    Limited,
}

/// Why the service answered with a fallback (or an error, with fallbacks off) instead of asking
/// the dependency, or after asking it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Degraded {
    /// The breaker was open (or its half-open trials taken).
    BreakerOpen,
    /// The bulkhead's calls to the dependency were all taken.
    BulkheadFull,
    /// The dependency answered an error or did not answer in time.
    DependencyFailed,
}

/// Why the service refused a call at its door.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The rate limiter denied it.
    Limited,
    /// The adaptive concurrency limit was reached.
    Adaptive,
    /// The queue was full.
    QueueFull,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HaObs {
    /// A caller sent an attempt (attempt > 0: a retry).
    Sent {
        call: u64,
        attempt: u32,
    },
    /// A call ended with a usable answer, `latency_us` after its first attempt; `dependency`
    /// whether serving it needed the dependency.
    Answered {
        call: u64,
        attempts: u32,
        outcome: Outcome,
        latency_us: u64,
        dependency: bool,
    },
    /// A call ended without one.
    GaveUp {
        call: u64,
        attempts: u32,
        last: Failure,
        dependency: bool,
    },
    /// The caller decided to retry (the budget, if any, granted it).
    Retrying {
        call: u64,
    },
    /// The retry budget refused a retry.
    RetryRefused {
        call: u64,
    },
    /// The rate limiter let a call in; `at_us` is the limiter's time for it (the service's
    /// clock; for the leaky bucket, when it leaves the bucket).
    Admitted {
        at_us: u64,
    },
    Refused {
        why: Refusal,
    },
    /// A queued call dropped unserved, its caller's deadline past.
    Expired,
    /// A call served after its caller's deadline: work nobody waits for.
    Wasted,
    /// A degraded answer, or an error when fallbacks are off.
    Degraded {
        why: Degraded,
        fallback: bool,
        cached: bool,
    },
    /// The breaker changed state.
    Breaker {
        transition: breaker::Transition,
    },
    /// The service's gauges, every [`service::GAUGE_EVERY`].
    Gauge {
        queue: u32,
        busy: u32,
        dependency: u32,
        limit: u32,
    },
    /// The dependency's process started.
    Started,
}
