//! A circuit breaker with resilience4j's state machine (the chapter's fifth learning goal,
//! "熔断"): a caller asks [`Breaker::try_acquire`] before each call to a dependency and tells
//! [`Breaker::record`] how it went.
//!
//! - **Closed**: calls go through; their outcomes fill a sliding window, the last `n` calls
//!   ([`Window::Count`]) or the calls of the last `d` ([`Window::Time`]). Once the window holds
//!   at least `minimum_calls` and the failure rate or the slow-call rate (calls slower than
//!   `slow_call`, failed or not) reaches its threshold, the breaker opens.
//! - **Open**: every call is rejected at once (what protects the caller's threads and the
//!   dependency), with the time left; after `wait_in_open` the next call attempt moves it to
//!   half-open (resilience4j's default, without a timer of its own).
//! - **Half-open**: `half_open_calls` trial calls go through, the others are rejected; once all
//!   the trials are recorded, their failure and slow-call rates decide: open again, or closed
//!   with an empty window.
//!
//! Unlike resilience4j's time-based window, which adds calls up in one-second buckets, the time
//! window here keeps each call until it is `d` old: exact, at the cost of one entry per call.
//! Every transition is returned to the caller, to observe.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::sim::{SimDuration, SimTime};

/// Which calls the closed breaker judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// The last `n` calls.
    Count(u32),
    /// The calls recorded within the last duration.
    Time(SimDuration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerConfig {
    /// Open at this failure rate, in percent (1..=100).
    pub failure_rate_percent: u32,
    /// Open at this rate of calls slower than `slow_call`, in percent (1..=100; 100 with every
    /// call slow).
    pub slow_call_rate_percent: u32,
    pub slow_call: SimDuration,
    pub window: Window,
    /// No judgement before the window holds this many calls.
    pub minimum_calls: u32,
    pub wait_in_open: SimDuration,
    pub half_open_calls: u32,
}

impl Default for BreakerConfig {
    /// resilience4j's defaults: 50% failures or 100% slow calls (over 60 s) among the last 100
    /// calls, at least 100 of them; 60 s open; 10 trial calls.
    fn default() -> Self {
        BreakerConfig {
            failure_rate_percent: 50,
            slow_call_rate_percent: 100,
            slow_call: SimDuration::from_secs(60),
            window: Window::Count(100),
            minimum_calls: 100,
            wait_in_open: SimDuration::from_secs(60),
            half_open_calls: 10,
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BreakerError {
    #[error("{field} = {value} is out of range: allowed {allowed}")]
    OutOfRange { field: &'static str, value: u64, allowed: &'static str },
}

impl BreakerConfig {
    pub fn validate(&self) -> Result<(), BreakerError> {
        let check = |field, value: u64, lo: u64, hi: u64, allowed| {
            if (lo..=hi).contains(&value) { Ok(()) } else { Err(BreakerError::OutOfRange { field, value, allowed }) }
        };
        check("failure_rate_percent", self.failure_rate_percent.into(), 1, 100, "1..=100")?;
        check("slow_call_rate_percent", self.slow_call_rate_percent.into(), 1, 100, "1..=100")?;
        check("minimum_calls", self.minimum_calls.into(), 1, 1_000_000, "1..=1000000")?;
        check("half_open_calls", self.half_open_calls.into(), 1, 1_000_000, "1..=1000000")?;
        match self.window {
            Window::Count(n) => check("window calls", n.into(), 1, 1_000_000, "1..=1000000"),
            Window::Time(d) => check("window µs", d.as_micros(), 1, 86_400_000_000, "1..=86400000000"),
        }
    }
}

/// The breaker's state, as the page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

/// A change of state, with the rates that caused it (percent of `calls`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub at: SimTime,
    pub calls: u32,
    pub failure_rate_percent: u32,
    pub slow_call_rate_percent: u32,
}

/// A call the breaker refused, and when it will let one through (the open state's time left;
/// zero while half-open trials are outstanding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub retry_after: SimDuration,
}

/// One recorded call: when it ended, whether it failed, whether it was slow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Call {
    at: SimTime,
    failed: bool,
    slow: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breaker {
    config: BreakerConfig,
    state: State,
    /// Closed: the sliding window. Half-open: the trials' outcomes.
    calls: VecDeque<Call>,
    /// When it last opened.
    opened_at: SimTime,
    /// Half-open: trial calls let through so far.
    trials: u32,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Result<Breaker, BreakerError> {
        config.validate()?;
        Ok(Breaker { config, state: State::Closed, calls: VecDeque::new(), opened_at: SimTime::ZERO, trials: 0 })
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// May a call go through at `now`? An open breaker past its wait becomes half-open here
    /// (the transition is returned with the permit).
    pub fn try_acquire(&mut self, now: SimTime) -> Result<Option<Transition>, Rejected> {
        match self.state {
            State::Closed => Ok(None),
            State::Open => {
                let until = self.opened_at.saturating_add(self.config.wait_in_open);
                if now < until {
                    return Err(Rejected { retry_after: until.saturating_since(now) });
                }
                let t = self.transition(State::HalfOpen, now);
                self.trials = 1;
                Ok(Some(t))
            }
            State::HalfOpen if self.trials < self.config.half_open_calls => {
                self.trials += 1;
                Ok(None)
            }
            State::HalfOpen => Err(Rejected { retry_after: SimDuration::ZERO }),
        }
    }

    /// A call that went through ended at `now` after `took`; `failed` if it failed (an error or
    /// a timeout). A call let through before the breaker opened counts for nothing once it is
    /// open (resilience4j ignores it too).
    pub fn record(&mut self, now: SimTime, took: SimDuration, failed: bool) -> Option<Transition> {
        let call = Call { at: now, failed, slow: took >= self.config.slow_call };
        match self.state {
            State::Open => None,
            State::Closed => {
                self.calls.push_back(call);
                self.trim(now);
                let (calls, failure, slow) = self.rates();
                let over = failure >= self.config.failure_rate_percent || slow >= self.config.slow_call_rate_percent;
                (calls >= self.config.minimum_calls && over).then(|| self.open(now))
            }
            State::HalfOpen => {
                self.calls.push_back(call);
                let (calls, failure, slow) = self.rates();
                if calls < self.config.half_open_calls {
                    return None;
                }
                let over = failure >= self.config.failure_rate_percent || slow >= self.config.slow_call_rate_percent;
                Some(if over { self.open(now) } else { self.transition(State::Closed, now) })
            }
        }
    }

    fn open(&mut self, now: SimTime) -> Transition {
        let t = self.transition(State::Open, now);
        self.opened_at = now;
        t
    }

    /// Moves to `to`, with the rates of the calls judged so far, and starts afresh.
    fn transition(&mut self, to: State, now: SimTime) -> Transition {
        let (calls, failure_rate_percent, slow_call_rate_percent) = self.rates();
        let t = Transition { from: self.state, to, at: now, calls, failure_rate_percent, slow_call_rate_percent };
        self.state = to;
        self.calls.clear();
        self.trials = 0;
        t
    }

    /// Drops the calls the window no longer covers.
    fn trim(&mut self, now: SimTime) {
        match self.config.window {
            Window::Count(n) => {
                while self.calls.len() > n as usize {
                    self.calls.pop_front();
                }
            }
            Window::Time(d) => {
                while self.calls.front().is_some_and(|c| c.at.saturating_add(d) <= now) {
                    self.calls.pop_front();
                }
            }
        }
    }

    /// (calls, failure rate %, slow-call rate %) over the calls held, rates rounded down.
    fn rates(&self) -> (u32, u32, u32) {
        let n = self.calls.len() as u64;
        if n == 0 {
            return (0, 0, 0);
        }
        let percent = |k: usize| u32::try_from(k as u64 * 100 / n).unwrap_or(100);
        let failed = self.calls.iter().filter(|c| c.failed).count();
        let slow = self.calls.iter().filter(|c| c.slow).count();
        (u32::try_from(n).unwrap_or(u32::MAX), percent(failed), percent(slow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> SimTime {
        SimTime::from_millis(v)
    }

    fn config() -> BreakerConfig {
        BreakerConfig {
            failure_rate_percent: 50,
            slow_call_rate_percent: 80,
            slow_call: SimDuration::from_millis(500),
            window: Window::Count(10),
            minimum_calls: 4,
            wait_in_open: SimDuration::from_secs(5),
            half_open_calls: 2,
        }
    }

    #[test]
    fn it_opens_at_the_threshold_once_the_window_holds_enough_calls() {
        let mut b = Breaker::new(config()).unwrap();
        let quick = SimDuration::from_millis(10);
        // Three failures in three calls: below the minimum of four, no judgement yet.
        for t in 0..3 {
            assert_eq!(b.try_acquire(ms(t)), Ok(None));
            assert_eq!(b.record(ms(t), quick, true), None);
        }
        b.try_acquire(ms(3)).unwrap();
        let opened = b.record(ms(3), quick, false).expect("3 of 4 failed: 75% ≥ 50%");
        assert_eq!(
            opened,
            Transition {
                from: State::Closed,
                to: State::Open,
                at: ms(3),
                calls: 4,
                failure_rate_percent: 75,
                slow_call_rate_percent: 0
            }
        );
        assert_eq!(b.try_acquire(ms(1_003)), Err(Rejected { retry_after: SimDuration::from_millis(4_000) }));
        // After the wait, the next attempt is the first trial; one more, then no more.
        let half = b.try_acquire(ms(5_003)).unwrap().expect("half-open");
        assert_eq!((half.from, half.to, half.calls), (State::Open, State::HalfOpen, 0));
        assert_eq!(b.try_acquire(ms(5_004)), Ok(None));
        assert_eq!(b.try_acquire(ms(5_005)), Err(Rejected { retry_after: SimDuration::ZERO }));
        assert_eq!(b.record(ms(5_010), quick, false), None, "one trial of two recorded");
        let closed = b.record(ms(5_020), quick, false).expect("both trials succeeded");
        assert_eq!(
            (closed.from, closed.to, closed.calls, closed.failure_rate_percent),
            (State::HalfOpen, State::Closed, 2, 0)
        );
        assert_eq!(b.state(), State::Closed);
    }

    #[test]
    fn a_failed_trial_opens_it_again_and_slow_calls_open_it_too() {
        let mut b = Breaker::new(config()).unwrap();
        let slow = SimDuration::from_millis(600);
        for t in 0..4 {
            b.try_acquire(ms(t)).unwrap();
            let opened = b.record(ms(t), slow, false);
            assert_eq!(opened.is_some(), t == 3, "four slow calls of four: 100% ≥ 80%");
        }
        assert_eq!(b.state(), State::Open);
        b.try_acquire(ms(5_003)).unwrap();
        b.try_acquire(ms(5_003)).unwrap();
        b.record(ms(5_004), SimDuration::from_millis(1), true);
        let again = b.record(ms(5_005), SimDuration::from_millis(1), false).unwrap();
        assert_eq!((again.to, again.failure_rate_percent), (State::Open, 50));
        assert_eq!(b.try_acquire(ms(5_006)), Err(Rejected { retry_after: SimDuration::from_millis(4_999) }));
        // A call let through before it opened is ignored once open.
        assert_eq!(b.record(ms(5_007), SimDuration::from_millis(1), true), None);
    }

    #[test]
    fn the_window_forgets_old_calls_by_count_or_by_time() {
        let quick = SimDuration::from_millis(1);
        // By count: four failures long ago, then ten successes push them out.
        let mut b = Breaker::new(BreakerConfig { minimum_calls: 10, ..config() }).unwrap();
        for t in 0..4 {
            b.record(ms(t), quick, true);
        }
        for t in 4..14 {
            assert_eq!(b.record(ms(t), quick, false), None, "at most 4 of 10 failed");
        }
        // By time: failures more than a second old no longer count.
        let timed = BreakerConfig { window: Window::Time(SimDuration::from_secs(1)), ..config() };
        let mut b = Breaker::new(timed).unwrap();
        for t in 0..3 {
            b.record(ms(t), quick, true);
        }
        for t in 0..3 {
            assert_eq!(b.record(ms(1_000 + t), quick, false), None, "the failures of t < {t} ms are gone");
        }
        assert_eq!(b.record(ms(1_003), quick, true), None, "1 failure in 4");
        assert_eq!(b.record(ms(1_004), quick, true), None, "2 in 5: not yet");
        assert_eq!(b.record(ms(1_005), quick, true).map(|t| t.failure_rate_percent), Some(50), "3 in 6");
    }

    #[test]
    fn bad_configurations_are_refused() {
        let bad = BreakerConfig { failure_rate_percent: 0, ..config() };
        assert_eq!(
            Breaker::new(bad).unwrap_err().to_string(),
            "failure_rate_percent = 0 is out of range: allowed 1..=100"
        );
        assert!(Breaker::new(BreakerConfig { window: Window::Count(0), ..config() }).is_err());
        assert!(Breaker::new(BreakerConfig { half_open_calls: 0, ..config() }).is_err());
    }
}
