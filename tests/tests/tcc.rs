//! TCC (46.7.3): atomicity and conservation through message loss, repetition and reordering and a
//! crash of any actor at any event; the empty-rollback and suspension protections at work.

use distlab_engine::scenario::{self, ScenarioRun};
use distlab_engine::sim::{Fault, Rng, SimDuration};
use distlab_tests::{for_seeds, run_to_end};
use serde_json::json;

fn holds(run: &dyn ScenarioRun, property: &str) -> Result<(), String> {
    let v = run.verdicts().into_iter().find(|v| v.property == property).ok_or("no verdict")?;
    if v.holds { Ok(()) } else { Err(v.detail) }
}

#[test]
fn without_faults_orders_are_confirmed_until_the_stock_runs_out() {
    let run = run_to_end("tcc", &json!({}), 1);
    let s = run.summary();
    assert_eq!((s["confirmed"].as_u64(), s["cancelled"].as_u64(), s["frozen"].as_i64()), (Some(15), Some(5), Some(0)));
    holds(run.as_ref(), "atomicity").unwrap();
    holds(run.as_ref(), "conservation").unwrap();
}

#[test]
fn a_chaotic_network_and_a_crash_at_any_event_break_nothing() {
    let config = json!({ "loss_percent": 5, "duplicate_percent": 10, "reorder_percent": 10 });
    let events = run_to_end("tcc", &config, 1).events_processed();
    let nodes = ["coordinator", "inventory", "payment", "shipping"];
    for_seeds("tcc", &config, 1..=1000, |seed| {
        let mut rng = Rng::new(seed ^ 0x7cc);
        let mut run = scenario::build("tcc", &config, seed).map_err(|e| e.to_string())?;
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
        let end = run.default_until().max(back.saturating_add(SimDuration::from_secs(15)));
        run.run_until(end).map_err(|e| e.to_string())?;
        holds(run.as_ref(), "atomicity").map_err(|e| format!("{node} crashed: {e}"))?;
        holds(run.as_ref(), "conservation").map_err(|e| format!("{node} crashed: {e}"))
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
