//! Load balancing (46.4, exercise 4): the balancer's promises over many seeds for every fixed
//! algorithm; health transitions exactly at the thresholds, to the millisecond; and each of the
//! chapter's defects shown on one seed beside its fix, with exact outcomes.

use distlab_engine::scenario::{self, ScenarioRun};
use distlab_tests::{for_seeds, promises_hold, run_to_end, verdict};
use serde_json::{Value, json};

/// Seeds per configuration in the sweep: twelve in CI (eight configurations, 96 runs),
/// `DISTLAB_LB_SEEDS=500` (or more) for the long sweep.
fn seeds() -> std::ops::RangeInclusive<u64> {
    1..=distlab_tests::seed_count("DISTLAB_LB_SEEDS", 12)
}

/// A short world for sweeps: the crash, the checks and the comeback all within 20 s.
fn short(extra: Value) -> Value {
    let mut c = json!({
        "duration_ms": 20_000, "crash_at_ms": 3_000, "restart_at_ms": 12_000,
        "interval_ms": 2_000, "timeout_ms": 1_000, "jitter_ms": 200, "slow_start_ms": 3_000,
    });
    c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    c
}

fn summary(run: &dyn ScenarioRun, field: &str) -> Value {
    run.summary().get(field).cloned().unwrap_or_else(|| panic!("no {field} in {:?}", run.summary()))
}

fn number(run: &dyn ScenarioRun, field: &str) -> u64 {
    summary(run, field).as_u64().unwrap_or_else(|| panic!("{field} is not a count"))
}

#[test]
fn every_promise_holds_for_every_fixed_algorithm_over_many_seeds() {
    let configs = [
        short(json!({})),
        short(json!({ "algorithm": "smooth_wrr", "weights": [5, 1, 1, 2] })),
        short(json!({ "algorithm": "ip_hash", "passive": "envoy" })),
        short(json!({ "algorithm": "maglev", "weights": [2, 1, 1, 1] })),
        short(json!({ "algorithm": "bounded_load", "balancers": 2 })),
        short(json!({ "algorithm": "p2c_ewma", "balancers": 3, "slow": "c", "slow_at_ms": 1_000, "rate": 300 })),
        short(json!({ "algorithm": "least_conn", "weights": [1, 2, 3, 4], "passive": "off" })),
        short(json!({ "algorithm": "least_outstanding", "health": "chapter", "fail_percent": 5 })),
    ];
    for config in configs {
        for_seeds("lb", &config, seeds(), |seed| {
            let run = run_to_end("lb", &config, seed);
            promises_hold(run.as_ref())?;
            // The crash is real on every seed: the requests it caught in flight, at least, fail.
            if number(run.as_ref(), "failed") == 0 {
                return Err("no request failed: the crash did nothing".into());
            }
            Ok(())
        });
    }
}

/// The health timeline of one balancer and backend: (time µs, ok) of each probe result, and
/// (time µs, "down"/"up", cause) of each transition.
type Probes = Vec<(u64, bool)>;
type Changes = Vec<(u64, String, String)>;

fn health_of(run: &dyn ScenarioRun, backend: &str) -> (Probes, Changes) {
    let view = run.view();
    let probes = view["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["balancer"] == "lb-1" && p["backend"] == backend)
        .map(|p| (p["at_us"].as_u64().unwrap(), p["ok"].as_bool().unwrap()))
        .collect();
    let changes = view["health"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["balancer"] == "lb-1" && h["backend"] == backend)
        .map(|h| {
            (
                h["at_us"].as_u64().unwrap(),
                h["to"].as_str().unwrap().to_owned(),
                h["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (probes, changes)
}

#[test]
fn active_checks_flip_at_the_third_failure_and_the_second_success_to_the_millisecond() {
    let config = json!({ "passive": "off", "jitter_ms": 0, "crash_at_ms": 10_000, "restart_at_ms": 60_000 });
    for_seeds("lb", &config, 1..=20, |seed| {
        let run = run_to_end("lb", &config, seed);
        let (probes, changes) = health_of(run.as_ref(), "b");
        let failed: Vec<u64> = probes.iter().filter(|p| !p.1).map(|p| p.0).collect();
        let [first, _, third, ..] = failed[..] else { return Err(format!("failed probes {failed:?}")) };
        // A black-holed probe fails at its timeout: the first one sent after the crash.
        let sent = first - 5_000_000;
        if !(10_000_000..20_000_000).contains(&sent) {
            return Err(format!("the first failed probe went out at {sent} µs, not in the interval after the crash"));
        }
        if third != first + 20_000_000 {
            return Err(format!("failures at {failed:?}: not one interval apart"));
        }
        let down = changes.first().ok_or("never taken down")?;
        if *down != (third, "down".to_owned(), "probes".to_owned()) {
            return Err(format!("taken down {down:?}, expected at the third failure, {third} µs"));
        }
        let after: Vec<u64> = probes.iter().filter(|p| p.1 && p.0 > 60_000_000).map(|p| p.0).collect();
        let up = changes.get(1).ok_or("never back")?;
        if *up != (after[1], "up".to_owned(), "probes".to_owned()) {
            return Err(format!("back {up:?}, expected at the second success after the restart, {} µs", after[1]));
        }
        Ok(())
    });
}

#[test]
fn backends_are_probed_at_their_own_phases_and_the_chapters_loop_waits_on_a_dead_one() {
    let run = run_to_end("lb", &json!({ "passive": "off", "jitter_ms": 0 }), 1);
    let phases: std::collections::BTreeSet<u64> =
        ["a", "b", "c", "d"].iter().map(|b| health_of(run.as_ref(), b).0[0].0 % 10_000_000).collect();
    assert_eq!(phases.len(), 4, "four backends, four phases: {phases:?}");

    // The chapter's loop probes a, b, c, d one after another: with b black-holed, c's and d's
    // probes wait out b's 5 s timeout in every round after the crash.
    let run = run_to_end("lb", &json!({ "passive": "off", "health": "chapter" }), 1);
    let (a, _) = health_of(run.as_ref(), "a");
    let (c, _) = health_of(run.as_ref(), "c");
    let rounds: Vec<(u64, u64)> = a.iter().zip(&c).map(|(a, c)| (a.0, c.0)).collect();
    let dead: Vec<&(u64, u64)> = rounds.iter().filter(|(a, _)| (10_000_000..60_000_000).contains(a)).collect();
    assert_eq!(dead.len(), 4, "{rounds:?}");
    for (a, c) in &dead {
        assert!(
            (5_000_000..5_010_000).contains(&(c - a)),
            "c answered {} ms after a: it waited for b's timeout",
            (c - a) / 1_000
        );
    }
    for pair in dead.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!((15_000_000..15_010_000).contains(&gap), "rounds {gap} µs apart: the interval plus b's timeout");
    }
}

#[test]
fn the_chapters_checker_keeps_a_dead_backend_in_rotation_for_30_s_and_passive_checks_eject_it_at_once() {
    let chapter = run_to_end("lb", &json!({ "health": "chapter", "passive": "off" }), 1);
    let fixed = run_to_end("lb", &json!({}), 1);
    assert_eq!(number(chapter.as_ref(), "dead_in_rotation_ms"), 35_008);
    assert_eq!(number(chapter.as_ref(), "routed_while_dead"), 864);
    assert_eq!(number(fixed.as_ref(), "dead_in_rotation_ms"), 958, "nginx's max_fails 1: one timed-out request");
    assert_eq!(number(fixed.as_ref(), "routed_while_dead"), 73);
    // Every request sent to the dead backend failed, and (with the fix) one caught in flight.
    assert_eq!(number(chapter.as_ref(), "failed"), 864);
    assert_eq!(number(fixed.as_ref(), "failed"), 74);
}

#[test]
fn the_chapters_weighted_random_bursts_where_smooth_wrr_keeps_every_window_within_its_bound() {
    let weights = json!({ "weights": [5, 1, 1, 1], "crash": "" });
    let with = |algorithm: &str| {
        let mut c = weights.clone();
        c["algorithm"] = algorithm.into();
        run_to_end("lb", &c, 1)
    };
    let smooth = verdict(with("smooth_wrr").as_ref(), "weighted_shares");
    assert!(smooth.holds && smooth.promised, "{}", smooth.detail);
    assert_eq!(
        smooth.detail,
        "over every window of 100 picks, no backend strayed more than 0.50 picks from its weighted share (bound 2)"
    );
    let chapter = verdict(with("chapter_weighted").as_ref(), "weighted_shares");
    assert!(!chapter.holds && !chapter.promised);
    assert_eq!(chapter.detail, "a window of 100 picks at lb-1 strayed 18.50 picks from the weighted shares (bound 2)");
}

#[test]
fn the_chapters_ip_hash_remaps_most_keys_when_one_backend_leaves_and_jump_hash_only_its_own() {
    let remap = |algorithm: &str| {
        let run = run_to_end("lb", &json!({ "algorithm": algorithm }), 1);
        let r = summary(run.as_ref(), "remap");
        (r["moved"].as_u64().unwrap(), r["forced"].as_u64().unwrap(), verdict(run.as_ref(), "bounded_remap"))
    };
    let (moved, forced, v) = remap("ip_hash");
    assert_eq!((moved, forced), (256, 256));
    assert!(v.holds && v.promised);
    let (moved, forced, v) = remap("chapter_ip_hash");
    assert_eq!((moved, forced), (746, 235));
    assert!(!v.holds && !v.promised, "{}", v.detail);
    for algorithm in ["maglev", "bounded_load"] {
        let (moved, forced, v) = remap(algorithm);
        assert!(v.holds && v.promised && moved >= forced && moved - forced <= 50, "{algorithm}: {}", v.detail);
    }
}

#[test]
fn a_slowed_backend_gets_less_from_p2c_than_from_least_conn_and_round_robin_across_three_balancers() {
    let slow = |algorithm: &str| {
        let config = json!({ "algorithm": algorithm, "crash": "", "slow": "c", "slow_at_ms": 5_000, "balancers": 3, "rate": 300 });
        let run = run_to_end("lb", &config, 1);
        let routed: Vec<u64> =
            summary(run.as_ref(), "routed").as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        (routed[2], routed.iter().sum::<u64>(), number(run.as_ref(), "p99_us"))
    };
    let (rr, total, rr_p99) = slow("round_robin");
    let (lc, _, lc_p99) = slow("least_conn");
    let (p2c, _, p2c_p99) = slow("p2c_ewma");
    assert_eq!((p2c, lc, rr, total), (1_231, 1_854, 3_991, 26_829), "what the slowed backend got");
    assert!(
        p2c_p99 < lc_p99 && lc_p99 * 3 < rr_p99,
        "p99: {p2c_p99} µs (p2c), {lc_p99} (least conn), {rr_p99} (round robin)"
    );
    let chapter = run_to_end("lb", &json!({ "algorithm": "chapter_least_conn", "crash": "" }), 1);
    let routed = summary(chapter.as_ref(), "routed");
    assert_eq!(
        routed.as_array().unwrap()[1..],
        [json!(0), json!(0), json!(0)],
        "the never-updated count sends everything to a"
    );
    assert_eq!(summary(chapter.as_ref(), "spread"), json!(4.0));
}

#[test]
fn bad_configurations_name_the_field_and_the_allowed_range() {
    let err = |c: Value| scenario::build("lb", &c, 1).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(err(json!({ "backends": 9 })), "backends = 9 is out of range: allowed 2..=8");
    assert_eq!(
        err(json!({ "weights": [1, 2] })),
        "weights = 2 weights is out of range: allowed none, or one for each of the 4 backends"
    );
    assert_eq!(err(json!({ "weights": [1, 0, 1, 1] })), "weights = 0 is out of range: allowed 1..=100");
    assert_eq!(err(json!({ "crash": "z" })), "crash = \"z\" is out of range: allowed \"\" or one of a, b, c, d");
    assert_eq!(err(json!({ "restart_at_ms": 5_000 })), "restart_at_ms = 5000 is out of range: allowed 10001..=90000");
    assert!(
        err(json!({ "algorithm": "fastest" }))
            .starts_with("algorithm = \"fastest\" is not allowed: expected one of round_robin, smooth_wrr")
    );
}
