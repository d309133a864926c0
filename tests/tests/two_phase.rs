//! Two-phase commit (46.7.3): atomicity and conservation through crashes of any actor at any
//! event, and the blocking a coordinator outage costs the participants that voted yes.

use distlab_engine::scenario;
use distlab_engine::sim::{Fault, Rng, SimDuration};
use distlab_tests::{for_seeds, run_to_end};
use serde_json::{Value, json};

fn holds(run: &dyn scenario::ScenarioRun, property: &str) -> Result<(), String> {
    let v = run.verdicts().into_iter().find(|v| v.property == property).ok_or("no verdict")?;
    if v.holds { Ok(()) } else { Err(v.detail) }
}

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
        let mut rng = Rng::new(seed ^ 0x2bc);
        let mut run = scenario::build("2pc", &config, seed).map_err(|e| e.to_string())?;
        for _ in 0..rng.between(1, events) {
            if run.step().map_err(|e| e.to_string())?.is_none() {
                break;
            }
        }
        let node = nodes[usize::try_from(rng.below(4)).unwrap_or(0)].to_owned();
        run.inject(Fault::Crash { node: node.clone() }).map_err(|e| e.to_string())?;
        let back = run.now().saturating_add(SimDuration::from_millis(rng.between(10, 3_000)));
        run.run_until(back).map_err(|e| e.to_string())?;
        run.inject(Fault::Restart { node: node.clone() }).map_err(|e| e.to_string())?;
        let end = run.default_until().max(back.saturating_add(SimDuration::from_secs(10)));
        run.run_until(end).map_err(|e| e.to_string())?;
        holds(run.as_ref(), "atomicity").map_err(|e| format!("{node} crashed: {e}"))?;
        holds(run.as_ref(), "conservation").map_err(|e| format!("{node} crashed: {e}"))
    });
}

#[test]
fn a_coordinator_down_after_the_votes_leaves_the_participants_blocked() {
    let config =
        json!({ "orders": 1, "interval_ms": 100, "crash_coordinator_at_ms": 140, "coordinator_down_ms": 5000 });
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
fn bad_configurations_are_refused() {
    let err = |c: Value| scenario::build("2pc", &c, 1).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err(json!({ "work_min_ms": 60, "work_max_ms": 10 })).contains("work_min_ms"));
    assert!(err(json!({ "orders": "many" })).contains("invalid type"));
}
