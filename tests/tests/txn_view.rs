//! The transactions view's data (txn/view.rs): each order's state at each actor over time, from
//! the observations, as the page's grid and swimlanes draw it.

use distlab_engine::scenario;
use serde_json::{Value, json};

fn steps(name: &str, config: Value, seed: u64) -> Vec<Value> {
    let mut run = scenario::build(name, &config, seed).unwrap();
    let until = run.default_until();
    run.run_until(until).unwrap();
    run.view()["steps"].as_array().cloned().unwrap_or_default()
}

/// The states `node` went through for `order`, in order.
fn path(steps: &[Value], order: u64, node: &str) -> Vec<String> {
    steps
        .iter()
        .filter(|s| s["order"] == order && s["node"] == node)
        .map(|s| s["state"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_two_phase_order_runs_prepares_and_commits_everywhere() {
    let s = steps("2pc", json!({ "orders": 3 }), 1);
    assert_eq!(path(&s, 1, "coordinator"), ["running", "committed"]);
    for service in ["inventory", "payment", "shipping"] {
        assert_eq!(path(&s, 1, service), ["executed", "prepared", "committed"], "{service}");
    }
    let times: Vec<u64> = s.iter().map(|x| x["time_us"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in observation order");
}

#[test]
fn a_saga_whose_third_step_fails_compensates_the_first_two() {
    let s = steps("saga", json!({ "orders": 3, "fail_order": 2, "fail_step": 3 }), 1);
    assert_eq!(path(&s, 2, "orchestrator"), ["running", "rolled_back"]);
    assert_eq!(path(&s, 2, "inventory"), ["done", "compensated"]);
    assert_eq!(path(&s, 2, "payment"), ["done", "compensated"]);
    assert_eq!(path(&s, 2, "shipping"), ["failed"]);
    assert_eq!(path(&s, 1, "shipping"), ["done"]);
}

#[test]
fn the_outbox_commits_then_applies_and_a_rejected_order_is_rolled_back() {
    let s = steps("outbox", json!({ "orders": 5 }), 1);
    assert_eq!(path(&s, 1, "orders"), ["committed"]);
    assert_eq!(path(&s, 1, "shipping"), ["applied"]);
    assert_eq!(path(&s, 5, "orders"), ["rolled_back"], "one order in five fails validation");
    assert!(path(&s, 5, "shipping").is_empty(), "and is never announced");
}
