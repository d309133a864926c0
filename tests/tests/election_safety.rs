//! Leader election (46.1.2): never two leaders in one term over hundreds of seeds of crashes, partitions
//! and pauses; a new leader within the bound after every leader crash when a majority stays
//! connected; and the chapter's "grant every vote" caught red-handed.

use distlab_engine::check::Verdict;
use distlab_tests::{for_seeds, run_to_end};
use serde_json::json;

fn verdict(config: &serde_json::Value, seed: u64, property: &str) -> Verdict {
    let run = run_to_end("election", config, seed);
    run.verdicts().into_iter().find(|v| v.property == property).expect("judged")
}

/// Seeds of each sweep: 250 in CI, `DISTLAB_ELECTION_SEEDS=1000` (or more) for the long sweep.
fn seeds() -> std::ops::Range<u64> {
    0..distlab_tests::seed_count("DISTLAB_ELECTION_SEEDS", 250)
}

#[test]
fn never_two_leaders_in_a_term_over_many_seeds() {
    let config = json!({});
    for_seeds("election", &config, seeds(), |seed| {
        let v = verdict(&config, seed, "one_leader_per_term");
        if v.holds { Ok(()) } else { Err(v.detail) }
    });
}

#[test]
fn a_new_leader_within_2_s_of_every_leader_crash_when_a_majority_is_connected() {
    let config = json!({ "partitions": false, "pauses": false });
    let crashes = std::cell::Cell::new(0u64);
    for_seeds("election", &config, seeds(), |seed| {
        let run = run_to_end("election", &config, seed);
        crashes.set(crashes.get() + run.summary()["leader_crashes"].as_u64().unwrap());
        let v = run.verdicts().into_iter().find(|v| v.property == "failover").unwrap();
        assert!(v.promised);
        if v.holds { Ok(()) } else { Err(v.detail) }
    });
    assert!(crashes.get() > seeds().end, "leaders really crashed: {}", crashes.get());
}

#[test]
fn granting_every_vote_elects_several_leaders_in_one_term() {
    // The chapter's LeaderElection grants every vote, with a fixed timeout.
    let chapter = json!({ "votes": "chapter", "timeout_min_ms": 300, "timeout_max_ms": 300 });
    for seed in 0..20 {
        let v = verdict(&chapter, seed, "one_leader_per_term");
        assert!(!v.holds, "seed {seed}: {}", v.detail);
    }
    assert_eq!(verdict(&chapter, 0, "one_leader_per_term").detail, "term 1 had 5 leaders: n0, n1, n2, n3, n4");
    let fixed_timeout_only = json!({ "timeout_min_ms": 300, "timeout_max_ms": 300 });
    assert!(verdict(&fixed_timeout_only, 0, "one_leader_per_term").holds, "one vote per term is what keeps it safe");
}

#[test]
fn bad_election_configuration_is_refused() {
    let err = |c| distlab_engine::scenario::build("election", &c, 1).err().unwrap().to_string();
    assert_eq!(err(json!({ "nodes": 10 })), "nodes = 10 is out of range: allowed 1..=9");
    assert_eq!(
        err(json!({ "timeout_min_ms": 300, "timeout_max_ms": 200 })),
        "timeout_max_ms = 200 is out of range: allowed 300..=60000"
    );
    assert_eq!(err(json!({ "heartbeat_ms": 500 })), "heartbeat_ms = 500 is out of range: allowed 1..=150");
}
