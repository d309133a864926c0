//! Minimal failing schedules. A run that breaks a property is rarely read easily: a lock storm
//! throws two dozen pauses, clock jumps, partitions and crashes at its clients and store, and only
//! two or three of them make the lease fail (46.7.1). Because a run is a pure function of its
//! scenario, configuration, seed and fault schedule, the schedule can be cut down by delta
//! debugging (Zeller and Hildebrandt's *ddmin*) until removing any one fault makes the property
//! hold again, and then the workload (the scenario's [`ScenarioSpec::workload`] knobs: clients,
//! orders, how long it runs) lowered while the property still breaks. What is left is written
//! as configuration with an explicit `schedule` ([`super::schedule`]), which replays the same
//! minimal run in the CLI and in a share link.
//!
//! Every candidate is a whole run from the start, hashing its trace without holding it: shrinking
//! a storm takes a few dozen to a few hundred runs, each bounded by the run's own length.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{ScenarioError, ScenarioSpec, build, schedule};
use crate::sim::{Fault, SimTime};

/// What to shrink toward, and how much work it may take.
#[derive(Clone, Debug)]
pub struct ShrinkOptions {
    /// The property that must stay broken; `None` picks the run's first broken promise, or its
    /// first broken property when it breaks no promise.
    pub property: Option<String>,
    /// Also lower the workload knobs (the page keeps its view's own workload and says no).
    pub workload: bool,
    /// How long each run lasts; `None` for the scenario's own length.
    pub until: Option<SimTime>,
    /// The most runs to try; the smallest failing run found by then is reported, marked as not
    /// known to be minimal.
    pub max_runs: u32,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions { property: None, workload: true, until: None, max_runs: 1_000 }
    }
}

/// Where a shrink is, after each run: for a progress line or bar.
#[derive(Clone, Debug, Serialize)]
pub struct ShrinkProgress {
    /// Runs so far, the original included.
    pub runs: u32,
    /// The most runs it may take.
    pub max_runs: u32,
    /// Faults in the smallest failing schedule so far.
    pub faults: usize,
    /// `faults` or `workload`: what is being cut.
    pub phase: &'static str,
}

/// One workload knob, before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KnobChange {
    pub knob: String,
    pub before: u64,
    pub after: u64,
}

/// A shrunk counterexample.
#[derive(Clone, Debug, Serialize)]
pub struct Shrunk {
    pub scenario: String,
    pub seed: u64,
    /// The property that stays broken.
    pub property: String,
    pub faults_before: usize,
    pub faults_after: usize,
    /// The workload knobs that were lowered.
    pub workload: Vec<KnobChange>,
    /// The configuration that replays the minimal run: the one given, the lowered knobs and the
    /// explicit `schedule`.
    pub config: Value,
    /// The minimal run's verdict on the property (its counterexample, in English).
    pub detail: String,
    /// When the violation happened in the minimal run (µs of true time), where the checker says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_us: Option<u64>,
    /// Runs taken, the original included.
    pub runs: u32,
    /// True when every fault is needed (ddmin's 1-minimality) and no knob could be lowered
    /// further; false when the run budget ran out first.
    pub minimal: bool,
}

/// Why a shrink could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{scenario} has no property {property:?}: its properties are {known}")]
    UnknownProperty { scenario: String, property: String, known: String },
    #[error("nothing to shrink: {scenario} with seed {seed} keeps {property}")]
    Holds { scenario: String, seed: u64, property: String },
    #[error("nothing to shrink: {scenario} with seed {seed} breaks no property ({judged})")]
    NothingBroken { scenario: String, seed: u64, judged: String },
    #[error("max_runs = 0 is out of range: allowed 1..")]
    NoRuns,
}

/// Shrinks the run of `scenario` with `config` and `seed`, calling `progress` after each run.
pub fn shrink(
    scenario: &str,
    config: &Value,
    seed: u64,
    options: &ShrinkOptions,
    progress: &mut dyn FnMut(&ShrinkProgress),
) -> Result<Shrunk, ShrinkError> {
    if options.max_runs == 0 {
        return Err(ShrinkError::NoRuns);
    }
    let base = if config.is_null() { serde_json::json!({}) } else { config.clone() };
    let mut original = build(scenario, &base, seed)?;
    let spec = original.spec();
    if let Some(p) = &options.property
        && !spec.properties.contains(&p.as_str())
    {
        return Err(ShrinkError::UnknownProperty {
            scenario: scenario.to_owned(),
            property: p.clone(),
            known: spec.properties.join(", "),
        });
    }
    let schedule = original.pending_faults();
    let effective = original.config().clone();
    original.set_trace_held(false);
    original.run_until(options.until.unwrap_or(original.default_until())).map_err(ScenarioError::from)?;
    let verdicts = original.verdicts();
    let property = match &options.property {
        Some(p) => p.clone(),
        None => verdicts
            .iter()
            .find(|v| !v.holds && v.promised)
            .or_else(|| verdicts.iter().find(|v| !v.holds))
            .map(|v| v.property.clone())
            .ok_or_else(|| ShrinkError::NothingBroken {
                scenario: scenario.to_owned(),
                seed,
                judged: verdicts.iter().map(|v| v.property.as_str()).collect::<Vec<_>>().join(", "),
            })?,
    };
    if !verdicts.iter().any(|v| v.property == property && !v.holds) {
        return Err(ShrinkError::Holds { scenario: scenario.to_owned(), seed, property });
    }

    let mut search = Search {
        spec,
        seed,
        base,
        property,
        until: options.until,
        max_runs: options.max_runs,
        runs: 1,
        exhausted: false,
        knobs: Vec::new(),
        seen: BTreeMap::new(),
        progress,
    };
    search.report(schedule.len(), "faults");
    let mut kept: Vec<usize> = (0..schedule.len()).collect();
    kept = search.ddmin(&schedule, kept);
    if options.workload && search.lower_workload(&schedule, &kept, &effective) {
        kept = search.ddmin(&schedule, kept);
    }
    let minimal: Vec<(SimTime, Fault)> = kept.iter().map(|&i| schedule[i].clone()).collect();
    let config = search.config(&minimal);
    let mut last = build(scenario, &config, seed)?;
    last.set_trace_held(false);
    last.run_until(options.until.unwrap_or(last.default_until())).map_err(ScenarioError::from)?;
    let verdict = last.verdicts().into_iter().find(|v| v.property == search.property);
    Ok(Shrunk {
        scenario: scenario.to_owned(),
        seed,
        faults_before: schedule.len(),
        faults_after: minimal.len(),
        workload: search.knobs.iter().filter(|k| k.after != k.before).cloned().collect(),
        config,
        detail: verdict.as_ref().map(|v| v.detail.clone()).unwrap_or_default(),
        at_us: verdict.and_then(|v| v.at_us),
        runs: search.runs,
        minimal: !search.exhausted,
        property: search.property,
    })
}

/// The state of one shrink: what it tried and what it found.
struct Search<'a> {
    spec: &'static ScenarioSpec,
    seed: u64,
    /// The configuration given, without the knobs lowered so far.
    base: Value,
    property: String,
    until: Option<SimTime>,
    max_runs: u32,
    runs: u32,
    exhausted: bool,
    /// The workload knobs with their values now.
    knobs: Vec<KnobChange>,
    /// Candidates already run (the configuration's text), with whether they broke the property.
    seen: BTreeMap<String, bool>,
    progress: &'a mut dyn FnMut(&ShrinkProgress),
}

impl Search<'_> {
    fn report(&mut self, faults: usize, phase: &'static str) {
        (self.progress)(&ShrinkProgress { runs: self.runs, max_runs: self.max_runs, faults, phase });
    }

    /// The configuration of a candidate: the one given, the knobs as they are now, `schedule`.
    fn config(&self, schedule: &[(SimTime, Fault)]) -> Value {
        let mut config = self.base.clone();
        if let Some(fields) = config.as_object_mut() {
            for k in self.knobs.iter().filter(|k| k.after != k.before) {
                fields.insert(k.knob.clone(), k.after.into());
            }
            fields.insert(schedule::FIELD.into(), schedule::to_json(schedule));
        }
        config
    }

    /// Whether the candidate still breaks the property. A candidate that cannot be built (a
    /// knob below its range, a fault naming a node the smaller world lacks) or that hits a
    /// simulator limit does not: it is a different failure, not the one being shrunk.
    fn breaks(&mut self, schedule: &[(SimTime, Fault)], phase: &'static str, faults: usize) -> bool {
        let config = self.config(schedule);
        let key = config.to_string();
        if let Some(&known) = self.seen.get(&key) {
            return known;
        }
        if self.runs >= self.max_runs {
            self.exhausted = true;
            return false;
        }
        let broken = match build(self.spec.name, &config, self.seed) {
            Ok(mut run) => {
                self.runs += 1;
                run.set_trace_held(false);
                let until = self.until.unwrap_or(run.default_until());
                run.run_until(until).is_ok() && run.verdicts().iter().any(|v| v.property == self.property && !v.holds)
            }
            Err(_) => false,
        };
        self.seen.insert(key, broken);
        self.report(if broken { schedule.len() } else { faults }, phase);
        broken
    }

    /// ddmin over the indices of `schedule` in `kept`: returns a subset that still breaks the
    /// property and from which no single fault can be removed (unless the budget ran out).
    fn ddmin(&mut self, schedule: &[(SimTime, Fault)], mut kept: Vec<usize>) -> Vec<usize> {
        let pick = |ix: &[usize]| ix.iter().map(|&i| schedule[i].clone()).collect::<Vec<_>>();
        if kept.is_empty() || self.breaks(&[], "faults", kept.len()) {
            return Vec::new();
        }
        let mut n = 2;
        while kept.len() >= 2 && !self.exhausted {
            let chunks = split(&kept, n);
            if let Some(chunk) = chunks.iter().find(|c| self.breaks(&pick(c), "faults", kept.len())) {
                kept = chunk.clone();
                n = 2;
                continue;
            }
            // With two chunks, each one's complement is the other, already tried.
            let complement = (n > 2)
                .then(|| {
                    chunks
                        .iter()
                        .map(|c| kept.iter().copied().filter(|i| !c.contains(i)).collect::<Vec<_>>())
                        .find(|rest| self.breaks(&pick(rest), "faults", kept.len()))
                })
                .flatten();
            if let Some(rest) = complement {
                kept = rest;
                n = (n - 1).max(2);
                continue;
            }
            if n >= kept.len() {
                break;
            }
            n = (2 * n).min(kept.len());
        }
        kept
    }

    /// Lowers each workload knob as far as the property stays broken: tries `v - v/2`, then
    /// `v - v/4`, …, `v - 1`, takes the first that breaks it and starts again from there.
    /// Returns whether any knob moved.
    fn lower_workload(&mut self, schedule: &[(SimTime, Fault)], kept: &[usize], effective: &Value) -> bool {
        let faults: Vec<(SimTime, Fault)> = kept.iter().map(|&i| schedule[i].clone()).collect();
        let mut moved = false;
        for &knob in self.spec.workload {
            let Some(before) = effective.get(knob).and_then(Value::as_u64) else { continue };
            self.knobs.push(KnobChange { knob: knob.to_owned(), before, after: before });
            let at = self.knobs.len() - 1;
            'lower: while !self.exhausted {
                let now = self.knobs[at].after;
                let mut cut = now / 2;
                while cut > 0 {
                    self.knobs[at].after = now - cut;
                    if self.breaks(&faults, "workload", faults.len()) {
                        moved = true;
                        continue 'lower;
                    }
                    cut /= 2;
                }
                self.knobs[at].after = now;
                break;
            }
        }
        moved
    }
}

/// `items` in `n` contiguous chunks of nearly equal size.
fn split(items: &[usize], n: usize) -> Vec<Vec<usize>> {
    let n = n.clamp(1, items.len().max(1));
    let (size, extra) = (items.len() / n, items.len() % n);
    let mut chunks = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let len = size + usize::from(i < extra);
        chunks.push(items[start..start + len].to_vec());
        start += len;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_items_in_order() {
        assert_eq!(split(&[1, 2, 3, 4, 5], 2), vec![vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(split(&[1, 2, 3], 3), vec![vec![1], vec![2], vec![3]]);
        assert_eq!(split(&[1, 2], 5), vec![vec![1], vec![2]]);
    }
}
