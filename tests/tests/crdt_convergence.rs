//! The PN-Counter converges to the exact total after heal, over hundreds of seeds of random
//! partitions, crashes, pauses, loss, duplication and reordering; the chapter's merge never does.

use distlab_engine::sim::{Fault, TraceKind};
use distlab_tests::{for_seeds, run_to_end};
use serde_json::json;

fn converges(config: &serde_json::Value, seed: u64) -> Result<(), String> {
    let run = run_to_end("pn-counter", config, seed);
    let verdict = &run.verdicts()[0];
    if verdict.holds { Ok(()) } else { Err(verdict.detail.clone()) }
}

#[test]
fn converges_over_200_seeds_of_faults() {
    let config = json!({});
    for_seeds("pn-counter", &config, 0..200, |seed| converges(&config, seed));
}

#[test]
fn converges_with_five_replicas_and_heavy_loss() {
    let config = json!({ "replicas": 5, "loss_percent": 30, "duplicate_percent": 10, "reorder_percent": 20 });
    for_seeds("pn-counter", &config, 1_000..1_050, |seed| converges(&config, seed));
}

#[test]
fn the_sweep_really_exercises_faults() {
    let (mut partitions, mut crashes, mut lost) = (0, 0, 0);
    for seed in 0..20 {
        let run = run_to_end("pn-counter", &json!({}), seed);
        let summary = run.summary();
        partitions += summary["net"]["dropped_partition"].as_u64().unwrap();
        lost += summary["net"]["dropped_loss"].as_u64().unwrap();
        crashes += run
            .trace()
            .records()
            .iter()
            .filter(|r| matches!(r.kind, TraceKind::Fault { fault: Fault::Crash { .. } }))
            .count();
        assert!(summary["updates_applied"].as_u64().unwrap() > 100, "seed {seed}: {summary:?}");
    }
    assert!(partitions > 0 && crashes > 0 && lost > 0, "partitions {partitions}, crashes {crashes}, lost {lost}");
}

#[test]
fn the_chapters_merge_never_converges() {
    let config = json!({ "merge": "chapter" });
    for seed in 0..20 {
        let run = run_to_end("pn-counter", &config, seed);
        let verdict = &run.verdicts()[0];
        assert!(!verdict.holds, "seed {seed}: {verdict:?}");
        assert!(verdict.detail.starts_with("the replicas do not all hold the exact total"), "{}", verdict.detail);
    }
}

#[test]
fn bad_configuration_names_the_field_value_and_range() {
    let err = |config| distlab_engine::scenario::build("pn-counter", &config, 1).err().unwrap().to_string();
    assert_eq!(err(json!({ "replicas": 9 })), "replicas = 9 is out of range: allowed 2..=7");
    assert_eq!(
        err(json!({ "latency_min_ms": 50, "latency_max_ms": 10 })),
        "latency_min_ms = 50 is out of range: allowed 0..=10"
    );
    assert!(err(json!({ "replica": 3 })).contains("unknown field `replica`"));
    assert_eq!(err(json!({ "merge": "lww" })), "merge = \"lww\" is not allowed: expected crdt or chapter");
    let unknown = distlab_engine::scenario::build("nope", &json!({}), 1).err().unwrap().to_string();
    // Every name in the catalogue, in its order (a new scenario joins the list by itself).
    let names: Vec<&str> = distlab_engine::scenario::catalog().iter().map(|s| s.name).collect();
    assert!(names.starts_with(&["pn-counter", "cap"]) && names.len() > 10, "{names:?}");
    assert_eq!(unknown, format!(r#"unknown scenario "nope": the scenarios are {}"#, names.join(", ")));
}
