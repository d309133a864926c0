//! The WebAssembly face of distlab: a thin handle over the engine for the lab page, with no logic
//! of its own (design.md). Every engine error becomes a JS exception carrying the engine's own
//! message; a Rust panic, which would be a bug, is reported to the console by
//! `console_error_panic_hook` instead of an opaque "unreachable".
//!
//! The page loads one module per part of the chapter (`parts/*.rs`, each built as a `cdylib`
//! example of this crate: one cargo call links them all, two at a time on two cores). Every
//! module has what this library exports: [`Lab`] drives any scenario of its part (step, run,
//! faults, snapshots, trace slices, verdicts), with the shrink and the branch comparison. A part's
//! own file adds what only its views use (the hash ring's model, the cache policies' comparison,
//! the ID decoder), and names its worlds in [`part!`]: nothing else names the other parts', so
//! the linker leaves them out and a module's size does not grow with the rest of the chapter.

use distlab_engine::scenario::parts::Worlds;
use distlab_engine::scenario::{self, ScenarioRun};
use distlab_engine::sim::{Fault, SimTime, TraceKind, format_hash};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// What a module does once loaded: the panic hook, and the parts whose worlds it can build.
pub fn start(parts: &'static [&'static Worlds]) -> Result<(), JsError> {
    console_error_panic_hook::set_once();
    scenario::parts::install(parts).map_err(|e| JsError::new(&e.to_string()))
}

/// A module of the page: `part!(LOCKS)` makes the file a module with the locks' worlds, its
/// start installing them.
#[macro_export]
macro_rules! part {
    ($($worlds:ident),+) => {
        /// Runs once, when the page instantiates the module.
        #[wasm_bindgen::prelude::wasm_bindgen(start)]
        pub fn start() -> Result<(), wasm_bindgen::JsError> {
            static PARTS: &[&distlab_engine::scenario::parts::Worlds] = &[$(&distlab_engine::scenario::parts::$worlds),+];
            $crate::start(PARTS)
        }
    };
}

/// Plain JS objects (not `Map`s) and numbers: what the page's TypeScript expects.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| JsError::new(&e.to_string()))
}

pub fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("invalid {what}: {e}")))
}

/// Seeds and times cross as JS numbers: whole, non-negative, and exact (below 2^53).
#[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked whole and in range first")]
pub fn whole(value: f64, what: &str) -> Result<u64, JsError> {
    const EXACT_MAX: f64 = 9_007_199_254_740_991.0;
    if value.fract() != 0.0 || !(0.0..=EXACT_MAX).contains(&value) {
        return Err(JsError::new(&format!("{what} = {value} is out of range: allowed whole numbers 0..=2^53-1")));
    }
    Ok(value as u64)
}

/// The scenarios, with their sections, titles (EN and 中文) and promised properties.
#[wasm_bindgen]
pub fn catalog() -> Result<JsValue, JsError> {
    to_js(scenario::catalog())
}

/// Events between two checkpoints of a [`Lab`]: a rewind re-executes at most this many events
/// (plus the faults injected among them) from the nearest checkpoint.
const CHECKPOINT_EVERY: u64 = 2_000;

/// A fault the learner injected: after `after` events, at true time `at_us`, as trace record
/// number `index`. The share link carries `after`, `at_us` and `fault`; a rewind replays them.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
struct Action {
    after: u64,
    /// Absent in links written by hand: the fault went in at its event's time.
    #[serde(rename = "at", default)]
    at_us: u64,
    fault: Fault,
    #[serde(default, skip_deserializing)]
    index: usize,
}

/// A copy of the live run, and how many of the actions it had seen.
struct Checkpoint {
    run: Box<dyn ScenarioRun>,
    actions: usize,
}

/// A fault on the timeline: applied (a trace record) or still to come (the scenario's own
/// schedule), by the scenario or by the learner.
#[derive(Serialize)]
struct FaultMark {
    time: u64,
    /// The trace record, once applied.
    index: Option<u64>,
    fault: Fault,
    by_learner: bool,
}

/// One running scenario: the live run, the faults the learner injected, checkpoints every
/// [`CHECKPOINT_EVERY`] events, and optionally a rewound copy that every reader shows instead
/// of the live run ([`Lab::seek`]).
#[wasm_bindgen]
pub struct Lab {
    live: Box<dyn ScenarioRun>,
    actions: Vec<Action>,
    checkpoints: Vec<Checkpoint>,
    shown: Option<Box<dyn ScenarioRun>>,
    rebuild: (String, serde_json::Value, u64),
    /// Events between checkpoints: [`CHECKPOINT_EVERY`] (tests take more).
    every: u64,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").field("scenario", &self.live.spec().name).field("seed", &self.live.seed()).finish()
    }
}

/// What the Lab's own steps can fail with; each becomes a JS exception with its message at the
/// boundary (kept apart from `JsError`, which only exists in a browser, so that native tests can run them).
#[derive(Debug, thiserror::Error)]
enum LabError {
    #[error(transparent)]
    Sim(#[from] distlab_engine::sim::SimError),
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
}

impl Lab {
    fn build(scenario: &str, config: serde_json::Value, seed: u64) -> Result<Lab, scenario::ScenarioError> {
        let live = scenario::build(scenario, &config, seed)?;
        let checkpoints = vec![Checkpoint { run: live.checkpoint(), actions: 0 }];
        Ok(Lab {
            live,
            actions: Vec::new(),
            checkpoints,
            shown: None,
            rebuild: (scenario.to_owned(), config, seed),
            every: CHECKPOINT_EVERY,
        })
    }

    /// What every reader shows: the rewound copy, or the live run.
    fn current(&self) -> &dyn ScenarioRun {
        self.shown.as_deref().unwrap_or(self.live.as_ref())
    }

    /// After the live run moved: a checkpoint if it crossed the next multiple.
    fn maybe_checkpoint(&mut self) {
        let last = self.checkpoints.last().map_or(0, |c| c.run.events_processed());
        if self.live.events_processed() >= last + self.every {
            self.checkpoints.push(Checkpoint { run: self.live.checkpoint(), actions: self.actions.len() });
        }
    }

    fn step_live(&mut self) -> Result<Option<SimTime>, LabError> {
        let t = self.live.step()?;
        self.maybe_checkpoint();
        Ok(t)
    }

    fn run_live_until(&mut self, until: SimTime) -> Result<(), LabError> {
        while self.live.step_within(until)?.is_some() {
            self.maybe_checkpoint();
        }
        Ok(self.live.run_until(until)?)
    }

    /// Injects into the live run; on a rewound run, the run branches at the shown moment first.
    fn inject_live_or_branch(&mut self, fault: Fault) -> Result<(), LabError> {
        if let Some(shown) = self.shown.take() {
            let (name, config, seed) = &self.rebuild;
            let mut run = scenario::build(name, config, *seed)?;
            let len = shown.trace().len();
            let kept = self.actions.iter().take_while(|a| a.index < len).count();
            self.actions.truncate(kept);
            Self::replay(run.as_mut(), &self.actions, 0, len)?;
            self.checkpoints.retain(|c| c.run.trace().len() <= len);
            self.live = run;
        }
        self.inject_live(fault)
    }

    fn seek_to(&mut self, len: usize) -> Result<(), LabError> {
        if len >= self.live.trace().len() {
            self.shown = None;
            return Ok(());
        }
        let at = self.checkpoints.iter().rposition(|c| c.run.trace().len() <= len).unwrap_or(0);
        let from = &self.checkpoints[at];
        let mut run = from.run.checkpoint();
        Self::replay(run.as_mut(), &self.actions, from.actions, len)?;
        self.shown = Some(run);
        Ok(())
    }

    fn run_live_to_event(&mut self, count: u64) -> Result<(), LabError> {
        while self.live.events_processed() < count {
            if self.step_live()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn inject_live(&mut self, fault: Fault) -> Result<(), LabError> {
        let index = self.live.trace().len();
        self.live.inject(fault.clone())?;
        self.actions.push(Action {
            after: self.live.events_processed(),
            at_us: self.live.now().as_micros(),
            fault,
            index,
        });
        Ok(())
    }

    /// Runs `run` (which has seen `applied` of the actions) forward until its trace holds
    /// `len` records (or nothing is left), replaying the actions where they went in.
    fn replay(run: &mut dyn ScenarioRun, actions: &[Action], mut applied: usize, len: usize) -> Result<(), LabError> {
        while run.trace().len() < len {
            if let Some(a) = actions.get(applied).filter(|a| a.after == run.events_processed()) {
                if a.at_us > run.now().as_micros() {
                    run.run_until(SimTime::from_micros(a.at_us))?;
                }
                run.inject(a.fault.clone())?;
                applied += 1;
                continue;
            }
            if run.step()?.is_none() {
                break;
            }
        }
        Ok(())
    }
}

#[wasm_bindgen]
impl Lab {
    /// Builds `scenario` with `config` (an object of overrides, or `{}`) and `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(scenario: &str, config: JsValue, seed: f64) -> Result<Lab, JsError> {
        let config: serde_json::Value = if config.is_undefined() || config.is_null() {
            serde_json::json!({})
        } else {
            from_js(config, "configuration")?
        };
        Ok(Self::build(scenario, config, whole(seed, "seed")?)?)
    }

    /// Replays a share link: its `faults` (`[{after, at, fault}]`) where they went in, then
    /// runs to `events` events and on to `time_us` (the clock runs on past the last event while
    /// playing; every event up to that time was processed then, so running to it processes none
    /// the sender had not).
    pub fn replay_link(&mut self, faults: JsValue, events: f64, time_us: f64) -> Result<(), JsError> {
        let actions: Vec<Action> = from_js(faults, "faults")?;
        for a in actions {
            self.run_live_to_event(a.after)?;
            if a.at_us > self.live.now().as_micros() {
                self.run_live_until(SimTime::from_micros(a.at_us))?;
            }
            self.inject_live(a.fault)?;
        }
        self.run_live_to_event(whole(events, "events")?)?;
        let until = whole(time_us, "time_us")?;
        if until > self.live.now().as_micros() {
            self.run_live_until(SimTime::from_micros(until))?;
        }
        Ok(())
    }

    /// Processes one live event; returns its time in µs, or `undefined` when nothing is left.
    pub fn step(&mut self) -> Result<Option<f64>, JsError> {
        self.follow();
        Ok(self.step_live()?.map(|t| t.as_micros() as f64))
    }

    /// Runs every live event up to `until_us` (µs of simulated time).
    pub fn run_until(&mut self, until_us: f64) -> Result<(), JsError> {
        self.follow();
        Ok(self.run_live_until(SimTime::from_micros(whole(until_us, "until_us")?))?)
    }

    /// Applies a fault now, e.g. `{fault: "crash", node: "r1"}`. On a rewound run the run
    /// branches there: what came after is dropped (the later faults too) and the fault goes in
    /// at the shown moment.
    pub fn inject(&mut self, fault: JsValue) -> Result<(), JsError> {
        let fault: Fault = from_js(fault, "fault")?;
        Ok(self.inject_live_or_branch(fault)?)
    }

    /// Shows the run as it was when its trace held `len` records (the earliest moment it held at
    /// least that many): re-executed from the nearest checkpoint, so at most
    /// [`CHECKPOINT_EVERY`] events. At or past the live length it follows the live run again.
    pub fn seek(&mut self, len: usize) -> Result<(), JsError> {
        Ok(self.seek_to(len)?)
    }

    /// Back to the live run.
    pub fn follow(&mut self) {
        self.shown = None;
    }

    /// The trace length of the run shown (the live one unless rewound).
    pub fn shown_len(&self) -> usize {
        self.current().trace().len()
    }

    pub fn rewound(&self) -> bool {
        self.shown.is_some()
    }

    /// The faults injected so far, as a share link carries them: `[{after, at, fault}]`.
    pub fn actions(&self) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Linked<'a> {
            after: u64,
            at: u64,
            fault: &'a Fault,
        }
        let linked: Vec<Linked<'_>> =
            self.actions.iter().map(|a| Linked { after: a.after, at: a.at_us, fault: &a.fault }).collect();
        to_js(&linked)
    }

    /// Every fault of the live run for the timeline: applied ones (the scenario's and the
    /// learner's) and the scenario's still to come.
    pub fn fault_marks(&self) -> Result<JsValue, JsError> {
        let by_learner: std::collections::BTreeSet<u64> = self.actions.iter().map(|a| a.index as u64).collect();
        let mut marks: Vec<FaultMark> = self
            .live
            .trace()
            .records()
            .iter()
            .filter_map(|r| match &r.kind {
                TraceKind::Fault { fault } => Some(FaultMark {
                    time: r.time.as_micros(),
                    index: Some(r.index),
                    fault: fault.clone(),
                    by_learner: by_learner.contains(&r.index),
                }),
                _ => None,
            })
            .collect();
        marks.extend(self.live.pending_faults().into_iter().map(|(t, fault)| FaultMark {
            time: t.as_micros(),
            index: None,
            fault,
            by_learner: false,
        }));
        to_js(&marks)
    }

    /// Live events processed so far: what a share link counts to replay a run exactly (several
    /// events can share one instant, so a time alone cannot say where a fault went in).
    pub fn events_processed(&self) -> f64 {
        self.live.events_processed() as f64
    }

    /// Steps the live run until `count` events have been processed (or nothing is left).
    pub fn run_to_event(&mut self, count: f64) -> Result<(), JsError> {
        self.follow();
        Ok(self.run_live_to_event(whole(count, "count")?)?)
    }

    /// The run's seed (below 2^53: the page only ever makes such seeds).
    #[expect(clippy::cast_precision_loss, reason = "seeds from the page are below 2^53")]
    pub fn seed(&self) -> f64 {
        self.live.seed() as f64
    }

    /// The shown run's time.
    pub fn now_us(&self) -> f64 {
        self.current().now().as_micros() as f64
    }

    /// The live run's time.
    pub fn live_now_us(&self) -> f64 {
        self.live.now().as_micros() as f64
    }

    pub fn default_until_us(&self) -> f64 {
        self.live.default_until().as_micros() as f64
    }

    /// The live run is over (its default end, or nothing left to happen).
    pub fn finished(&self) -> bool {
        self.live.finished()
    }

    pub fn snapshot(&self) -> Result<JsValue, JsError> {
        to_js(&self.current().snapshot())
    }

    /// The live trace's length.
    pub fn trace_len(&self) -> usize {
        self.live.trace().len()
    }

    /// Live trace records `from..to` (clamped to the trace).
    pub fn trace_slice(&self, from: usize, to: usize) -> Result<JsValue, JsError> {
        let records = self.live.trace().records();
        let to = to.min(records.len());
        to_js(&records[from.min(to)..to])
    }

    /// The shown run's trace hash: `0x` and 16 hex digits, exactly as `distlab sim run` prints it.
    pub fn trace_hash(&self) -> String {
        format_hash(self.current().trace().hash())
    }

    /// The shown run's verdicts, each holding, violated or pending, and final once it is over.
    pub fn verdicts(&self) -> Result<JsValue, JsError> {
        to_js(&self.current().verdicts())
    }

    pub fn summary(&self) -> Result<JsValue, JsError> {
        to_js(&self.current().summary())
    }

    /// What the shown run's view draws beyond the snapshot (the `cap` history, …).
    pub fn view(&self) -> Result<JsValue, JsError> {
        to_js(&self.current().view())
    }
}

/// A worker's progress callback: each report passed to it as a plain object, the first failure
/// kept and returned once the work is over (the engine's loops take no fallible callback).
struct Progress<'a> {
    callback: &'a js_sys::Function,
    failed: Option<JsError>,
}

impl Progress<'_> {
    fn report<T: Serialize>(&mut self, p: &T) {
        if self.failed.is_none()
            && let Err(e) =
                to_js(p).and_then(|p| self.callback.call1(&JsValue::NULL, &p).map_err(|_| JsError::new("progress")))
        {
            self.failed = Some(e);
        }
    }

    fn done(self) -> Result<(), JsError> {
        self.failed.map_or(Ok(()), Err)
    }
}

/// Shrinks the page's run to a minimal failing fault schedule (what the page's shrink worker
/// calls): the scenario's own schedule with the learner's injected faults (`actions`, as the
/// share link carries them) added at their times, cut by delta debugging while `property` stays
/// broken. The view's workload is kept: the view's controls set it. `progress` is called after
/// each run with `{runs, max_runs, faults, phase}`.
#[wasm_bindgen]
pub fn shrink_run(
    scenario: &str,
    config: JsValue,
    seed: f64,
    actions: JsValue,
    property: &str,
    progress: &js_sys::Function,
) -> Result<JsValue, JsError> {
    use distlab_engine::scenario::{schedule, shrink};
    let js_error = |e: &dyn std::fmt::Display| JsError::new(&e.to_string());
    let mut config: serde_json::Value = from_js(config, "configuration")?;
    let seed = whole(seed, "seed")?;
    let actions: Vec<Action> = from_js(actions, "faults")?;
    let run = scenario::build(scenario, &config, seed).map_err(|e| js_error(&e))?;
    let mut faults = run.pending_faults();
    faults.extend(actions.into_iter().map(|a| (SimTime::from_micros(a.at_us), a.fault)));
    faults.sort_by_key(|(at, _)| *at);
    if let Some(fields) = config.as_object_mut() {
        fields.insert(schedule::FIELD.into(), schedule::to_json(&faults));
    }
    let options = shrink::ShrinkOptions { property: Some(property.to_owned()), workload: false, ..Default::default() };
    let mut progress = Progress { callback: progress, failed: None };
    let shrunk =
        shrink::shrink(scenario, &config, seed, &options, &mut |p| progress.report(p)).map_err(|e| js_error(&e))?;
    progress.done()?;
    to_js(&shrunk)
}

/// Branch and compare (what the page's branch worker calls): the page's run (`config`, `seed`
/// and the learner's faults, as the share link carries them) beside the same run with `change`
/// made (`{add: {after, at, fault}}` or `{remove: {at_us, fault}}`), both to their end, and
/// where they first part. `progress` is called now and then with `{a_us, b_us, until_us}`.
#[wasm_bindgen]
pub fn branch_run(
    scenario: &str,
    config: JsValue,
    seed: f64,
    actions: JsValue,
    change: JsValue,
    progress: &js_sys::Function,
) -> Result<JsValue, JsError> {
    use distlab_engine::scenario::branch;
    let base = branch::Branch { config: from_js(config, "configuration")?, injected: from_js(actions, "faults")? };
    let change: branch::Change = from_js(change, "change")?;
    let mut progress = Progress { callback: progress, failed: None };
    let compared = branch::compare(scenario, whole(seed, "seed")?, &base, &change, None, &mut |p| progress.report(p))
        .map_err(|e| JsError::new(&e.to_string()))?;
    progress.done()?;
    to_js(&compared)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh run of `lab`'s scenario replayed to `len` records with `actions`: what a rewind
    /// must show, computed the slow way.
    fn from_scratch(lab: &Lab, len: usize) -> Box<dyn ScenarioRun> {
        let (name, config, seed) = &lab.rebuild;
        let mut run = scenario::build(name, config, *seed).unwrap();
        Lab::replay(run.as_mut(), &lab.actions, 0, len).unwrap();
        run
    }

    fn lab_with_faults() -> Lab {
        let mut lab = Lab::build("pn-counter", serde_json::json!({}), 3).unwrap();
        lab.every = 150;
        lab.run_live_until(SimTime::from_millis(1_500)).unwrap();
        lab.inject_live(Fault::Pause { node: "r1".into(), duration_us: 700_000 }).unwrap();
        lab.run_live_until(SimTime::from_millis(4_000)).unwrap();
        lab.inject_live(Fault::Partition { groups: vec![vec!["r0".into()], vec!["r1".into(), "r2".into()]] }).unwrap();
        let until = lab.live.default_until();
        lab.run_live_until(until).unwrap();
        lab
    }

    #[test]
    fn a_rewind_shows_the_run_exactly_as_it_was_there() {
        let mut lab = lab_with_faults();
        let len = lab.live.trace().len();
        assert!(lab.checkpoints.len() > 3, "{} checkpoints over {len} records", lab.checkpoints.len());
        let crash = lab.actions[0].index;
        for at in [0, 1, 2_000, crash, crash + 1, len / 2, len - 1] {
            lab.seek_to(at).unwrap();
            let shown = lab.current();
            let slow = from_scratch(&lab, at);
            assert!(shown.trace().len() >= at, "at {at}");
            assert_eq!(shown.trace().len(), slow.trace().len(), "at {at}");
            assert_eq!(shown.trace().hash(), slow.trace().hash(), "at {at}");
            assert_eq!(shown.snapshot(), slow.snapshot(), "at {at}");
            assert_eq!(shown.verdicts(), slow.verdicts(), "at {at}");
        }
        lab.seek_to(crash).unwrap();
        assert_eq!(lab.current().snapshot().nodes[1].status, distlab_engine::sim::NodeStatus::Up, "before the pause");
        lab.seek_to(crash + 1).unwrap();
        assert!(matches!(lab.current().snapshot().nodes[1].status, distlab_engine::sim::NodeStatus::Paused { .. }));
        lab.seek_to(len).unwrap();
        assert!(!lab.rewound());
    }

    #[test]
    fn a_fault_on_a_rewound_run_branches_it_there() {
        let mut lab = lab_with_faults();
        let crash = lab.actions[0].index;
        let restart = lab.actions[1].index;
        let at = (crash + restart) / 2;
        lab.seek_to(at).unwrap();
        let before = lab.current().trace().hash();
        let shown_len = lab.current().trace().len();
        lab.inject_live_or_branch(Fault::Heal).unwrap();
        assert!(!lab.rewound());
        assert_eq!(lab.actions.len(), 2, "the restart after the branch point is dropped");
        assert_eq!(lab.actions[1].index, shown_len);
        assert_eq!(lab.live.trace().len(), shown_len + 1, "the branch goes on from the shown moment");
        assert_eq!(lab.live.trace().records().len(), shown_len + 1, "with its whole trace");
        let slow = from_scratch(&lab, shown_len);
        assert_eq!(slow.trace().hash(), before);
        assert!(lab.checkpoints.iter().all(|c| c.run.trace().len() <= shown_len));
    }
}
