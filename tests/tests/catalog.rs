//! The catalogue keeps its promises about itself: every entry builds, runs, and judges exactly
//! the properties it lists; every entry refuses an unknown knob by name and a knob out of range
//! with its field, value and range.

use std::collections::BTreeSet;

use distlab_engine::scenario::{self, ScenarioError};
use distlab_tests::run_to_end;
use serde_json::json;

/// Each scenario's configurations that select another algorithm or story: their verdicts must
/// carry the same property names as the defaults.
fn variants(name: &str) -> Vec<serde_json::Value> {
    let extra = match name {
        "pn-counter" => vec![json!({ "merge": "chapter" })],
        "cap" => vec![
            json!({ "consistency": "quorum" }),
            json!({ "consistency": "eventual" }),
            json!({ "consistency": "eventual", "lww": true }),
            json!({ "consistency": "causal" }),
        ],
        "election" => vec![json!({ "votes": "chapter" })],
        "redlock" => vec![json!({ "story": "clock-jump" })],
        "exercise-1" => vec![json!({ "step": 2 }), json!({ "step": 3 }), json!({ "step": 4 })],
        "cache" => vec![json!({ "pattern": "write-behind", "crash_cache_at_ms": 3000 })],
        "outbox" => vec![json!({ "dual_write": true })],
        "ids" => vec![json!({ "generator": "segment" }), json!({ "story": "chapter-v7" })],
        "lb" => vec![json!({ "algorithm": "smooth_wrr", "weights": [5, 1, 1, 1] }), json!({ "algorithm": "maglev" })],
        "mq" => vec![
            json!({ "topology": "partitioned", "delay_percent": 0 }),
            json!({ "mode": "chapter" }),
            json!({ "topology": "pubsub", "mode": "chapter" }),
        ],
        _ => vec![],
    };
    std::iter::once(json!({})).chain(extra).collect()
}

/// A run judges a subset of what its entry lists, each property once; over the configurations
/// that select its algorithms (the consistency levels of `cap`, say) it judges all of them.
#[test]
fn every_entry_judges_exactly_the_properties_it_lists() {
    let mut failures = Vec::new();
    for spec in scenario::catalog() {
        let listed: BTreeSet<&str> = spec.properties.iter().copied().collect();
        let mut union = BTreeSet::new();
        for config in variants(spec.name) {
            for seed in 1..=3 {
                let run = run_to_end(spec.name, &config, seed);
                let judged: Vec<String> = run.verdicts().into_iter().map(|v| v.property).collect();
                let judged_set: BTreeSet<String> = judged.iter().cloned().collect();
                if !judged_set.iter().all(|p| listed.contains(p.as_str())) || judged_set.len() != judged.len() {
                    failures.push(format!("{} {config} seed {seed}: lists {listed:?}, judged {judged:?}", spec.name));
                }
                union.extend(judged_set);
            }
        }
        if union.iter().map(String::as_str).collect::<BTreeSet<_>>() != listed {
            failures.push(format!("{}: lists {listed:?}, its variants judge {union:?}", spec.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_entry_refuses_an_unknown_knob_by_name() {
    for spec in scenario::catalog() {
        let err = scenario::build(spec.name, &json!({ "no_such_knob": 1 }), 1).map(|_| ()).unwrap_err();
        let ScenarioError::Config(e) = &err else { panic!("{}: {err:?}", spec.name) };
        let text = e.to_string();
        assert!(
            text.starts_with("invalid configuration: unknown field `no_such_knob`, expected one of `"),
            "{}: {text}",
            spec.name
        );
    }
}

#[test]
fn a_shared_knob_out_of_range_names_its_field_value_and_range() {
    for name in ["2pc", "tcc", "saga", "saga-choreo"] {
        let err = |config| scenario::build(name, &config, 1).map(|_| ()).unwrap_err().to_string();
        assert_eq!(err(json!({ "orders": 100_001 })), "orders = 100001 is out of range: allowed 0..=100000", "{name}");
        assert_eq!(err(json!({ "fail_step": 4 })), "fail_step = 4 is out of range: allowed 1..=3", "{name}");
        assert_eq!(err(json!({ "fail_order": 21 })), "fail_order = 21 is out of range: allowed 0..=20", "{name}");
    }
    for name in ["tcc", "saga", "saga-choreo"] {
        let err = scenario::build(name, &json!({ "loss_percent": 51 }), 1).map(|_| ()).unwrap_err().to_string();
        assert_eq!(err, "loss_percent = 51 is out of range: allowed 0..=50", "{name}");
    }
    // Two coordinators place twice the orders: the injected failure may be at any of them.
    assert!(scenario::build("2pc", &json!({ "coordinators": 2, "fail_order": 40 }), 1).is_ok());
    // A selector that is not a knob is checked too.
    let err = scenario::build("exercise-1", &json!({ "step": 5 }), 1).map(|_| ()).unwrap_err().to_string();
    assert_eq!(err, "step = 5 is out of range: allowed 1..=4");
    let err = scenario::build("redlock", &json!({ "story": "jump" }), 1).map(|_| ()).unwrap_err().to_string();
    assert_eq!(err, "story = jump is out of range: allowed \"clock-jump\"");
}
