//! The linearizability checker within its budget (issue 20): a search that cannot finish says
//! "unknown" (never a guess), the same budget gives the same answer every time, a violation on a
//! small key is still found next to a key too big to decide, and whatever the budget, a
//! violation's culprits really cannot be ordered. A counterexample is cheap (issue 19): without
//! shrinking it is the prefix the verdict's own search could not get past; shrunk, a few
//! operations, found within as many steps again as the verdict took.

use distlab_engine::check::linearizability::{self, Budget, Exhausted, KvOp, Operation, Outcome, Shrink};
use distlab_engine::scenario;
use distlab_tests::one_key_history;

fn within(history: &[Operation], steps: u64) -> Outcome {
    linearizability::check_within(history, Budget { steps, memory_bytes: u64::MAX }, &mut || false).unwrap()
}

#[test]
fn a_small_history_is_decided_and_a_hard_one_is_unknown_the_same_way_every_time() {
    let small = one_key_history(3, 300, 1);
    assert_eq!(within(&small, 1_000_000), Outcome::Linearizable { operations: 300, keys: 1 });
    let hard = one_key_history(20, 400, 1);
    let unknown = Outcome::Unknown { key: "x".into(), exhausted: Exhausted::Steps, decided: 0, keys: 1 };
    assert_eq!(within(&hard, 50_000), unknown);
    assert_eq!(within(&hard, 50_000), unknown, "a counted budget decides the same way every time");
}

#[test]
fn the_memory_budget_and_the_callers_stop_end_the_search_too() {
    let hard = one_key_history(20, 400, 2);
    let tight = Budget { steps: u64::MAX, memory_bytes: 64 << 10 };
    assert!(matches!(
        linearizability::check_within(&hard, tight, &mut || false),
        Ok(Outcome::Unknown { exhausted: Exhausted::Memory, .. })
    ));
    let mut polls = 0;
    let outcome = linearizability::check_within(&hard, Budget::UNLIMITED, &mut || {
        polls += 1;
        true
    });
    assert!(matches!(outcome, Ok(Outcome::Unknown { exhausted: Exhausted::Stopped, .. })), "{outcome:?}");
    assert_eq!(polls, 1, "stopped at the first poll");
}

/// `history` plus, on key `y`, a read that returns an overwritten value after both writes ended.
fn with_a_stale_read(mut history: Vec<Operation>) -> Vec<Operation> {
    let op = |client, call, ret, op| Operation { client, call, ret: Some(ret), key: "y".into(), op };
    let n = history.len();
    history.push(op(100, 0, 10, KvOp::Put { value: "1".into() }));
    history.push(op(100, 20, 30, KvOp::Put { value: "2".into() }));
    history.push(op(101, 40, 50, KvOp::Get { output: Some("1".into()) }));
    assert_eq!(history.len(), n + 3);
    history
}

#[test]
fn a_violation_on_a_small_key_is_found_before_a_big_key_spends_the_budget() {
    let history = with_a_stale_read(one_key_history(20, 400, 3));
    let n = history.len();
    assert_eq!(within(&history, 50_000), Outcome::Violation { key: "y".into(), culprits: vec![n - 3, n - 2, n - 1] });
}

#[test]
fn whatever_the_budget_a_violation_is_real_and_unknown_is_the_only_other_answer() {
    // One key, many clients, and one stale read at the end: finding the violation takes a long
    // search, shrinking it longer. Every budget gives either unknown or culprits that fail on
    // their own.
    let mut history = one_key_history(6, 120, 4);
    let end = history.iter().filter_map(|o| o.ret).max().unwrap();
    let last_write = history.iter().rposition(|o| matches!(o.op, KvOp::Put { .. })).unwrap();
    let first_write = history.iter().position(|o| matches!(o.op, KvOp::Put { .. })).unwrap();
    assert_ne!(first_write, last_write);
    let KvOp::Put { value: stale } = history[first_write].op.clone() else { unreachable!() };
    history.push(Operation {
        client: 99,
        call: end + 10,
        ret: Some(end + 20),
        key: "x".into(),
        op: KvOp::Get { output: Some(stale) },
    });
    let (mut unknown, mut violations) = (0, 0);
    for steps in [1, 10, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 1_000_000] {
        match within(&history, steps) {
            Outcome::Unknown { .. } => unknown += 1,
            Outcome::Violation { key, culprits } => {
                violations += 1;
                assert_eq!(key, "x");
                let alone: Vec<Operation> = culprits.iter().map(|&i| history[i].clone()).collect();
                assert!(
                    matches!(linearizability::check(&alone), Ok(Outcome::Violation { .. })),
                    "budget {steps}: culprits {culprits:?} can be ordered"
                );
            }
            Outcome::Linearizable { .. } => panic!("budget {steps}: the stale read was missed"),
        }
    }
    assert!(unknown > 0 && violations > 0, "{unknown} unknown, {violations} violations: the budgets should span both");
}

/// Quorums of one on the `cap` workload: reads miss writes, and the history cannot be ordered.
fn violating_cap_history(seed: u64) -> Vec<Operation> {
    let config = serde_json::json!({ "clients": 20, "keys": 4, "op_interval_ms": 10, "latency_max_ms": 4,
        "partition": "none", "duration_ms": 3000, "quiet_ms": 0, "partition_at_ms": 1000, "heal_at_ms": 2000, "consistency": "quorum",
        "read_quorum": 1, "write_quorum": 1 });
    let mut run = scenario::build("cap", &config, seed).unwrap();
    let until = run.default_until();
    run.run_until(until).unwrap();
    scenario::cap::history(run.as_ref())
}

fn culprits(history: &[Operation], shrink: Shrink, steps: u64) -> Option<Vec<usize>> {
    let budget = Budget { steps, memory_bytes: u64::MAX };
    match linearizability::check_shrinking(history, budget, shrink, &mut || false).unwrap() {
        Outcome::Violation { culprits, .. } => Some(culprits),
        Outcome::Unknown { .. } => None,
        Outcome::Linearizable { .. } => panic!("quorums of one should not be linearizable"),
    }
}

#[test]
fn a_counterexample_is_the_failing_prefix_unshrunk_and_a_few_operations_shrunk() {
    for seed in 1..=4 {
        let history = violating_cap_history(seed);
        let prefix = culprits(&history, Shrink::Off, u64::MAX).unwrap();
        let shrunk = culprits(&history, Shrink::DEFAULT, u64::MAX).unwrap();
        for (what, set) in [("prefix", &prefix), ("shrunk", &shrunk)] {
            let alone: Vec<Operation> = set.iter().map(|&i| history[i].clone()).collect();
            assert!(
                matches!(linearizability::check(&alone), Ok(Outcome::Violation { .. })),
                "seed {seed}: the {what} {set:?} can be ordered"
            );
        }
        assert!(shrunk.iter().all(|i| prefix.contains(i)), "seed {seed}: shrunk within the prefix");
        assert!(shrunk.len() <= 6 && shrunk.len() < prefix.len(), "seed {seed}: {} of {}", shrunk.len(), prefix.len());
    }
}

#[test]
fn shrinking_spends_at_most_as_many_steps_again_as_the_verdict() {
    let history = violating_cap_history(1);
    // The fewest steps that decide without shrinking: found by doubling, then bisection.
    let decides = |steps| culprits(&history, Shrink::Off, steps).is_some();
    let (mut pass, mut fail) = (1u64, 2u64);
    while !decides(fail) {
        (pass, fail) = (fail, fail * 2);
    }
    while fail - pass > 1 {
        let mid = pass + (fail - pass) / 2;
        if decides(mid) { fail = mid } else { pass = mid }
    }
    let verdict = fail;
    // With shrinking, the verdict plus at most max(verdict, SHRINK_FLOOR) steps is always enough,
    // and shrinking a history this size needs far less than the floor anyway.
    let cap = verdict.max(linearizability::SHRINK_FLOOR);
    let shrunk = culprits(&history, Shrink::DEFAULT, verdict + cap).unwrap();
    assert_eq!(Some(shrunk), culprits(&history, Shrink::DEFAULT, u64::MAX));
}
