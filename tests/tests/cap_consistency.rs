//! The replicated store's consistency levels under partitions (46.1): strong is linearizable and
//! gives up availability on the minority side; eventual answers everywhere and converges; causal
//! keeps causality and sessions; bare quorums (`R + W > N` without write-back) are not
//! linearizable, and the checker proves it with a pinned counterexample.

use distlab_engine::check::Verdict;
use distlab_engine::check::linearizability::{self, KvOp, Outcome};
use distlab_engine::scenario::cap;
use distlab_tests::{for_seeds, run_to_end};
use expect_test::expect;
use serde_json::json;

fn verdict(run: &dyn distlab_engine::scenario::ScenarioRun, property: &str) -> Verdict {
    run.verdicts().into_iter().find(|v| v.property == property).unwrap_or_else(|| panic!("no {property} verdict"))
}

fn number(run: &dyn distlab_engine::scenario::ScenarioRun, key: &str) -> f64 {
    run.summary()[key].as_f64().unwrap_or_else(|| panic!("no {key} in {:?}", run.summary()))
}

#[test]
fn strong_is_linearizable_over_300_seeds_of_partitions_loss_duplication_and_crashes() {
    let config = json!({ "keys": 1, "clients": 5, "op_interval_ms": 20, "partition": "storm", "crashes": true,
        "loss_percent": 3, "duplicate_percent": 3 });
    for_seeds("cap", &config, 0..300, |seed| {
        let run = run_to_end("cap", &config, seed);
        let v = verdict(run.as_ref(), "linearizability");
        if !(v.holds && v.promised) {
            return Err(v.detail);
        }
        if number(run.as_ref(), "answered") < 100.0 {
            return Err(format!("too few operations answered to mean anything: {:?}", run.summary()));
        }
        Ok(())
    });
}

#[test]
fn strong_gives_up_the_minority_side_and_keeps_the_majority() {
    for seed in 0..20 {
        let run = run_to_end("cap", &json!({}), seed);
        assert_eq!(number(run.as_ref(), "availability_minority"), 0.0, "seed {seed}: no quorum on one replica");
        assert_eq!(number(run.as_ref(), "availability_majority"), 1.0, "seed {seed}: two of three are a quorum");
        assert!(verdict(run.as_ref(), "linearizability").holds, "seed {seed}");
    }
}

#[test]
fn eventual_answers_everywhere_serves_stale_reads_and_converges() {
    let config = json!({ "consistency": "eventual" });
    let stale = std::cell::Cell::new(0.0);
    for_seeds("cap", &config, 0..200, |seed| {
        let run = run_to_end("cap", &config, seed);
        for property in ["availability", "convergence"] {
            let v = verdict(run.as_ref(), property);
            if !(v.holds && v.promised) {
                return Err(format!("{property}: {}", v.detail));
            }
        }
        stale.set(stale.get() + number(run.as_ref(), "stale_reads"));
        Ok(())
    });
    assert!(stale.get() > 0.0, "the minority side reads what the majority has overwritten");
    let summary = run_to_end("cap", &config, 1).summary();
    assert_eq!(
        (summary["availability_majority"].as_f64(), summary["availability_minority"].as_f64()),
        (Some(1.0), Some(1.0))
    );
}

#[test]
fn eventual_keeps_siblings_or_loses_writes_with_lww() {
    let busy = json!({ "consistency": "eventual", "keys": 1, "clients": 6, "op_interval_ms": 20 });
    let siblings: f64 = (0..10).map(|s| number(run_to_end("cap", &busy, s).as_ref(), "siblings_max")).sum();
    assert!(siblings > 10.0, "concurrent writes on both sides become siblings");
    let mut lww = busy.clone();
    lww["lww"] = json!(true);
    let lost: f64 = (0..10).map(|s| number(run_to_end("cap", &lww, s).as_ref(), "lost_writes")).sum();
    assert!(lost > 0.0, "last-writer-wins drops one of two concurrent writes");
    assert!((0..10).all(|s| number(run_to_end("cap", &lww, s).as_ref(), "siblings_max") <= 1.0));
}

#[test]
fn causal_keeps_causality_and_sessions_over_200_seeds() {
    let config = json!({ "consistency": "causal", "partition": "storm", "loss_percent": 3, "duplicate_percent": 3 });
    for_seeds("cap", &config, 0..200, |seed| {
        let run = run_to_end("cap", &config, seed);
        for property in ["causal_consistency", "convergence"] {
            let v = verdict(run.as_ref(), property);
            if !(v.holds && v.promised) {
                return Err(format!("{property}: {}", v.detail));
            }
        }
        // Read-your-writes, directly: a client's read after its own write of a key never
        // returns what was there before that write.
        let history = cap::history(run.as_ref());
        for (i, r) in history.iter().enumerate() {
            let KvOp::Get { output } = &r.op else { continue };
            let mine = history[..i].iter().rev().find(|w| {
                w.client == r.client && w.key == r.key && matches!(w.op, KvOp::Put { .. }) && w.ret.is_some()
            });
            if let (Some(w), None) = (mine, output) {
                return Err(format!("client {} read nothing after writing {:?}", r.client, w.op));
            }
        }
        Ok(())
    });
}

#[test]
fn bare_quorums_are_not_linearizable_golden_counterexample() {
    let config = json!({ "consistency": "quorum", "keys": 1, "clients": 5, "op_interval_ms": 20 });
    let v = verdict(run_to_end("cap", &config, 18).as_ref(), "linearizability");
    assert!(!v.holds && !v.promised);
    expect!["key a: these 5 operations cannot be put in any order that respects their real-time order and gives every read the latest write: c3 put(a, n6.33) [1.607 572 s – 1.634 080 s]; c4 put(a, n7.28) [1.609 128 s – 1.665 736 s]; c2 get(a) → n7.28 [1.610 261 s – 1.639 100 s]; c0 get(a) → n6.33 [1.641 003 s – 1.658 128 s]; c3 get(a) → n7.28 [1.655 746 s – 1.680 677 s]"]
        .assert_eq(&v.detail);
    assert_eq!(v.marks.len(), 5, "each operation is marked on its client's lane");
    // With the read's write-back (strong), the same seed is linearizable.
    let mut strong = config.clone();
    strong["consistency"] = json!("strong");
    assert!(verdict(run_to_end("cap", &strong, 18).as_ref(), "linearizability").holds);
}

#[test]
fn bad_quorums_are_refused_with_the_allowed_range() {
    let err = |c| distlab_engine::scenario::build("cap", &c, 1).err().unwrap().to_string();
    assert_eq!(
        err(json!({ "read_quorum": 4 })),
        "read_quorum = 4 is out of range: allowed 1..=3 (the number of replicas)"
    );
    assert_eq!(
        err(json!({ "replicas": 5, "write_quorum": 0 })),
        "write_quorum = 0 is out of range: allowed 1..=5 (the number of replicas)"
    );
    assert_eq!(
        err(json!({ "consistency": "linear" })).split(" at ").next().unwrap(),
        "consistency = \"linear\" is not allowed: expected one of strong, quorum, eventual, causal"
    );
}

#[test]
fn a_10000_operation_history_is_checked() {
    let config = json!({ "clients": 20, "keys": 4, "op_interval_ms": 10, "latency_max_ms": 4, "partition": "none", "duration_ms": 16000, "quiet_ms": 0 });
    let run = run_to_end("cap", &config, 7);
    let history = cap::history(run.as_ref());
    assert!(history.len() >= 10_000, "{} operations", history.len());
    assert!(matches!(linearizability::check(&history), Ok(Outcome::Linearizable { .. })));
}

#[test]
fn strong_promises_linearizability_only_when_quorums_meet() {
    let config = json!({ "read_quorum": 1, "write_quorum": 1, "keys": 1, "clients": 5, "op_interval_ms": 20 });
    let broken = (0..5).filter(|&seed| {
        let v = verdict(run_to_end("cap", &config, seed).as_ref(), "linearizability");
        assert!(!v.promised, "R + W = 2 <= N = 3: ABD cannot promise it");
        !v.holds
    });
    assert!(broken.count() > 0, "and it does break");
}

#[test]
fn a_history_too_large_to_check_is_refused_up_front() {
    let err = distlab_engine::scenario::build(
        "cap",
        &json!({ "clients": 20, "op_interval_ms": 1, "duration_ms": 600000 }),
        1,
    )
    .err()
    .unwrap()
    .to_string();
    assert_eq!(
        err,
        "duration_ms = 600000 is out of range: allowed at most 200000 × op_interval_ms / clients (12000000 operations asked for)"
    );
}

#[test]
fn compare_and_set_over_quorums_loses_updates() {
    // Read, compare, write is not atomic over quorums: two clients swap from the same value and
    // both succeed. The verdict is shown, never promised, whatever the level.
    let config = json!({ "keys": 1, "clients": 5, "op_interval_ms": 20, "cas_percent": 50 });
    let mut broken = 0;
    for seed in 0..10 {
        let v = verdict(run_to_end("cap", &config, seed).as_ref(), "linearizability");
        assert!(!v.promised, "seed {seed}");
        broken += usize::from(!v.holds);
    }
    assert!(broken >= 8, "lost updates in most seeds: {broken}/10");
    let v = verdict(run_to_end("cap", &config, 13).as_ref(), "linearizability");
    expect!["key a: these 3 operations cannot be put in any order that respects their real-time order and gives every read the latest write: c1 put(a, n4.34) [2.193 159 s – 2.224 328 s]; c1 cas(a, n4.34 → n4.36) → swapped [2.278 445 s – 2.312 612 s]; c4 cas(a, n4.34 → n7.41) → swapped [2.285 103 s – 2.320 728 s]"]
        .assert_eq(&v.detail);
}
