//! The saga with everything in the store (46.7.3): the actors `distlab saga` runs on Redis,
//! crashed at any event in the simulator, judged from the store alone.

use distlab_engine::scenario;
use distlab_engine::sim::{Fault, SimDuration, SimTime};
use distlab_tests::{crash_at_random_event, for_seeds, holds, observed, run_to_end};
use serde_json::json;

const PROPERTIES: [&str; 4] = ["atomicity", "conservation", "nothing_dropped", "delivered"];

#[test]
fn without_faults_the_last_orders_are_compensated_in_reverse() {
    let run = run_to_end("saga-store", &json!({}), 1);
    let s = run.summary();
    // Stock for 30 and slots for 25: orders 26 to 40 fail at shipping, each compensated at
    // payment and inventory (the compensations give the stock back for the next ones).
    assert_eq!(
        (s["completed"].as_u64(), s["rolled_back"].as_u64(), s["compensations"].as_u64()),
        (Some(25), Some(15), Some(30))
    );
    assert_eq!(s["outbox_events"], s["consumed"], "every event counted once");
    let undo_order: Vec<(u64, String)> = observed(run.as_ref(), "stepped")
        .into_iter()
        .filter(|(_, obs)| obs["undo"] == true && obs["tx"] == 26)
        .map(|(_, obs)| (obs["tx"].as_u64().unwrap(), obs["service"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(undo_order, [(26, "payment".to_owned()), (26, "inventory".to_owned())]);
    for p in PROPERTIES {
        holds(run.as_ref(), p).unwrap();
    }
}

#[test]
fn a_crash_of_the_orchestrator_relay_or_consumer_at_any_event_loses_nothing() {
    let config = json!({});
    let mut probe = scenario::build("saga-store", &config, 1).unwrap();
    probe.run_until(SimTime::from_millis(1_000)).unwrap();
    assert_eq!(probe.summary()["unfinished"].as_u64(), Some(0), "the sagas are over by 1 s");
    let events = probe.events_processed();
    let nodes = ["orchestrator", "relay", "consumer"];
    // 300 seeds in CI, `DISTLAB_SAGA_STORE_SEEDS=1000` (or more) for the long sweep.
    for_seeds("saga-store", &config, 1..=distlab_tests::seed_count("DISTLAB_SAGA_STORE_SEEDS", 300), |seed| {
        let settle = SimDuration::from_secs(3);
        let (run, node) = crash_at_random_event("saga-store", &config, seed, 0x5a9a, events, &nodes, 2_000, settle)?;
        for p in PROPERTIES {
            holds(run.as_ref(), p).map_err(|e| format!("{node} crashed: {p}: {e}"))?;
        }
        Ok(())
    });
}

#[test]
fn a_restarted_orchestrator_resumes_the_sagas_in_flight() {
    let mut run = scenario::build("saga-store", &json!({}), 1).unwrap();
    run.run_until(SimTime::from_millis(150)).unwrap();
    run.inject(Fault::Crash { node: "orchestrator".into() }).unwrap();
    run.run_until(SimTime::from_millis(400)).unwrap();
    let during = run.summary();
    assert!(during["unfinished"].as_u64().unwrap() > 0, "orders wait while it is down: {during:?}");
    run.inject(Fault::Restart { node: "orchestrator".into() }).unwrap();
    run.run_until(run.default_until()).unwrap();
    let s = run.summary();
    assert_eq!(s["resumed_sagas"].as_u64(), Some(4), "the four sagas in flight, read back from the log");
    for p in PROPERTIES {
        holds(run.as_ref(), p).unwrap();
    }
}

#[test]
fn bad_configurations_are_refused() {
    let err =
        |c: serde_json::Value| scenario::build("saga-store", &c, 1).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err(json!({ "concurrency": 0 })).contains("concurrency"));
    assert!(err(json!({ "shipping_slots": -1 })).contains("shipping_slots"));
}
