//! Two-phase commit (46.7.3): atomicity and conservation through crashes of any actor at any
//! event, and the blocking a coordinator outage costs the participants that voted yes.

use distlab_engine::scenario;
use distlab_engine::sim::{SimDuration, TraceKind};
use distlab_tests::{crash_at_random_event, for_seeds, holds, run_to_end};
use serde_json::{Value, json};

#[test]
fn without_faults_every_order_is_all_or_nothing() {
    let run = run_to_end("2pc", &json!({}), 1);
    let s = run.summary();
    // 20 orders against 15 units of stock: 15 done, then 5 refused by the inventory.
    assert_eq!((s["committed"].as_u64(), s["aborted"].as_u64(), s["in_doubt"].as_u64()), (Some(15), Some(5), Some(0)));
    holds(run.as_ref(), "atomicity").unwrap();
    holds(run.as_ref(), "conservation").unwrap();
}

#[test]
fn a_crash_of_any_actor_at_any_event_breaks_nothing_once_recovered() {
    let config = json!({});
    // The number of events of an undisturbed run bounds where a crash can fall.
    let events = run_to_end("2pc", &config, 1).events_processed();
    let nodes = ["coordinator", "inventory", "payment", "shipping"];
    for_seeds("2pc", &config, 1..=1000, |seed| {
        let settle = SimDuration::from_secs(10);
        let (run, node) = crash_at_random_event("2pc", &config, seed, 0x2bc, events, &nodes, 3_000, settle)?;
        holds(run.as_ref(), "atomicity").map_err(|e| format!("{node} crashed: atomicity: {e}"))?;
        holds(run.as_ref(), "conservation").map_err(|e| format!("{node} crashed: conservation: {e}"))?;
        Ok(())
    });
}

#[test]
fn a_coordinator_down_after_the_votes_leaves_the_participants_blocked() {
    let config =
        json!({ "orders": 1, "interval_ms": 100, "crash_coordinator_at_ms": 150, "coordinator_down_ms": 5000 });
    let mut run = scenario::build("2pc", &config, 1).unwrap();
    run.run_until(distlab_engine::sim::SimTime::from_millis(3_000)).unwrap();
    let during = run.summary();
    let in_doubt = during["in_doubt"].as_u64().unwrap();
    assert!(in_doubt >= 1, "voted yes, then lost the coordinator: {during:?}");
    let err = holds(run.as_ref(), "atomicity").unwrap_err();
    assert!(err.starts_with("orders still in doubt, their locks held: [1]"), "{err}");
    let locks: Vec<Value> = run.snapshot().nodes.iter().map(|n| n.state["lock"].clone()).collect();
    assert_eq!(
        locks.iter().filter(|l| **l == json!(1)).count() as u64,
        in_doubt,
        "each in-doubt service holds its lock"
    );
    run.run_until(run.default_until()).unwrap();
    let after = run.summary();
    // The restarted coordinator finds order 1 undecided in its log and aborts it.
    assert_eq!(
        (after["committed"].as_u64(), after["aborted"].as_u64(), after["in_doubt"].as_u64()),
        (Some(0), Some(1), Some(0))
    );
    let blocked = after["blocked_max_ms"].as_u64().unwrap();
    assert!((4_800..=5_100).contains(&blocked), "blocked for the outage: {blocked} ms");
    holds(run.as_ref(), "atomicity").unwrap();
    holds(run.as_ref(), "conservation").unwrap();
}

#[test]
fn a_coordinator_down_before_the_votes_costs_only_the_prepare_timeout() {
    // At 130 ms every service has done the work (locked its row) and none has voted: with no
    // prepare coming, each gives up on its own after prepare_timeout_ms, long before the
    // coordinator is back, and nothing was blocked in doubt.
    let config =
        json!({ "orders": 1, "interval_ms": 100, "crash_coordinator_at_ms": 130, "coordinator_down_ms": 5000 });
    let mut run = scenario::build("2pc", &config, 1).unwrap();
    run.run_until(distlab_engine::sim::SimTime::from_millis(1_200)).unwrap();
    assert_eq!(run.summary()["timed_out_before_vote"].as_u64(), Some(3));
    let locks: Vec<Value> = run.snapshot().nodes.iter().map(|n| n.state["lock"].clone()).collect();
    assert!(locks.iter().all(Value::is_null), "every lock released while the coordinator is still down: {locks:?}");
    run.run_until(run.default_until()).unwrap();
    let s = run.summary();
    assert_eq!(
        (s["committed"].as_u64(), s["aborted"].as_u64(), s["blocked_max_ms"].as_u64()),
        (Some(0), Some(1), Some(0))
    );
    holds(run.as_ref(), "atomicity").unwrap();
}

#[test]
fn an_in_doubt_lock_refuses_another_coordinators_orders() {
    let config = |crash: u64| json!({ "orders": 3, "interval_ms": 100, "coordinators": 2, "crash_coordinator_at_ms": crash, "coordinator_down_ms": 5000 });
    let calm = run_to_end("2pc", &config(0), 1);
    let s = calm.summary();
    assert_eq!((s["committed"].as_u64(), s["refused_locked"].as_u64()), (Some(6), Some(0)));
    // The first coordinator goes down with order 1 prepared everywhere: the second one's orders
    // 2, 4 and 6 all meet the held locks and are refused; 3 and 5 come after the restart.
    let blocked = run_to_end("2pc", &config(150), 1);
    let s = blocked.summary();
    assert_eq!(
        (s["committed"].as_u64(), s["aborted"].as_u64(), s["refused_locked"].as_u64()),
        (Some(2), Some(4), Some(6))
    );
    let refused: std::collections::BTreeSet<u64> = blocked
        .trace()
        .records()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Observe { obs, .. } => {
                let obs = obs.value();
                if obs["type"] == "refused" && obs["why"] == "locked" { obs["tx"].as_u64() } else { None }
            }
            _ => None,
        })
        .collect();
    assert_eq!(refused.into_iter().collect::<Vec<_>>(), [2, 4, 6]);
    holds(blocked.as_ref(), "atomicity").unwrap();
    holds(blocked.as_ref(), "conservation").unwrap();
}

#[test]
fn a_failure_injected_at_one_step_aborts_that_order_everywhere() {
    let run = run_to_end("2pc", &json!({ "orders": 3, "fail_order": 2, "fail_step": 2 }), 1);
    let s = run.summary();
    assert_eq!((s["committed"].as_u64(), s["aborted"].as_u64()), (Some(2), Some(1)));
    holds(run.as_ref(), "atomicity").unwrap();
    holds(run.as_ref(), "conservation").unwrap();
}

#[test]
fn bad_configurations_are_refused() {
    let err = |c: Value| scenario::build("2pc", &c, 1).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err(json!({ "work_min_ms": 60, "work_max_ms": 10 })).contains("work_min_ms"));
    assert_eq!(
        err(json!({ "orders": "many" })),
        "orders = \"many\" is not allowed: expected a whole number 0..=100000"
    );
    assert!(err(json!({ "fail_order": 1, "fail_step": 4 })).contains("fail_step"));
    assert!(err(json!({ "orders": 3, "fail_order": 4 })).contains("fail_order"));
    assert!(err(json!({ "coordinators": 5 })).contains("coordinators"));
}
