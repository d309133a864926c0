//! Branch and compare: a branch is the run it forks from up to the change, the first divergence
//! is the change's first consequence, and each branch is the very run the CLI and the page replay
//! on their own (same trace hash), checked here against runs built independently.

use distlab_engine::scenario::branch::{self, At, Branch, BranchError, Change, Injected};
use distlab_engine::scenario::{self, schedule};
use distlab_engine::sim::{Fault, SimTime, format_hash};
use distlab_tests::{run_to_end, verdict};
use serde_json::json;

fn compare(name: &str, base: &Branch, seed: u64, change: &Change) -> branch::Comparison {
    branch::compare(name, seed, base, change, None, &mut |_| {}).unwrap()
}

fn config(value: serde_json::Value) -> Branch {
    Branch { config: value, injected: Vec::new() }
}

/// The lock storm without fencing breaks mutual exclusion on seed 1 through one clock jump of
/// the store's: the branch without it keeps the promise, and parts from the run 125.797 ms
/// after that jump, when a lease that no longer ran out early is still held.
#[test]
fn removing_the_store_clock_jump_saves_mutual_exclusion() {
    let base = config(json!({ "fencing": false }));
    let jump = Fault::ClockJump { node: "redis".into(), delta_us: 1_978_000 };
    let change = Change::Remove { at_us: 1_743_000, fault: jump.clone() };
    let c = compare("lock", &base, 1, &change);
    let status = |side: &branch::Side, p: &str| side.verdicts.iter().find(|v| v.property == p).unwrap().holds;
    assert!(!status(&c.a, "mutual_exclusion") && status(&c.b, "mutual_exclusion"));
    assert!(!status(&c.a, "lock_belief") && status(&c.b, "lock_belief"));
    let d = c.divergence.clone().expect("the branches part");
    assert_eq!((d.a_index, d.b_index, d.at_us), (Some(211), Some(210), 1_868_797));
    let jumped = c.change_record.clone().expect("the jump took effect in the first branch");
    assert_eq!((jumped.index, jumped.time.as_micros()), (202, 1_743_000), "the change comes before its consequence");
    let in_window = |side: &branch::Side, i: u64| side.window.iter().any(|r| r.index == i);
    assert!(in_window(&c.a, 211) && in_window(&c.b, 210));
    assert!(c.a.window.len() <= branch::WINDOW_BEFORE + branch::WINDOW_AFTER);

    // Each side is the run the CLI replays: the first the plain run, the second the run
    // given its schedule less the jump.
    let plain = run_to_end("lock", &base.config, 1);
    assert_eq!(c.a.trace_hash, format_hash(plain.trace().hash()));
    assert_eq!(c.a.events, plain.events_processed());
    let mut rest = plain_schedule("lock", &base.config, 1);
    rest.retain(|(t, f)| !(t.as_micros() == 1_743_000 && *f == jump));
    let fewer = run_to_end("lock", &json!({ "fencing": false, "schedule": schedule::to_json(&rest) }), 1);
    assert_eq!(c.b.trace_hash, format_hash(fewer.trace().hash()));
    assert!(verdict(fewer.as_ref(), "mutual_exclusion").holds);
}

fn plain_schedule(name: &str, config: &serde_json::Value, seed: u64) -> Vec<(SimTime, Fault)> {
    scenario::build(name, config, seed).unwrap().pending_faults()
}

/// An added fault goes in exactly where the page puts a learner's: after `after` events, with
/// the clock at `at`. The second branch equals a run stepped there by hand and given the fault.
#[test]
fn an_added_fault_goes_in_where_the_page_puts_it() {
    let base = config(json!({}));
    let crash = Fault::Crash { node: "redis".into() };
    let change = branch::add_at("lock", 1, &base, At::Time(SimTime::from_millis(5_000)), crash.clone()).unwrap();
    let Change::Add(Injected { after, at_us, .. }) = change.clone() else { panic!("an addition") };
    assert_eq!((after, at_us), (301, 5_000_000));
    let c = compare("lock", &base, 1, &change);
    let mut by_hand = scenario::build("lock", &json!({}), 1).unwrap();
    while by_hand.events_processed() < after {
        by_hand.step().unwrap();
    }
    by_hand.run_until(SimTime::from_micros(at_us)).unwrap();
    by_hand.inject(crash).unwrap();
    let end = by_hand.default_until();
    by_hand.run_until(end).unwrap();
    assert_eq!(c.b.trace_hash, format_hash(by_hand.trace().hash()));
    assert_eq!(c.change_record.map(|r| r.index), Some(581), "the crash is the second branch's record 581");
    let d = c.divergence.expect("a crashed store drops what it is sent");
    assert_eq!((d.a_index, d.b_index, d.at_us), (Some(588), Some(589), 5_077_757));
    let drop = c.b.window.iter().find(|r| r.index == 589).unwrap();
    assert!(matches!(drop.kind, distlab_engine::sim::TraceKind::Drop { .. }), "{drop:?}");

    // By events, as the page forks at a chosen event: the same position.
    let by_events = branch::add_at("lock", 1, &base, At::Events(301), Fault::Heal).unwrap();
    let Change::Add(i) = by_events else { panic!("an addition") };
    assert_eq!(i.after, 301);
    assert!(i.at_us <= 5_000_000);
}

/// A fault that changes nothing (a node made "slow" by a factor of 1) parts no run from its
/// branch, in any scenario, on several seeds: only the fault's own record differs.
#[test]
fn a_fault_that_changes_nothing_never_diverges() {
    for spec in scenario::catalog() {
        for seed in [1, 2] {
            let until = SimTime::from_millis(3_000);
            let run = scenario::build(spec.name, &json!({}), seed).unwrap();
            let node = run.snapshot().nodes[0].name.clone();
            let base = config(json!({}));
            let change = branch::add_at(
                spec.name,
                seed,
                &base,
                At::Time(SimTime::from_millis(700)),
                Fault::Slow { node, factor: 1 },
            )
            .unwrap();
            let c = branch::compare(spec.name, seed, &base, &change, Some(until), &mut |_| {}).unwrap();
            assert_eq!(c.divergence, None, "{} seed {seed}", spec.name);
            assert!(c.change_record.is_some(), "{} seed {seed}: the fault went in", spec.name);
            assert_eq!(c.b.records, c.a.records + 1, "{} seed {seed}", spec.name);
            assert_eq!(c.b.events, c.a.events, "{} seed {seed}", spec.name);
        }
    }
}

/// Removing each of a run's faults in turn: the branches never part before the removed fault's
/// time, and the first branch is always the run as it was.
#[test]
fn a_removed_fault_parts_the_branches_no_earlier_than_its_time() {
    let base = config(json!({}));
    let plain = run_to_end("cap", &base.config, 18);
    let faults = plain_schedule("cap", &base.config, 18);
    assert!(!faults.is_empty());
    for (at, fault) in faults {
        let c = compare("cap", &base, 18, &Change::Remove { at_us: at.as_micros(), fault });
        assert_eq!(c.a.trace_hash, format_hash(plain.trace().hash()));
        if let Some(d) = c.divergence {
            assert!(d.at_us >= at.as_micros(), "parted at {} before the fault at {at}", d.at_us);
        }
    }
    let storm = plain_schedule("lock", &json!({}), 4);
    for (at, fault) in storm.into_iter().step_by(7) {
        let c = compare("lock", &base, 4, &Change::Remove { at_us: at.as_micros(), fault });
        assert!(c.divergence.is_none_or(|d| d.at_us >= at.as_micros()));
        assert!(c.change_record.is_some());
    }
}

/// A fault put in by hand is a fault of the run like the scenario's: it can be removed, and
/// the branch without it is the plain run.
#[test]
fn a_fault_put_in_by_hand_can_be_removed() {
    let pause = Fault::Pause { node: "c0".into(), duration_us: 800_000 };
    let base = Branch {
        config: json!({ "schedule": [] }),
        injected: vec![Injected { after: 400, at_us: 0, fault: pause.clone() }],
    };
    let change = Change::Remove { at_us: 0, fault: pause };
    let other = branch::fork("lock", 1, &base, &change).unwrap();
    assert!(other.injected.is_empty());
    let c = compare("lock", &base, 1, &change);
    let quiet = run_to_end("lock", &json!({ "schedule": [] }), 1);
    assert_eq!(c.b.trace_hash, format_hash(quiet.trace().hash()));
    assert!(c.divergence.is_some(), "a 0.8 s pause of a client changes what it does");
}

#[test]
fn what_cannot_be_compared_is_refused_with_the_reason() {
    let base = config(json!({}));
    let missing = Change::Remove { at_us: 1, fault: Fault::Heal };
    let err = branch::compare("cap", 18, &base, &missing, None, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BranchError::NoSuchFault { .. }));
    assert_eq!(
        err.to_string(),
        "the run has no heal at t = 1 µs to remove: its faults are partition at 2000000 µs, heal at 6000000 µs"
    );
    let ghost =
        branch::add_at("lock", 1, &base, At::Time(SimTime::from_millis(1_000)), Fault::Crash { node: "store".into() });
    let err = branch::compare("lock", 1, &base, &ghost.unwrap(), None, &mut |_| {}).unwrap_err();
    assert!(err.to_string().starts_with("unknown node \"store\""), "{err}");
    let bad = branch::compare(
        "lock",
        1,
        &config(json!({ "clients": 0 })),
        &Change::Add(Injected { after: 0, at_us: 0, fault: Fault::Heal }),
        None,
        &mut |_| {},
    );
    assert!(matches!(bad, Err(BranchError::Scenario(_))));
}
