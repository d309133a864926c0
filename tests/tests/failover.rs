//! Failover (the chapter's fifth learning goal): the standby takes over within its bound after
//! the primary is paused or crashes, over many seeds; a paused primary without fencing is a split
//! brain (its queued writes stored after its successor's), shown on one seed with exact outcomes,
//! and the storage's epoch check refuses exactly those writes on the same seed.

use distlab_engine::check::Status;
use distlab_engine::scenario::{self, ScenarioRun};
use distlab_tests::{for_seeds, promises_hold, run_to_end, verdict};
use serde_json::{Value, json};

/// Seeds per configuration in the sweep: fifty in CI, `DISTLAB_FAILOVER_SEEDS=1000` for more.
fn seeds() -> std::ops::RangeInclusive<u64> {
    1..=distlab_tests::seed_count("DISTLAB_FAILOVER_SEEDS", 50)
}

fn number(run: &dyn ScenarioRun, field: &str) -> u64 {
    run.summary()
        .get(field)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no count {field} in {:?}", run.summary()))
}

#[test]
fn with_fencing_one_primary_writes_and_the_standby_takes_over_over_many_seeds() {
    for incident in ["pause", "crash"] {
        let config = json!({ "incident": incident });
        for_seeds("failover", &config, seeds(), |seed| {
            let run = run_to_end("failover", &config, seed);
            promises_hold(run.as_ref())?;
            if run.verdicts().len() != 2 {
                return Err(format!("judged {:?}", run.verdicts().iter().map(|v| &v.property).collect::<Vec<_>>()));
            }
            let (promotions, stale) = (number(run.as_ref(), "promotions"), number(run.as_ref(), "stale_stored"));
            if (promotions, stale) != (1, 0) {
                return Err(format!("{promotions} promotions, {stale} stale writes stored"));
            }
            // Writes stop for about the lease and a timeout, not longer.
            let gap = number(run.as_ref(), "longest_gap_ms");
            if !(1_000..2_000).contains(&gap) {
                return Err(format!("writes stopped for {gap} ms"));
            }
            Ok(())
        });
    }
}

#[test]
fn a_paused_primary_without_fencing_writes_after_its_successor_and_fencing_refuses_exactly_that() {
    let split = run_to_end("failover", &json!({ "story": "split-brain" }), 1);
    let v = verdict(split.as_ref(), "single_writer");
    assert_eq!((v.status, v.promised), (Status::Violated, false));
    assert_eq!(
        v.detail,
        "node-a stored write 1000000122 under epoch 1 at t = 8.000 463 s, after epoch 2 had written: two primaries (3 such writes)"
    );
    assert_eq!(number(split.as_ref(), "stale_stored"), 3);
    // The same seed with fencing: the same three writes reach the storage and are refused.
    let fenced = run_to_end("failover", &json!({}), 1);
    let v = verdict(fenced.as_ref(), "single_writer");
    assert_eq!((v.status, v.promised), (Status::Holds, true));
    assert_eq!((number(fenced.as_ref(), "fenced"), number(fenced.as_ref(), "stale_stored")), (3, 0));
    // A crash leaves nothing to fence: the old primary never comes back.
    let crash = run_to_end("failover", &json!({ "story": "split-brain", "incident": "crash" }), 1);
    assert_eq!(verdict(crash.as_ref(), "single_writer").status, Status::Holds);
    assert_eq!(number(crash.as_ref(), "fenced"), 0);
}

#[test]
fn without_an_incident_nothing_fails_over() {
    let run = run_to_end("failover", &json!({ "incident": "none" }), 3);
    assert_eq!(run.verdicts().len(), 1, "no failover to judge");
    assert_eq!(number(run.as_ref(), "promotions"), 0);
    assert!(number(run.as_ref(), "longest_gap_ms") < 100);
}

#[test]
fn bad_configurations_are_refused_with_their_range() {
    let err = |config| scenario::build("failover", &config, 1).map(|_| ()).unwrap_err().to_string();
    assert_eq!(err(json!({ "story": "brain" })), "story = brain is out of range: allowed \"split-brain\"");
    assert_eq!(err(json!({ "lease_ms": 100 })), "lease_ms = 100 is out of range: allowed 101..=600000");
    assert_eq!(err(json!({ "writers": 0 })), "writers = 0 is out of range: allowed 1..=16");
}
