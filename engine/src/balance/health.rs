//! Health checking (46.4.2): active probes at the chapter's thresholds, passive checks on real
//! traffic, and slow start for a backend that comes back.
//!
//! The chapter's `HealthChecker` has the right thresholds (a probe every 10 s with a 5 s
//! timeout; down after 3 failures in a row, up after 2 successes) and the wrong mechanics: it
//! checks the servers one after another, so one server that does not answer holds every later
//! check back by the whole timeout; it probes every server at the same instant (a synchronized
//! burst on every backend, and from every balancer); it opens a new HTTP session per probe;
//! and it only ever learns from probes, so a dead server stays in rotation for 3 × 10 s (longer
//! while timeouts stack up) while real requests to it fail. Here each backend's probes run on
//! their own schedule ([`ProbeSchedule`]: a seeded phase within the interval, and a jitter on
//! every interval, as Envoy's `interval_jitter`), each with its own timeout, so no probe waits
//! for another; [`ActiveHealth`] flips exactly at the thresholds; [`PassiveHealth`] takes a
//! backend out on the failures of real requests, as nginx's `max_fails`/`fail_timeout` and
//! Envoy's outlier detection (consecutive 5xx, ejection time growing with each ejection); and
//! [`SlowStart`] ramps a recovered backend's weight instead of handing it a full share cold.

use serde::{Deserialize, Serialize};

use crate::sim::Rng;

/// The active checker's settings; the defaults are the chapter's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthConfig {
    pub interval_ms: u64,
    pub timeout_ms: u64,
    /// Failures in a row that take a backend out of rotation.
    pub unhealthy_threshold: u32,
    /// Successes in a row that put it back.
    pub healthy_threshold: u32,
    /// Each interval is lengthened by up to this much, at random (0: none).
    pub jitter_ms: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            interval_ms: 10_000,
            timeout_ms: 5_000,
            unhealthy_threshold: 3,
            healthy_threshold: 2,
            jitter_ms: 1_000,
        }
    }
}

/// A change of a backend's state, as a checker reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Down,
    Up,
}

/// One backend's active health: consecutive probe results against the thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveHealth {
    pub healthy: bool,
    successes: u32,
    failures: u32,
}

impl Default for ActiveHealth {
    /// A backend starts in rotation, as the chapter's `healthy: bool = True`.
    fn default() -> Self {
        ActiveHealth { healthy: true, successes: 0, failures: 0 }
    }
}

impl ActiveHealth {
    /// A probe's result (a timeout is a failure). Returns the transition it causes, if any: the
    /// `unhealthy_threshold`-th failure in a row takes a healthy backend down, the
    /// `healthy_threshold`-th success in a row brings an unhealthy one back.
    pub fn record(&mut self, ok: bool, cfg: &HealthConfig) -> Option<Transition> {
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if !self.healthy && self.successes >= cfg.healthy_threshold.max(1) {
                self.healthy = true;
                return Some(Transition::Up);
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.healthy && self.failures >= cfg.unhealthy_threshold.max(1) {
                self.healthy = false;
                return Some(Transition::Down);
            }
        }
        None
    }
}

/// When one backend's probes go out: the first at a seeded phase within the first interval (so
/// that backends, and balancers, do not all probe at once), then every interval plus a fresh
/// jitter. A probe's result is due by its send time plus the timeout, whatever the others do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSchedule {
    next_ms: u64,
}

impl ProbeSchedule {
    pub fn new(cfg: &HealthConfig, start_ms: u64, rng: &mut Rng) -> Self {
        ProbeSchedule { next_ms: start_ms + rng.below(cfg.interval_ms.max(1)) }
    }

    /// When the next probe goes out.
    pub fn next_ms(&self) -> u64 {
        self.next_ms
    }

    /// The probe due now has been sent: schedule the one after it.
    pub fn advance(&mut self, cfg: &HealthConfig, rng: &mut Rng) -> u64 {
        let jitter = if cfg.jitter_ms > 0 { rng.between(0, cfg.jitter_ms) } else { 0 };
        self.next_ms += cfg.interval_ms.max(1) + jitter;
        self.next_ms
    }
}

/// Passive checks on real requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PassiveConfig {
    /// nginx: `max_fails` failures within `fail_timeout_ms` make the backend unavailable for
    /// `fail_timeout_ms` (nginx's defaults: 1 failure, 10 s).
    Nginx { max_fails: u32, fail_timeout_ms: u64 },
    /// Envoy's outlier detection: `consecutive_failures` in a row (Envoy's `consecutive_5xx`,
    /// default 5) eject the backend for `base_ejection_ms` times the number of times it has been
    /// ejected (default 30 s).
    Envoy { consecutive_failures: u32, base_ejection_ms: u64 },
}

impl PassiveConfig {
    pub const NGINX_DEFAULT: PassiveConfig = PassiveConfig::Nginx { max_fails: 1, fail_timeout_ms: 10_000 };
    pub const ENVOY_DEFAULT: PassiveConfig = PassiveConfig::Envoy { consecutive_failures: 5, base_ejection_ms: 30_000 };
}

/// One backend's passive health.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassiveHealth {
    /// nginx: the failures counted in the current window and when it began; Envoy: the
    /// failures in a row.
    failures: u32,
    window_start_ms: u64,
    /// Out of rotation until then (ms), if ejected.
    ejected_until_ms: Option<u64>,
    /// How many times it has been ejected (Envoy's ejection time grows with it).
    ejections: u32,
}

impl PassiveHealth {
    /// Whether the passive checks leave the backend in rotation at `now_ms`; an ejection that
    /// has run out ends here.
    pub fn available(&mut self, now_ms: u64) -> bool {
        match self.ejected_until_ms {
            Some(until) if now_ms < until => false,
            Some(_) => {
                self.ejected_until_ms = None;
                self.failures = 0;
                true
            }
            None => true,
        }
    }

    /// When the current ejection ends, if the backend is ejected.
    pub fn ejected_until_ms(&self) -> Option<u64> {
        self.ejected_until_ms
    }

    /// A real request's outcome at `now_ms`. Returns `Some(Down)` when it ejects the backend
    /// (and `Some(Up)` never: a backend comes back when its ejection runs out, see
    /// [`PassiveHealth::available`]).
    pub fn record(&mut self, ok: bool, now_ms: u64, cfg: &PassiveConfig) -> Option<Transition> {
        if !self.available(now_ms) {
            return None;
        }
        match *cfg {
            PassiveConfig::Nginx { max_fails, fail_timeout_ms } => {
                if ok || max_fails == 0 {
                    return None;
                }
                if now_ms.saturating_sub(self.window_start_ms) >= fail_timeout_ms || self.failures == 0 {
                    self.window_start_ms = now_ms;
                    self.failures = 0;
                }
                self.failures += 1;
                (self.failures >= max_fails).then(|| self.eject(now_ms + fail_timeout_ms))
            }
            PassiveConfig::Envoy { consecutive_failures, base_ejection_ms } => {
                if ok {
                    self.failures = 0;
                    return None;
                }
                self.failures += 1;
                (self.failures >= consecutive_failures.max(1)).then(|| {
                    let times = u64::from(self.ejections) + 1;
                    self.eject(now_ms + base_ejection_ms.saturating_mul(times))
                })
            }
        }
    }

    fn eject(&mut self, until_ms: u64) -> Transition {
        self.ejected_until_ms = Some(until_ms);
        self.ejections = self.ejections.saturating_add(1);
        self.failures = 0;
        Transition::Down
    }
}

/// nginx's `slow_start`: a backend back in rotation at `since_ms` gets its weight back linearly
/// over `window_ms` (at least 1 from the start, so it is tried at all), instead of a full share
/// of traffic on a cold cache and cold connection pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowStart {
    pub window_ms: u64,
}

impl SlowStart {
    /// The weight to give a backend of `weight` that came back at `since_ms`, at `now_ms`.
    pub fn weight(&self, weight: u32, since_ms: u64, now_ms: u64) -> u32 {
        let elapsed = now_ms.saturating_sub(since_ms);
        if self.window_ms == 0 || elapsed >= self.window_ms || weight == 0 {
            return weight;
        }
        let ramped = u64::from(weight) * elapsed / self.window_ms;
        u32::try_from(ramped).unwrap_or(weight).clamp(1, weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives one backend's probes the way a checker does: each probe sent at its scheduled
    /// time, answered at once while the backend lives (`refuses`: refused at once once it is
    /// dead; else it times out), returning when it was taken down.
    fn detect(cfg: &HealthConfig, phase_seed: u64, died_ms: u64, refuses: bool) -> (u64, Vec<u64>) {
        let mut rng = Rng::new(phase_seed);
        let mut schedule = ProbeSchedule::new(cfg, 0, &mut rng);
        let mut health = ActiveHealth::default();
        let mut sent = Vec::new();
        loop {
            let at = schedule.next_ms();
            sent.push(at);
            let (ok, answered) = if at < died_ms {
                (true, at)
            } else if refuses {
                (false, at)
            } else {
                (false, at + cfg.timeout_ms)
            };
            if health.record(ok, cfg) == Some(Transition::Down) {
                return (answered, sent);
            }
            schedule.advance(cfg, &mut rng);
        }
    }

    #[test]
    fn a_dead_backend_goes_down_at_the_third_failed_probe_to_the_millisecond() {
        let cfg = HealthConfig { jitter_ms: 0, ..HealthConfig::default() };
        let (down, sent) = detect(&cfg, 1, 12_345, true);
        let first_dead = *sent.iter().find(|t| **t >= 12_345).unwrap();
        assert_eq!(down, first_dead + 2 * cfg.interval_ms, "refused: the third failure, two intervals on");
        let (down, _) = detect(&cfg, 1, 12_345, false);
        assert_eq!(down, first_dead + 2 * cfg.interval_ms + cfg.timeout_ms, "black-holed: plus the timeout");
        assert!(down - 12_345 <= 3 * cfg.interval_ms + cfg.timeout_ms, "the chapter's 3 × 10 s, plus 5 s");
    }

    #[test]
    fn backends_probe_at_their_own_phases_and_jittered_intervals() {
        let cfg = HealthConfig::default();
        let mut rng = Rng::new(9);
        let firsts: Vec<u64> = (0..8).map(|_| ProbeSchedule::new(&cfg, 0, &mut rng).next_ms()).collect();
        assert!(firsts.iter().all(|t| *t < cfg.interval_ms));
        let distinct: std::collections::BTreeSet<u64> = firsts.iter().copied().collect();
        assert_eq!(distinct.len(), 8, "no two backends probed at the same instant: {firsts:?}");
        let mut s = ProbeSchedule::new(&cfg, 0, &mut rng);
        let mut last = s.next_ms();
        for _ in 0..100 {
            let next = s.advance(&cfg, &mut rng);
            assert!((cfg.interval_ms..=cfg.interval_ms + cfg.jitter_ms).contains(&(next - last)));
            last = next;
        }
    }

    #[test]
    fn active_health_flips_exactly_at_both_thresholds() {
        let cfg = HealthConfig::default();
        let mut h = ActiveHealth::default();
        assert_eq!(h.record(false, &cfg), None);
        assert_eq!(h.record(false, &cfg), None);
        assert_eq!(h.record(true, &cfg), None, "a success resets the failures");
        assert_eq!([h.record(false, &cfg), h.record(false, &cfg)], [None, None]);
        assert_eq!(h.record(false, &cfg), Some(Transition::Down), "the third in a row");
        assert_eq!(h.record(false, &cfg), None, "already down");
        assert_eq!(h.record(true, &cfg), None);
        assert_eq!(h.record(false, &cfg), None, "a failure resets the successes");
        assert_eq!(h.record(true, &cfg), None);
        assert_eq!(h.record(true, &cfg), Some(Transition::Up), "the second in a row");
        assert!(h.healthy);
    }

    #[test]
    fn nginx_passive_checks_eject_on_max_fails_within_fail_timeout_for_fail_timeout() {
        let cfg = PassiveConfig::Nginx { max_fails: 3, fail_timeout_ms: 10_000 };
        let mut p = PassiveHealth::default();
        assert_eq!(p.record(false, 0, &cfg), None);
        assert_eq!(p.record(false, 4_000, &cfg), None);
        assert_eq!(p.record(false, 10_000, &cfg), None, "the window began at 0: this failure starts a new one");
        assert_eq!(p.record(false, 12_000, &cfg), None);
        assert_eq!(p.record(true, 13_000, &cfg), None, "a success does not clear nginx's count");
        assert_eq!(p.record(false, 19_999, &cfg), Some(Transition::Down), "three within 10 s");
        assert!(!p.available(29_998));
        assert!(p.available(29_999), "back after fail_timeout, to the millisecond");
        let default = PassiveConfig::NGINX_DEFAULT;
        let mut one = PassiveHealth::default();
        assert_eq!(one.record(false, 5, &default), Some(Transition::Down), "nginx's default: one failure");
    }

    #[test]
    fn envoy_outlier_detection_ejects_after_consecutive_failures_for_longer_each_time() {
        let cfg = PassiveConfig::ENVOY_DEFAULT;
        let mut p = PassiveHealth::default();
        for t in 0..4 {
            assert_eq!(p.record(false, t, &cfg), None);
        }
        assert_eq!(p.record(true, 4, &cfg), None, "a success breaks the run");
        for t in 5..9 {
            assert_eq!(p.record(false, t, &cfg), None);
        }
        assert_eq!(p.record(false, 9, &cfg), Some(Transition::Down));
        assert_eq!(p.ejected_until_ms(), Some(30_009));
        assert_eq!(p.record(false, 20_000, &cfg), None, "an ejected backend gets no verdicts");
        assert!(p.available(30_009));
        for t in 0..5 {
            p.record(false, 40_000 + t, &cfg);
        }
        assert_eq!(p.ejected_until_ms(), Some(40_004 + 60_000), "the second ejection lasts twice as long");
    }

    #[test]
    fn slow_start_ramps_a_recovered_weight_linearly_from_one() {
        let s = SlowStart { window_ms: 30_000 };
        assert_eq!(s.weight(10, 1_000, 1_000), 1, "tried at all from the start");
        assert_eq!(s.weight(10, 1_000, 16_000), 5);
        assert_eq!(s.weight(10, 1_000, 30_999), 9);
        assert_eq!(s.weight(10, 1_000, 31_000), 10);
        assert_eq!(SlowStart { window_ms: 0 }.weight(10, 0, 0), 10);
    }
}
