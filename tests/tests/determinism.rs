//! The same scenario and seed give the same trace, event for event; different seeds give
//! different traces; the trace hash is pinned so an accidental change to event order is caught.

use distlab_engine::scenario;
use distlab_engine::sim::{SimTime, format_hash};
use distlab_tests::run_to_end;
use expect_test::expect;
use serde_json::json;

#[test]
fn one_seed_gives_one_trace() {
    let a = run_to_end("pn-counter", &json!({}), 7);
    let b = run_to_end("pn-counter", &json!({}), 7);
    assert_eq!(a.trace().hash(), b.trace().hash());
    assert_eq!(a.trace().records(), b.trace().records());
    assert!(a.trace().len() > 1_000, "a real run: {} records", a.trace().len());
}

#[test]
fn different_seeds_give_different_traces() {
    let hashes: std::collections::BTreeSet<u64> =
        (0..20).map(|seed| run_to_end("pn-counter", &json!({}), seed).trace().hash()).collect();
    assert_eq!(hashes.len(), 20);
}

#[test]
fn stepping_and_running_give_the_same_trace() {
    let whole = run_to_end("pn-counter", &json!({}), 3);
    let mut stepped = scenario::build("pn-counter", &json!({}), 3).unwrap();
    let until = stepped.default_until();
    while let Some(t) = stepped.step().unwrap() {
        if t >= SimTime::from_millis(2_000) {
            break;
        }
    }
    stepped.run_until(until).unwrap();
    assert_eq!(stepped.trace().hash(), whole.trace().hash());
}

#[test]
fn the_trace_hash_is_pinned() {
    // If this changes, event order or the trace encoding changed: every recorded replay and
    // share link breaks. Update it only on purpose, and say so in the commit.
    let run = run_to_end("pn-counter", &json!({}), 42);
    expect!["0x3d6463f41bebee9e"].assert_eq(&format_hash(run.trace().hash()));
    let first: Vec<String> = run.trace().records().iter().take(8).map(|r| serde_json::to_string(r).unwrap()).collect();
    expect![[r#"
        {"index":0,"time":0,"kind":"start","node":0}
        {"index":1,"time":0,"kind":"observe","node":0,"obs":{"type":"value","value":0}}
        {"index":2,"time":0,"kind":"start","node":1}
        {"index":3,"time":0,"kind":"observe","node":1,"obs":{"type":"value","value":0}}
        {"index":4,"time":0,"kind":"start","node":2}
        {"index":5,"time":0,"kind":"observe","node":2,"obs":{"type":"value","value":0}}
        {"index":6,"time":0,"kind":"fault","fault":{"fault":"clock_skew","node":"r0","offset_us":11634}}
        {"index":7,"time":0,"kind":"fault","fault":{"fault":"clock_skew","node":"r1","offset_us":-87160}}"#]]
    .assert_eq(&first.join("\n"));
}

/// The largest integer a JavaScript number holds exactly.
const JS_SAFE_MAX: u64 = (1 << 53) - 1;

fn largest_integer(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(i64::unsigned_abs)).unwrap_or(0),
        serde_json::Value::Array(items) => items.iter().map(largest_integer).max().unwrap_or(0),
        serde_json::Value::Object(fields) => fields.values().map(largest_integer).max().unwrap_or(0),
        _ => 0,
    }
}

/// The page reads traces, snapshots and summaries as JavaScript numbers: an integer above 2^53
/// would break it (a timer id of u64::MAX once did). Every scenario, run for ten seconds.
#[test]
fn every_number_the_page_reads_fits_a_javascript_number() {
    let mut configs: Vec<(&str, serde_json::Value)> = scenario::catalog().iter().map(|s| (s.name, json!({}))).collect();
    configs.push((
        "cache",
        json!({ "mutex": true, "single_flight": true, "xfetch_beta": 1.0, "crash_cache_at_ms": 3000, "burst": 50 }),
    ));
    configs.push(("cache", json!({ "pattern": "write-behind", "crash_cache_at_ms": 3000 })));
    for (name, config) in configs {
        let mut run = scenario::build(name, &config, 1).unwrap();
        run.run_until(SimTime::from_millis(10_000)).unwrap();
        for record in run.trace().records() {
            let v = serde_json::to_value(record).unwrap();
            assert!(largest_integer(&v) <= JS_SAFE_MAX, "{name}: {v}");
        }
        let snapshot = serde_json::to_value(run.snapshot()).unwrap();
        assert!(largest_integer(&snapshot) <= JS_SAFE_MAX, "{name}: snapshot {snapshot}");
        let summary = serde_json::Value::Object(run.summary());
        assert!(largest_integer(&summary) <= JS_SAFE_MAX, "{name}: summary {summary}");
    }
}
