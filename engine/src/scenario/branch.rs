//! Branch and compare: fork a run at any event, with one fault more or one fault less, run both
//! branches to the end and find the first event where they part. Every section's lesson is a
//! "what if" — what if this client had paused just here (46.7.1), this replica had crashed before
//! the write (46.1), this consumer had died mid-batch (46.6) — and a run being a pure function of
//! its scenario, configuration, seed and faults is what makes the question exact: both branches
//! are the same run up to the change, so the first record they disagree on after it is the
//! change's first consequence, not noise.
//!
//! A branch is a configuration (with its explicit `schedule`, if any: [`super::schedule`]) and
//! the faults put in by hand while it ran ([`Injected`], exactly as the page's share link carries
//! them). The two traces are read side by side as the runs go, so only a window of records is
//! held however long they run.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ScenarioError, ScenarioRun, build, schedule};
use crate::check::Verdict;
use crate::sim::{Fault, SimError, SimTime, TraceKind, TraceRecord, format_hash};

/// A fault put in by hand while the run went: once `after` events had been processed, with the
/// clock at `at_us` (the clock runs on between events while a page plays, and several events
/// can share one instant, so the count says where and the time says when).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Injected {
    pub after: u64,
    #[serde(rename = "at", default)]
    pub at_us: u64,
    pub fault: Fault,
}

/// One side of a comparison: how to build its run, and the faults put in by hand.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    /// The scenario's configuration (an object; it may hold an explicit `schedule`).
    pub config: Value,
    pub injected: Vec<Injected>,
}

/// What makes the second branch: one fault more, or one fault of the run's less.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// This fault put in by hand where it says.
    Add(Injected),
    /// The run's fault at `at_us` (its schedule's or one put in by hand) taken out.
    Remove { at_us: u64, fault: Fault },
}

impl Change {
    /// The fault added or removed.
    pub fn fault(&self) -> &Fault {
        match self {
            Change::Add(i) => &i.fault,
            Change::Remove { fault, .. } => fault,
        }
    }
}

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BranchError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("the run has no {fault} at t = {at_us} µs to remove: its faults are {known}")]
    NoSuchFault { fault: String, at_us: u64, known: String },
}

/// How many records each side shows before the first divergence and from it on.
pub const WINDOW_BEFORE: usize = 6;
pub const WINDOW_AFTER: usize = 10;

/// One branch, run to its end.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    pub verdicts: Vec<Verdict>,
    pub summary: serde_json::Map<String, Value>,
    /// `0x` and 16 hex digits, as `distlab sim run` prints it.
    pub trace_hash: String,
    pub records: u64,
    pub events: u64,
    /// Its records around the first divergence (or its last ones when there is none).
    pub window: Vec<TraceRecord>,
}

/// Where the branches part: the first record after the change that is not the same in both.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Divergence {
    /// Its index in each trace; `None` where that branch had already ended.
    pub a_index: Option<u64>,
    pub b_index: Option<u64>,
    /// The earlier of the two records' times.
    pub at_us: u64,
}

/// Two branches of one run, side by side.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub scenario: String,
    pub seed: u64,
    pub change: Change,
    /// How to run the second branch on its own: what the page opens as a run of its own.
    pub b_branch: Branch,
    /// The change's own record (the fault taking effect, or the one that no longer does), in
    /// the branch that has it; `None` when it never came (a fault after the run's end).
    pub change_record: Option<TraceRecord>,
    pub a: Side,
    pub b: Side,
    /// `None`: apart from the change itself, the two traces are the same record for record.
    pub divergence: Option<Divergence>,
}

/// The second branch: `base` with `change` made. A removed fault is looked for first among the
/// faults put in by hand, then in the run's schedule (which becomes explicit, less that one).
pub fn fork(scenario: &str, seed: u64, base: &Branch, change: &Change) -> Result<Branch, BranchError> {
    let mut branch = base.clone();
    match change {
        Change::Add(i) => {
            let at = branch.injected.iter().take_while(|x| x.after <= i.after).count();
            branch.injected.insert(at, i.clone());
        }
        Change::Remove { at_us, fault } => {
            if let Some(at) = branch.injected.iter().position(|x| x.at_us == *at_us && &x.fault == fault) {
                branch.injected.remove(at);
                return Ok(branch);
            }
            let mut faults = build(scenario, &base.config, seed)?.pending_faults();
            let Some(at) = faults.iter().position(|(t, f)| t.as_micros() == *at_us && f == fault) else {
                let known = faults
                    .iter()
                    .map(|(t, f)| format!("{} at {} µs", name(f), t.as_micros()))
                    .chain(base.injected.iter().map(|x| format!("{} at {} µs (by hand)", name(&x.fault), x.at_us)))
                    .collect::<Vec<_>>();
                return Err(BranchError::NoSuchFault {
                    fault: name(fault),
                    at_us: *at_us,
                    known: if known.is_empty() { "none".to_owned() } else { known.join(", ") },
                });
            };
            faults.remove(at);
            if !branch.config.is_object() {
                branch.config = serde_json::json!({});
            }
            if let Some(fields) = branch.config.as_object_mut() {
                fields.insert(schedule::FIELD.into(), schedule::to_json(&faults));
            }
        }
    }
    Ok(branch)
}

/// A fault's kind and node, for messages: `crash c1`, `heal`.
fn name(f: &Fault) -> String {
    let value = serde_json::to_value(f).unwrap_or_default();
    let kind = value.get("fault").and_then(Value::as_str).unwrap_or("fault");
    match value.get("node").and_then(Value::as_str) {
        Some(node) => format!("{kind} {node}"),
        None => kind.to_owned(),
    }
}

/// Where in a run a fault is added: after every event by a time, or after a number of events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    Time(SimTime),
    Events(u64),
}

/// The fault `fault` put in at `at` of the run `base` (its own faults put in by hand applied on
/// the way): the [`Change::Add`] a page makes when the learner forks at an event.
pub fn add_at(scenario: &str, seed: u64, base: &Branch, at: At, fault: Fault) -> Result<Change, BranchError> {
    let until = match at {
        At::Time(t) => Some(t),
        At::Events(_) => None,
    };
    let mut run = Stream::new(scenario, seed, base, until)?;
    run.run.set_trace_held(false);
    while !run.done && !matches!(at, At::Events(n) if run.run.events_processed() >= n) {
        run.advance()?;
    }
    Ok(Change::Add(Injected { after: run.run.events_processed(), at_us: run.now(), fault }))
}

/// Every fault of the run `base`, in time order: its schedule's and those put in by hand.
pub fn faults(scenario: &str, seed: u64, base: &Branch) -> Result<Vec<(SimTime, Fault)>, BranchError> {
    let mut all = build(scenario, &base.config, seed)?.pending_faults();
    all.extend(base.injected.iter().map(|i| (SimTime::from_micros(i.at_us), i.fault.clone())));
    all.sort_by_key(|(t, _)| *t);
    Ok(all)
}

/// Where a comparison is, for a progress bar: the two runs' clocks against their end.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct BranchProgress {
    pub a_us: u64,
    pub b_us: u64,
    pub until_us: u64,
}

/// Runs `base` and `base` with `change` made (see [`fork`]) to `until` (the scenario's own end
/// when `None`) and compares them record by record, calling `progress` now and then.
pub fn compare(
    scenario: &str,
    seed: u64,
    base: &Branch,
    change: &Change,
    until: Option<SimTime>,
    progress: &mut dyn FnMut(&BranchProgress),
) -> Result<Comparison, BranchError> {
    let other = fork(scenario, seed, base, change)?;
    let mut a = Stream::new(scenario, seed, base, until)?;
    let mut b = Stream::new(scenario, seed, &other, until)?;

    let is_change = |r: &TraceRecord| match &r.kind {
        TraceKind::Fault { fault } | TraceKind::FaultRejected { fault, .. } => fault == change.fault(),
        _ => false,
    };
    let (mut a_window, mut b_window) = (VecDeque::new(), VecDeque::new());
    let keep = |window: &mut VecDeque<TraceRecord>, r: TraceRecord| {
        if window.len() == WINDOW_BEFORE {
            window.pop_front();
        }
        window.push_back(r);
    };
    let mut change_record = None;
    let mut divergence = None;
    let mut compared = 0u64;
    loop {
        compared += 1;
        if compared.is_multiple_of(4_096) {
            progress(&BranchProgress { a_us: a.now(), b_us: b.now(), until_us: a.until.as_micros() });
        }
        let (ra, rb) = (a.peek()?.cloned(), b.peek()?.cloned());
        let same = match (&ra, &rb) {
            (None, None) => break,
            (Some(x), Some(y)) => x.time == y.time && x.kind == y.kind,
            _ => false,
        };
        if same {
            keep(&mut a_window, a.take());
            keep(&mut b_window, b.take());
            continue;
        }
        // The change's own record: the added fault in the second branch, the removed one in the
        // first. Skipped once; what follows it is compared.
        if change_record.is_none() {
            let (side, window, record) = match change {
                Change::Add(_) => (&mut b, &mut b_window, &rb),
                Change::Remove { .. } => (&mut a, &mut a_window, &ra),
            };
            if let Some(r) = record.as_ref().filter(|r| is_change(r)) {
                change_record = Some(r.clone());
                keep(window, side.take());
                continue;
            }
        }
        let at_us = ra.iter().chain(&rb).map(|r| r.time.as_micros()).min().unwrap_or_default();
        divergence = Some(Divergence { a_index: ra.map(|r| r.index), b_index: rb.map(|r| r.index), at_us });
        break;
    }
    let mut a_window = Vec::from(a_window);
    let mut b_window = Vec::from(b_window);
    if divergence.is_some() {
        for (stream, window) in [(&mut a, &mut a_window), (&mut b, &mut b_window)] {
            while window.len() < WINDOW_BEFORE + WINDOW_AFTER && stream.peek()?.is_some() {
                window.push(stream.take());
            }
        }
    }
    progress(&BranchProgress { a_us: a.now(), b_us: b.now(), until_us: a.until.as_micros() });
    let a = a.finish(a_window)?;
    let b = b.finish(b_window)?;
    Ok(Comparison {
        scenario: scenario.to_owned(),
        seed,
        change: change.clone(),
        b_branch: other,
        change_record,
        a,
        b,
        divergence,
    })
}

/// One branch's run, its trace read a record at a time as the run makes them.
struct Stream {
    run: Box<dyn ScenarioRun>,
    injected: Vec<Injected>,
    applied: usize,
    until: SimTime,
    /// The index of the next record to read.
    next: usize,
    /// Nothing more will happen by `until`.
    done: bool,
}

/// Records held at most before the read ones are let go.
const HELD_MAX: usize = 4_096;

impl Stream {
    fn new(scenario: &str, seed: u64, branch: &Branch, until: Option<SimTime>) -> Result<Stream, BranchError> {
        let run = build(scenario, &branch.config, seed)?;
        let until = until.unwrap_or(run.default_until());
        Ok(Stream { run, injected: branch.injected.clone(), applied: 0, until, next: 0, done: false })
    }

    fn now(&self) -> u64 {
        self.run.now().as_micros()
    }

    /// The next record, running the branch on until it makes one; `None` once it has ended.
    fn peek(&mut self) -> Result<Option<&TraceRecord>, BranchError> {
        while self.next >= self.run.trace().len() && !self.done {
            if self.run.trace().records().len() >= HELD_MAX {
                // Every held record has been read: let them go, keeping the count and the hash.
                self.run.set_trace_held(false);
                self.run.set_trace_held(true);
            }
            self.advance()?;
        }
        let trace = self.run.trace();
        Ok(self.next.checked_sub(trace.base()).and_then(|i| trace.records().get(i)))
    }

    /// The record [`Stream::peek`] returned.
    fn take(&mut self) -> TraceRecord {
        let trace = self.run.trace();
        let record = trace.records()[self.next - trace.base()].clone();
        self.next += 1;
        record
    }

    /// One step: the next fault put in by hand if it is due (as the page replays a share link),
    /// else the next event by `until`; at the end the clock is run on to `until`.
    fn advance(&mut self) -> Result<(), BranchError> {
        let processed = self.run.events_processed();
        let next = self.injected.get(self.applied).cloned();
        let due = next.as_ref().is_some_and(|i| i.after <= processed);
        if !due && self.run.step_within(self.until)?.is_some() {
            return Ok(());
        }
        // Due by its count, or nothing else happens by `until` (a fault put in after the last
        // event still goes in, if by then).
        match next.filter(|i| due || i.at_us <= self.until.as_micros()) {
            Some(i) => {
                let at = SimTime::from_micros(i.at_us);
                if at > self.run.now() && at <= self.until {
                    self.run.run_until(at)?;
                }
                self.run.inject(i.fault)?;
                self.applied += 1;
            }
            None => {
                self.run.run_until(self.until)?;
                self.done = true;
            }
        }
        Ok(())
    }

    /// Runs the branch to its end without holding its trace, and reports it.
    fn finish(mut self, window: Vec<TraceRecord>) -> Result<Side, BranchError> {
        self.run.set_trace_held(false);
        while !self.done {
            self.advance()?;
        }
        Ok(Side {
            verdicts: self.run.verdicts(),
            summary: self.run.summary(),
            trace_hash: format_hash(self.run.trace().hash()),
            records: self.run.trace().len() as u64,
            events: self.run.events_processed(),
            window,
        })
    }
}
