//! TCC (46.7.3): atomicity and conservation through message loss, repetition and reordering and a
//! crash of any actor at any event; the empty-rollback and suspension protections at work.

use distlab_engine::sim::SimDuration;
use distlab_tests::{crash_at_random_event, for_seeds, holds, observed, run_to_end};
use serde_json::json;

#[test]
fn without_faults_orders_are_confirmed_until_the_stock_runs_out() {
    let run = run_to_end("tcc", &json!({}), 1);
    let s = run.summary();
    assert_eq!((s["confirmed"].as_u64(), s["cancelled"].as_u64(), s["frozen"].as_i64()), (Some(15), Some(5), Some(0)));
    holds(run.as_ref(), "atomicity").unwrap();
    holds(run.as_ref(), "conservation").unwrap();
}

#[test]
fn a_try_refused_at_one_step_releases_what_the_others_froze() {
    let run = run_to_end("tcc", &json!({ "orders": 3, "fail_order": 2, "fail_step": 1 }), 1);
    let s = run.summary();
    assert_eq!((s["confirmed"].as_u64(), s["cancelled"].as_u64(), s["frozen"].as_i64()), (Some(2), Some(1), Some(0)));
    // Payment (node 2) and shipping (node 3) froze order 2 and release it; the inventory refused
    // it, so its cancel finds nothing frozen there.
    let released: Vec<u64> = observed(run.as_ref(), "cancelled")
        .into_iter()
        .filter(|(_, obs)| obs["tx"] == 2)
        .map(|(node, _)| node)
        .collect();
    let mut released_sorted = released.clone();
    released_sorted.sort_unstable();
    assert_eq!(released_sorted, [1, 2, 3], "the refused try's cancel is recorded too: {released:?}");
    holds(run.as_ref(), "atomicity").unwrap();
    holds(run.as_ref(), "conservation").unwrap();
}

#[test]
fn a_chaotic_network_and_a_crash_at_any_event_break_nothing() {
    let config = json!({ "loss_percent": 5, "duplicate_percent": 10, "reorder_percent": 10 });
    let events = run_to_end("tcc", &config, 1).events_processed();
    let nodes = ["coordinator", "inventory", "payment", "shipping"];
    for_seeds("tcc", &config, 1..=1000, |seed| {
        let settle = SimDuration::from_secs(15);
        let (run, node) = crash_at_random_event("tcc", &config, seed, 0x7cc, events, &nodes, 3_000, settle)?;
        holds(run.as_ref(), "atomicity").map_err(|e| format!("{node} crashed: atomicity: {e}"))?;
        holds(run.as_ref(), "conservation").map_err(|e| format!("{node} crashed: conservation: {e}"))?;
        Ok(())
    });
}

#[test]
fn a_cancel_that_overtakes_its_try_is_an_empty_rollback_and_the_try_is_suspended() {
    // Seed 3: a try delayed past the 500 ms timeout; the coordinator cancels, the cancel arrives
    // first (nothing to release: recorded), and the late try is refused instead of freezing stock.
    let config = json!({ "reorder_percent": 20 });
    let s = run_to_end("tcc", &config, 3).summary();
    assert_eq!((s["empty_rollbacks"].as_u64(), s["suspended_tries"].as_u64()), (Some(2), Some(4)), "{s:?}");
    assert_eq!((s["confirmed"].as_u64(), s["cancelled"].as_u64(), s["frozen"].as_i64()), (Some(15), Some(5), Some(0)));
}
