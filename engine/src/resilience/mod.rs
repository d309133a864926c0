//! High availability (the chapter's fifth learning goal: "构建高可用系统：故障转移、服务降级、限流熔断",
//! failover, degradation, rate limiting and circuit breaking, which it names but never codes).
//! [`limit`] holds the rate limiters, [`breaker`] the circuit breaker, [`retry`] backoff with
//! jitter and the retry budget, [`concurrency`] the bulkhead and the adaptive (AIMD) limit.

pub mod breaker;
pub mod concurrency;
pub mod limit;
pub mod retry;
