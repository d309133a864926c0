//! Failure detection (46.1.2): is a silent node dead, or only slow?
//!
//! The chapter's heartbeat manager suspects a node when no heartbeat came for a fixed timeout:
//! simple, but a GC pause or a slow network longer than the timeout is taken for a crash, and a
//! timeout long enough to avoid that makes real crashes slow to notice. The phi-accrual detector
//! (Hayashibara et al., 2004) instead learns the heartbeats' rhythm and reports a suspicion level
//! φ that grows with the silence: φ = −log10 P(a heartbeat this late). With Cassandra's
//! exponential model of the gaps, φ = Δt / (mean · ln 10): divisions only, identical on every
//! target. A node is suspected when φ passes a threshold (default 8: a one-in-10⁸ lateness).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Ctx, NodeId, Protocol};
use crate::sim::{SimDuration, SimTime};

/// ln 10, written out: the engine computes no logarithms (design rule 2).
const LN_10: f64 = std::f64::consts::LN_10;
/// Inter-arrival times remembered by the phi detector.
pub const PHI_WINDOW_MAX: usize = 100;

/// The chapter's detector: suspect after `timeout` without a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedTimeout {
    pub timeout: SimDuration,
    last: Option<SimTime>,
}

impl FixedTimeout {
    pub fn new(timeout: SimDuration) -> Self {
        FixedTimeout { timeout, last: None }
    }
    pub fn heartbeat(&mut self, now: SimTime) {
        self.last = Some(now);
    }
    pub fn suspects(&self, now: SimTime) -> bool {
        self.last.is_some_and(|l| now.saturating_since(l) > self.timeout)
    }
}

/// The phi-accrual detector with an exponential model of heartbeat gaps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhiAccrual {
    pub threshold: f64,
    gaps_us: VecDeque<u64>,
    sum_us: u64,
    last: Option<SimTime>,
}

impl PhiAccrual {
    pub fn new(threshold: f64) -> Self {
        PhiAccrual { threshold, gaps_us: VecDeque::new(), sum_us: 0, last: None }
    }

    pub fn heartbeat(&mut self, now: SimTime) {
        if let Some(last) = self.last {
            let gap = now.saturating_since(last).as_micros();
            self.gaps_us.push_back(gap);
            self.sum_us += gap;
            if self.gaps_us.len() > PHI_WINDOW_MAX {
                self.sum_us -= self.gaps_us.pop_front().unwrap_or(0);
            }
        }
        self.last = Some(now);
    }

    /// The suspicion level; 0 until two heartbeats have set a rhythm.
    pub fn phi(&self, now: SimTime) -> f64 {
        let (Some(last), n) = (self.last, self.gaps_us.len()) else { return 0.0 };
        if n == 0 || self.sum_us == 0 {
            return 0.0;
        }
        let mean = self.sum_us as f64 / n as f64;
        now.saturating_since(last).as_micros() as f64 / (mean * LN_10)
    }

    pub fn suspects(&self, now: SimTime) -> bool {
        self.phi(now) > self.threshold
    }
}

#[derive(Debug)]
pub struct DetectorProtocol;

impl Protocol for DetectorProtocol {
    type Msg = Heartbeat;
    type Obs = DetectorObs;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    Fixed,
    Phi,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DetectorObs {
    Suspect { detector: Detector },
    Trust { detector: Detector },
}

crate::timers! {
    /// The heartbeater's one timer.
    pub enum BeatTimer {
        /// Time to send the next heartbeat.
        Beat = 1,
    }
}

crate::timers! {
    /// The monitor's one timer.
    pub enum CheckTimer {
        /// Time to ask both detectors again.
        Check = 2,
    }
}

/// The monitored node: a heartbeat to the monitor every `interval`.
#[derive(Clone, Debug)]
pub struct Heartbeater {
    pub monitor: NodeId,
    pub interval: SimDuration,
    seq: u64,
}

impl Heartbeater {
    pub fn new(monitor: NodeId, interval: SimDuration) -> Self {
        Heartbeater { monitor, interval, seq: 0 }
    }
}

impl Actor<DetectorProtocol> for Heartbeater {
    type Durable = ();
    type Timer = BeatTimer;
    fn on_start(&mut self, ctx: &mut Ctx<'_, DetectorProtocol>) {
        ctx.set_timer(BeatTimer::Beat, self.interval);
    }
    fn on_message(&mut self, _: &mut Ctx<'_, DetectorProtocol>, _: NodeId, _: Heartbeat) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, DetectorProtocol>, _: BeatTimer) {
        self.seq += 1;
        ctx.send(self.monitor, Heartbeat { seq: self.seq });
        ctx.set_timer(BeatTimer::Beat, self.interval);
    }
    fn durable(&self) {}
    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "sent": self.seq })
    }
}

/// The monitor: both detectors on the same heartbeats, checked every `check` interval; reports
/// each change of opinion.
#[derive(Clone, Debug)]
pub struct Monitor {
    check: SimDuration,
    fixed: FixedTimeout,
    phi: PhiAccrual,
    suspected: [bool; 2],
}

impl Monitor {
    pub fn new(check: SimDuration, fixed_timeout: SimDuration, phi_threshold: f64) -> Self {
        Monitor {
            check,
            fixed: FixedTimeout::new(fixed_timeout),
            phi: PhiAccrual::new(phi_threshold),
            suspected: [false; 2],
        }
    }

    fn report(&mut self, ctx: &mut Ctx<'_, DetectorProtocol>) {
        let now = ctx.now();
        for (i, (detector, suspects)) in
            [(Detector::Fixed, self.fixed.suspects(now)), (Detector::Phi, self.phi.suspects(now))]
                .into_iter()
                .enumerate()
        {
            if suspects != self.suspected[i] {
                self.suspected[i] = suspects;
                ctx.observe(if suspects { DetectorObs::Suspect { detector } } else { DetectorObs::Trust { detector } });
            }
        }
    }
}

impl Actor<DetectorProtocol> for Monitor {
    type Durable = ();
    type Timer = CheckTimer;
    fn on_start(&mut self, ctx: &mut Ctx<'_, DetectorProtocol>) {
        ctx.set_timer(CheckTimer::Check, self.check);
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, DetectorProtocol>, _: NodeId, _: Heartbeat) {
        let now = ctx.now();
        self.fixed.heartbeat(now);
        self.phi.heartbeat(now);
        self.report(ctx);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, DetectorProtocol>, _: CheckTimer) {
        self.report(ctx);
        ctx.set_timer(CheckTimer::Check, self.check);
    }
    fn durable(&self) {}
    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({ "fixed_suspects": self.suspected[0], "phi_suspects": self.suspected[1] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_grows_with_silence_relative_to_the_rhythm() {
        let mut phi = PhiAccrual::new(8.0);
        for i in 0..=10 {
            phi.heartbeat(SimTime::from_millis(i * 100));
        }
        let at = |ms: u64| phi.phi(SimTime::from_millis(1_000 + ms));
        assert!((at(100) - 1.0 / LN_10).abs() < 1e-12, "one usual gap: {}", at(100));
        assert!(!phi.suspects(SimTime::from_millis(1_000 + 1_800)), "{}", at(1_800));
        assert!(phi.suspects(SimTime::from_millis(1_000 + 1_900)), "{}", at(1_900));
        assert_eq!(PhiAccrual::new(8.0).phi(SimTime::from_millis(5_000)), 0.0, "no rhythm yet");
    }

    #[test]
    fn fixed_timeout_suspects_after_the_timeout() {
        let mut f = FixedTimeout::new(SimDuration::from_millis(500));
        assert!(!f.suspects(SimTime::from_millis(10_000)), "nothing heard yet, nothing suspected");
        f.heartbeat(SimTime::from_millis(100));
        assert!(!f.suspects(SimTime::from_millis(600)));
        assert!(f.suspects(SimTime::from_millis(601)));
    }
}
