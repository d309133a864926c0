//! Minimal failing schedules: an explicit `schedule` replays a run exactly, and `shrink` cuts the
//! pinned counterexamples of the lock, CAP and cache scenarios down to what they need, each
//! result replayed and checked to be 1-minimal here rather than taken on the shrinker's word.

use distlab_engine::scenario::shrink::{self, KnobChange, ShrinkError, ShrinkOptions, Shrunk};
use distlab_engine::scenario::{self, schedule};
use distlab_engine::sim::SimTime;
use distlab_tests::{run_to_end, verdict};
use serde_json::{Value, json};

fn shrunk(name: &str, config: Value, seed: u64) -> Shrunk {
    shrink::shrink(name, &config, seed, &ShrinkOptions::default(), &mut |_| {}).unwrap()
}

fn knob(knob: &str, before: u64, after: u64) -> KnobChange {
    KnobChange { knob: knob.into(), before, after }
}

/// The shrunk configuration breaks the property when replayed, and removing any one of its
/// faults makes it hold: the shrinker's claim of 1-minimality, checked independently.
fn replays_and_is_one_minimal(s: &Shrunk) {
    let replay = run_to_end(&s.scenario, &s.config, s.seed);
    let v = verdict(replay.as_ref(), &s.property);
    assert!(!v.holds, "the replayed minimal run breaks {}", s.property);
    assert_eq!(v.detail, s.detail);
    let faults = s.config[schedule::FIELD].as_array().unwrap().clone();
    assert_eq!(faults.len(), s.faults_after);
    for (i, fault) in faults.iter().enumerate() {
        let mut fewer = s.config.clone();
        fewer[schedule::FIELD].as_array_mut().unwrap().remove(i);
        let run = run_to_end(&s.scenario, &fewer, s.seed);
        assert!(verdict(run.as_ref(), &s.property).holds, "without fault {i} ({fault}) the property holds");
    }
}

#[test]
fn a_run_given_its_own_schedule_is_the_same_run() {
    for spec in scenario::catalog() {
        let original = scenario::build(spec.name, &json!({}), 3).unwrap();
        let own = schedule::to_json(&original.pending_faults());
        let until = original.default_until().min(SimTime::from_millis(3_000));
        let mut runs = [original, scenario::build(spec.name, &json!({ "schedule": own }), 3).unwrap()];
        for run in &mut runs {
            run.run_until(until).unwrap();
        }
        assert_eq!(runs[0].trace().hash(), runs[1].trace().hash(), "{}", spec.name);
        assert!(runs[0].trace().len() > 10, "{} ran", spec.name);
    }
}

#[test]
fn an_explicit_schedule_replaces_the_scenarios_own() {
    let storm = scenario::build("lock", &json!({}), 1).unwrap();
    assert!(storm.pending_faults().len() > 20, "the storm schedules its faults up front");
    let quiet = scenario::build("lock", &json!({ "schedule": [] }), 1).unwrap();
    assert!(quiet.pending_faults().is_empty());
    let one = json!({ "schedule": [{ "at_us": 500_000, "fault": "crash", "node": "c0" }] });
    let run = run_to_end("lock", &one, 1);
    assert_eq!(
        run.trace().records().iter().filter(|r| matches!(r.kind, distlab_engine::sim::TraceKind::Fault { .. })).count(),
        1
    );
    let err = |config: Value| scenario::build("lock", &config, 1).err().unwrap().to_string();
    assert_eq!(
        err(json!({ "schedule": [{ "at_us": 1, "fault": "crash", "node": "c9" }] })),
        r#"schedule: unknown node "c9": the nodes are redis, resource, c0, c1, c2"#
    );
    assert!(err(json!({ "schedule": [{ "fault": "heal" }] })).starts_with("schedule[0] = "));
}

#[test]
fn every_workload_knob_is_a_whole_number_of_its_scenario() {
    for spec in scenario::catalog() {
        let run = scenario::build(spec.name, &json!({}), 1).unwrap();
        for knob in spec.workload {
            assert!(run.config()[knob].is_u64(), "{}: {knob} is {:?}", spec.name, run.config()[knob]);
        }
    }
}

#[test]
fn a_lock_storm_without_fencing_shrinks_to_one_store_clock_jump() {
    let s = shrunk("lock", json!({ "fencing": false }), 1);
    assert_eq!((s.property.as_str(), s.faults_before, s.faults_after, s.minimal), ("mutual_exclusion", 59, 1, true));
    assert_eq!(s.workload, vec![knob("clients", 3, 2), knob("duration_ms", 30_000, 1_975)]);
    assert_eq!(
        s.config["schedule"],
        json!([{ "at_us": 1_743_000, "fault": "clock_jump", "node": "redis", "delta_us": 1_978_000 }])
    );
    replays_and_is_one_minimal(&s);
}

#[test]
fn a_fencing_counter_lost_in_a_restart_needs_a_pause_and_two_store_crashes() {
    let s = shrunk("lock", json!({ "store_persistent": false }), 25);
    assert_eq!((s.faults_before, s.faults_after), (68, 4));
    let kinds: Vec<&str> =
        s.config["schedule"].as_array().unwrap().iter().map(|f| f["fault"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["pause", "crash", "restart", "crash"]);
    replays_and_is_one_minimal(&s);
}

#[test]
fn bare_quorums_break_linearizability_with_no_fault_at_all() {
    let s = shrunk("cap", json!({ "consistency": "quorum", "keys": 1, "clients": 5, "op_interval_ms": 20 }), 18);
    assert_eq!((s.property.as_str(), s.faults_before, s.faults_after), ("linearizability", 2, 0));
    assert_eq!(s.workload, vec![knob("duration_ms", 10_000, 6_000)]);
    replays_and_is_one_minimal(&s);
}

#[test]
fn the_stale_fill_race_needs_one_app_and_a_trickle_of_reads() {
    let s = shrunk("cache", json!({}), 1);
    assert_eq!((s.property.as_str(), s.faults_before, s.faults_after), ("fresh_reads", 0, 0));
    assert_eq!(
        s.workload,
        vec![
            knob("apps", 2, 1),
            knob("rate_per_s", 200, 56),
            knob("keys", 200, 100),
            knob("duration_ms", 20_000, 19_656)
        ]
    );
    replays_and_is_one_minimal(&s);
}

#[test]
fn keeping_the_workload_cuts_only_faults_and_the_budget_is_kept() {
    let options = ShrinkOptions { workload: false, ..ShrinkOptions::default() };
    let s = shrink::shrink("lock", &json!({ "fencing": false }), 1, &options, &mut |_| {}).unwrap();
    assert!(s.workload.is_empty() && s.faults_after < 5, "{s:?}");
    assert_eq!(s.config.as_object().unwrap().len(), 2, "only fencing and the schedule: {}", s.config);
    replays_and_is_one_minimal(&s);

    let mut seen = Vec::new();
    let tight = ShrinkOptions { max_runs: 5, ..ShrinkOptions::default() };
    let s = shrink::shrink("lock", &json!({ "fencing": false }), 1, &tight, &mut |p| seen.push(p.runs)).unwrap();
    assert!(!s.minimal && s.runs <= 5, "{s:?}");
    assert!(
        s.faults_after < s.faults_before,
        "even five runs cut something: {} of {}",
        s.faults_after,
        s.faults_before
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]) && seen.last() == Some(&s.runs), "{seen:?}");
    assert!(!verdict(run_to_end("lock", &s.config, 1).as_ref(), "mutual_exclusion").holds);
}

#[test]
fn nothing_to_shrink_is_said() {
    let err = |name: &str, config: Value, property: Option<&str>| {
        let options = ShrinkOptions { property: property.map(Into::into), ..ShrinkOptions::default() };
        shrink::shrink(name, &config, 1, &options, &mut |_| {}).unwrap_err()
    };
    assert_eq!(
        err("lock", json!({}), Some("mutual_exclusion")).to_string(),
        "nothing to shrink: lock with seed 1 keeps mutual_exclusion"
    );
    assert!(matches!(err("pn-counter", json!({}), None), ShrinkError::NothingBroken { .. }));
    assert_eq!(
        err("lock", json!({}), Some("safety")).to_string(),
        "lock has no property \"safety\": its properties are mutual_exclusion, lock_belief"
    );
    assert!(matches!(err("nope", json!({}), None), ShrinkError::Scenario(scenario::ScenarioError::Unknown { .. })));
}
