//! The transactional outbox (46.7.3): exactly the committed orders are applied, at least once
//! delivered and deduplicated, through loss, duplication and crashes; the dual write it replaces
//! loses messages.

use distlab_engine::scenario::{self, ScenarioRun};
use distlab_engine::sim::{Fault, SimDuration, SimTime};
use distlab_tests::{crash_at_random_event, for_seeds, run_to_end};
use serde_json::json;

fn verdict(run: &dyn ScenarioRun) -> distlab_engine::check::Verdict {
    run.verdicts().into_iter().find(|v| v.property == "delivered").expect("a verdict")
}

#[test]
fn exactly_the_committed_orders_are_applied_through_loss_duplication_and_crashes() {
    let config = json!({ "loss_percent": 10, "duplicate_percent": 10 });
    let events = run_to_end("outbox", &config, 1).events_processed();
    for_seeds("outbox", &config, 1..=1000, |seed| {
        let settle = SimDuration::from_secs(10);
        let (run, node) =
            crash_at_random_event("outbox", &config, seed, 0x0b0, events, &["orders", "shipping"], 2_000, settle)?;
        let v = verdict(run.as_ref());
        if v.holds && v.promised { Ok(()) } else { Err(format!("{node} crashed: {}", v.detail)) }
    });
}

#[test]
fn duplicates_are_delivered_and_applied_once() {
    let run = run_to_end("outbox", &json!({ "duplicate_percent": 30 }), 1);
    let s = run.summary();
    // 30 orders, one in five rejected: 24 committed and applied; the repeats only acknowledged.
    assert_eq!(
        (s["committed"].as_u64(), s["rolled_back"].as_u64(), s["applied"].as_u64()),
        (Some(24), Some(6), Some(24))
    );
    assert!(s["duplicates"].as_u64() > Some(0), "{s:?}");
    assert!(verdict(run.as_ref()).holds);
}

#[test]
fn a_dual_write_loses_the_message_of_a_crash_between_commit_and_send() {
    // The order service crashes 2 ms after committing order 3 (t = 300 ms): with the outbox its
    // message waits in the outbox and is sent after the restart; with the dual write the send
    // was still to come, 5 ms after the commit, from a service that no longer exists.
    let crash = |dual: bool| {
        let mut run = scenario::build("outbox", &json!({ "dual_write": dual, "loss_percent": 0 }), 1).unwrap();
        run.run_until(SimTime::from_micros(302_000)).unwrap();
        run.inject(Fault::Crash { node: "orders".into() }).unwrap();
        run.run_until(SimTime::from_millis(1_000)).unwrap();
        run.inject(Fault::Restart { node: "orders".into() }).unwrap();
        run.run_until(run.default_until()).unwrap();
        verdict(run.as_ref())
    };
    let outbox = crash(false);
    assert!(outbox.holds && outbox.promised, "{outbox:?}");
    let dual = crash(true);
    assert!(!dual.holds && !dual.promised, "{dual:?}");
    assert_eq!(dual.detail, "committed orders whose message never arrived: [3]");
}
