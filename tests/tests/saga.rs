//! Orchestrated sagas (46.7.3): compensations in reverse order, retries, manual intervention for
//! compensations that keep failing, and atomicity through a crash of any actor at any event.

use distlab_engine::scenario::ScenarioRun;
use distlab_engine::sim::SimDuration;
use distlab_tests::{compensations, crash_at_random_event, for_seeds, holds, run_to_end};
use serde_json::json;

fn count(run: &dyn ScenarioRun, key: &str) -> u64 {
    run.summary()[key].as_u64().unwrap_or_else(|| panic!("no {key}"))
}

#[test]
fn a_failure_at_step_three_compensates_step_two_then_step_one() {
    // Ten shipping slots for twenty orders: orders 11 to 20 reserve stock and pay, then find no
    // slot; each is compensated at payment (node 2), then at inventory (node 1).
    let run = run_to_end("saga", &json!({ "shipping_slots": 10 }), 1);
    assert_eq!((count(run.as_ref(), "completed"), count(run.as_ref(), "rolled_back")), (10, 10));
    let order = compensations(run.as_ref());
    let expected: Vec<(u64, u64)> = (11..=20).flat_map(|tx| [(tx, 2), (tx, 1)]).collect();
    assert_eq!(order, expected);
    for p in ["atomicity", "conservation", "nothing_dropped"] {
        holds(run.as_ref(), p).unwrap();
    }
}

#[test]
fn a_failure_injected_at_a_step_compensates_only_the_steps_before_it() {
    let compensated = |step: u32| {
        let run = run_to_end("saga", &json!({ "orders": 3, "fail_order": 2, "fail_step": step }), 1);
        assert_eq!((count(run.as_ref(), "completed"), count(run.as_ref(), "rolled_back")), (2, 1));
        holds(run.as_ref(), "atomicity").unwrap();
        compensations(run.as_ref())
    };
    assert_eq!(compensated(1), []);
    assert_eq!(compensated(2), [(2, 1)]);
    assert_eq!(compensated(3), [(2, 2), (2, 1)]);
}

#[test]
fn a_compensation_that_keeps_failing_is_reported_for_a_person() {
    let run = run_to_end("saga", &json!({ "shipping_slots": 10, "payment_undo_failures": u32::MAX }), 1);
    // Orders 11–15 stop at the payment's compensation; their stock stays reserved, so orders
    // 16–20 find none and roll back at the first step.
    assert_eq!((count(run.as_ref(), "manual_interventions"), count(run.as_ref(), "completed")), (5, 10));
    assert_eq!(count(run.as_ref(), "failed_compensations"), 25, "5 attempts each");
    for p in ["atomicity", "conservation", "nothing_dropped"] {
        holds(run.as_ref(), p).unwrap();
    }
    // Failing twice, then working: retried with backoff, nobody needed.
    let run = run_to_end("saga", &json!({ "shipping_slots": 10, "payment_undo_failures": 2 }), 1);
    assert_eq!((count(run.as_ref(), "manual_interventions"), count(run.as_ref(), "failed_compensations")), (0, 2));
    assert_eq!(count(run.as_ref(), "rolled_back"), 10);
}

#[test]
fn a_chaotic_network_and_a_crash_at_any_event_break_nothing() {
    // Ten attempts per step: with 5% loss each way, running out would take ten losses in a row.
    let config = json!({ "shipping_slots": 12, "attempts": 10, "loss_percent": 5, "duplicate_percent": 10, "reorder_percent": 10 });
    let events = run_to_end("saga", &config, 1).events_processed();
    let nodes = ["orchestrator", "inventory", "payment", "shipping"];
    for_seeds("saga", &config, 1..=1000, |seed| {
        let settle = SimDuration::from_secs(60);
        let (run, node) = crash_at_random_event("saga", &config, seed, 0x5a6a, events, &nodes, 3_000, settle)?;
        holds(run.as_ref(), "atomicity").map_err(|e| format!("{node} crashed: atomicity: {e}"))?;
        holds(run.as_ref(), "conservation").map_err(|e| format!("{node} crashed: conservation: {e}"))?;
        holds(run.as_ref(), "nothing_dropped").map_err(|e| format!("{node} crashed: nothing_dropped: {e}"))?;
        if count(run.as_ref(), "manual_interventions") > 0 {
            return Err("a compensation that only needed retries was handed to a person".into());
        }
        Ok(())
    });
}
