//! Scenario `failure-detector` (46.1.2): a target sends heartbeats every `interval_ms` over a
//! jittery, lossy link, suffers GC pauses, and finally crashes. A monitor runs the chapter's
//! fixed-timeout detector and a phi-accrual detector on the same heartbeats. Judged: both detect
//! the crash (promised); measured: how fast, and how many false suspicions each raised before it.

use crate::msg;
use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::coord::detector::{Detector, DetectorObs, DetectorProtocol, Heartbeater, Monitor};
use crate::sim::{Fault, Happened, LinkConfig, Ratio, Rng, Sim, SimDuration, SimTime};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorConfig {
    pub interval_ms: u64,
    pub fixed_timeout_ms: u64,
    pub phi_threshold: f64,
    pub check_ms: u64,
    /// One-way latency is drawn from 1 ms up to this.
    pub jitter_ms: u64,
    pub loss_percent: u32,
    pub pauses: bool,
    pub crash_at_ms: u64,
    pub duration_ms: u64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            interval_ms: 100,
            fixed_timeout_ms: 500,
            phi_threshold: 8.0,
            check_ms: 10,
            jitter_ms: 50,
            loss_percent: 1,
            pauses: true,
            crash_at_ms: 20_000,
            duration_ms: 30_000,
        }
    }
}

impl Knobs for DetectorConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("interval_ms", self.interval_ms, 1, 60_000)?;
        ConfigError::check_range("fixed_timeout_ms", self.fixed_timeout_ms, 1, 600_000)?;
        if !(self.phi_threshold > 0.0 && self.phi_threshold <= 100.0) {
            return Err(ConfigError::out_of_range("phi_threshold", self.phi_threshold, "above 0 up to 100"));
        }
        ConfigError::check_range("check_ms", self.check_ms, 1, 60_000)?;
        ConfigError::check_range("jitter_ms", self.jitter_ms, 1, 60_000)?;
        ConfigError::check_range("loss_percent", self.loss_percent, 0, 50)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1, 3_600_000)?;
        ConfigError::check_range("crash_at_ms", self.crash_at_ms, 0, self.duration_ms)?;
        Ok(())
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: DetectorConfig = setup.config()?;
    let mut sim = setup.sim(LinkConfig {
        latency_min_us: 1_000,
        latency_max_us: cfg.jitter_ms * 1_000,
        loss: Ratio::percent(cfg.loss_percent),
        ..LinkConfig::default()
    });
    let (check, timeout, threshold) =
        (SimDuration::from_millis(cfg.check_ms), SimDuration::from_millis(cfg.fixed_timeout_ms), cfg.phi_threshold);
    let monitor = sim.add_node("monitor", move |_| Monitor::new(check, timeout, threshold))?;
    let interval = SimDuration::from_millis(cfg.interval_ms);
    sim.add_node("target", move |_| Heartbeater::new(monitor, interval))?;
    let mut rng = Rng::new(setup.seed()).fork();
    if cfg.pauses {
        let mut t = rng.between(1_000, 4_000);
        while t + 2_000 < cfg.crash_at_ms {
            let duration_us = rng.between(100, 1_500) * 1_000;
            sim.schedule(SimTime::from_millis(t), Fault::Pause { node: "target".into(), duration_us });
            t += rng.between(1_000, 4_000);
        }
    }
    let crash_at = SimTime::from_millis(cfg.crash_at_ms);
    sim.schedule(crash_at, Fault::Crash { node: "target".into() });
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), DetectorJudge { crash_at })
}

#[derive(Clone)]
struct DetectorJudge {
    crash_at: SimTime,
}

/// One detector's record over a run.
struct Record {
    false_suspicions: usize,
    detected_after: Option<SimDuration>,
}

impl DetectorJudge {
    /// When the target first crashed: the scheduled crash, or an earlier one the learner caused.
    fn crashed_at(&self, sim: &Sim<DetectorProtocol>) -> SimTime {
        let target = sim.node_id("target");
        sim.observations_and_crashes()
            .find_map(|h| match h {
                Happened::Crashed { node, time } if Some(node) == target => Some(time),
                _ => None,
            })
            .map_or(self.crash_at, |t| t.min(self.crash_at))
    }

    fn record(&self, sim: &Sim<DetectorProtocol>, detector: Detector) -> Record {
        let suspicions = sim.observations().iter().filter(|o| o.obs == DetectorObs::Suspect { detector });
        let crash_at = self.crashed_at(sim);
        let false_suspicions = suspicions.clone().filter(|o| o.time < crash_at).count();
        let last_change = sim
            .observations()
            .iter()
            .rfind(|o| matches!(o.obs, DetectorObs::Suspect { detector: d } | DetectorObs::Trust { detector: d } if d == detector));
        let detected_after = match last_change {
            Some(o) if o.obs == (DetectorObs::Suspect { detector }) && o.time >= crash_at => {
                Some(o.time.saturating_since(crash_at))
            }
            _ => None,
        };
        Record { false_suspicions, detected_after }
    }
}

impl Judge<DetectorProtocol> for DetectorJudge {
    /// The view's timeline (46.1.2): when each detector suspected the target, from its
    /// observations (`to_us` null while still suspected).
    fn view(&self, sim: &Sim<DetectorProtocol>) -> serde_json::Value {
        let spans = |d: Detector| {
            let mut out = Vec::new();
            let mut open: Option<SimTime> = None;
            for o in sim.observations() {
                match o.obs {
                    DetectorObs::Suspect { detector } if detector == d => {
                        open.get_or_insert(o.time);
                    }
                    DetectorObs::Trust { detector } if detector == d => {
                        if let Some(from) = open.take() {
                            out.push(serde_json::json!({ "from_us": from.as_micros(), "to_us": o.time.as_micros() }));
                        }
                    }
                    DetectorObs::Suspect { .. } | DetectorObs::Trust { .. } => {}
                }
            }
            if let Some(from) = open {
                out.push(serde_json::json!({ "from_us": from.as_micros(), "to_us": null }));
            }
            out
        };
        serde_json::json!({ "fixed": spans(Detector::Fixed), "phi": spans(Detector::Phi) })
    }

    fn verdicts(&self, sim: &Sim<DetectorProtocol>) -> Vec<Verdict> {
        let records: Vec<(Detector, Record)> =
            [Detector::Fixed, Detector::Phi].map(|d| (d, self.record(sim, d))).into();
        match records.iter().find(|(_, r)| r.detected_after.is_none()) {
            Some((d, _)) => vec![Verdict::fails(
                "crash_detected",
                match d {
                    Detector::Fixed => msg!("detector.fixed_undecided"),
                    Detector::Phi => msg!("detector.phi_undecided"),
                },
            )],
            None => {
                let part = |(d, r): &(Detector, Record)| {
                    let (after, false_suspicions) = (r.detected_after.unwrap_or_default(), r.false_suspicions);
                    match d {
                        Detector::Fixed => msg!("detector.fixed", after = after, false_suspicions = false_suspicions),
                        Detector::Phi => msg!("detector.phi", after = after, false_suspicions = false_suspicions),
                    }
                };
                let (fixed, phi) = (part(&records[0]), part(&records[1]));
                vec![Verdict::holds("crash_detected", msg!("detector.detected", fixed = fixed, phi = phi))]
            }
        }
    }

    fn summary(&self, sim: &Sim<DetectorProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let mut s = serde_json::Map::new();
        for d in [Detector::Fixed, Detector::Phi] {
            let r = self.record(sim, d);
            let key = match d {
                Detector::Fixed => "fixed",
                Detector::Phi => "phi",
            };
            s.insert(format!("{key}_detection_ms"), r.detected_after.map(|t| t.as_millis()).into());
            s.insert(format!("{key}_false_suspicions"), r.false_suspicions.into());
        }
        s
    }
}
