//! The choreographed saga (46.7.3): the same outcomes as the orchestrated one, compensations in
//! reverse along the chain, and atomicity through loss, repetition, reordering and a crash of any
//! actor at any event.

use distlab_engine::scenario::ScenarioRun;
use distlab_engine::sim::SimDuration;
use distlab_tests::{compensations, crash_at_random_event, for_seeds, holds, observed, run_to_end};
use serde_json::{Value, json};

const PROPERTIES: [&str; 3] = ["atomicity", "conservation", "nothing_dropped"];

/// How each order ended at the order service (or orchestrator): completed, or rolled back and where.
fn outcomes(run: &dyn ScenarioRun) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = [observed(run, "completed"), observed(run, "rolled_back")]
        .concat()
        .into_iter()
        .map(|(_, obs)| (obs["tx"].as_u64().unwrap(), obs["failed_step"].as_str().unwrap_or("done").to_owned()))
        .collect();
    out.sort();
    out
}

#[test]
fn a_failure_at_step_three_is_compensated_back_along_the_chain() {
    let run = run_to_end("saga-choreo", &json!({ "shipping_slots": 10 }), 1);
    let expected: Vec<(u64, u64)> = (11..=20).flat_map(|tx| [(tx, 2), (tx, 1)]).collect();
    assert_eq!(compensations(run.as_ref()), expected, "payment (node 2), then inventory (node 1)");
    for p in PROPERTIES {
        holds(run.as_ref(), p).unwrap();
    }
}

#[test]
fn choreography_and_orchestration_end_every_order_the_same_way() {
    for config in [json!({}), json!({ "shipping_slots": 10 }), json!({ "fail_order": 4, "fail_step": 2 })] {
        let choreo = outcomes(run_to_end("saga-choreo", &config, 1).as_ref());
        let orchestrated = outcomes(run_to_end("saga", &config, 1).as_ref());
        assert_eq!(choreo.len(), 20, "{config}");
        assert_eq!(choreo, orchestrated, "{config}");
    }
    let run = run_to_end("saga-choreo", &json!({ "fail_order": 4, "fail_step": 2 }), 1);
    assert_eq!(compensations(run.as_ref()), [(4, 1)], "only the inventory had done its step");
}

#[test]
fn a_chaotic_network_and_a_crash_at_any_event_break_nothing() {
    let config = json!({ "shipping_slots": 10, "loss_percent": 5, "duplicate_percent": 10, "reorder_percent": 10 });
    let events = run_to_end("saga-choreo", &config, 1).events_processed();
    let nodes = ["orders", "inventory", "payment", "shipping"];
    for_seeds("saga-choreo", &config, 1..=1000, |seed| {
        let settle = SimDuration::from_secs(10);
        let (run, node) = crash_at_random_event("saga-choreo", &config, seed, 0xc40, events, &nodes, 3_000, settle)?;
        for p in PROPERTIES {
            holds(run.as_ref(), p).map_err(|e| format!("{node} crashed: {p}: {e}"))?;
        }
        // Each rolled-back order names the step that really refused it.
        let refused: Vec<(u64, u64)> = observed(run.as_ref(), "stepped")
            .into_iter()
            .filter(|(_, obs)| obs["ok"] == false)
            .map(|(node, obs)| (obs["tx"].as_u64().unwrap(), node))
            .collect();
        for (_, obs) in observed(run.as_ref(), "rolled_back") {
            let tx = obs["tx"].as_u64().unwrap();
            let at =
                ["inventory", "payment", "shipping"].iter().position(|s| obs["failed_step"] == *s).unwrap() as u64 + 1;
            if !refused.contains(&(tx, at)) {
                return Err(format!(
                    "{node} crashed: order {tx} rolled back for a refusal at node {at} that never happened"
                ));
            }
        }
        Ok(())
    });
}

#[test]
fn bad_configurations_are_refused() {
    let err = |c: Value| {
        distlab_engine::scenario::build("saga-choreo", &c, 1).err().map(|e| e.to_string()).unwrap_or_default()
    };
    assert!(err(json!({ "fail_step": 0, "fail_order": 1 })).contains("fail_step"));
    assert!(err(json!({ "loss_percent": 80 })).contains("loss_percent"));
    assert!(err(json!({ "attempts": 3 })).contains("attempts"), "the choreography has no orchestrator to retry");
}
