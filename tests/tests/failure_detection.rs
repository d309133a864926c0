//! Failure detection (46.1.2): both detectors notice the crash in every seed; under GC pauses the
//! fixed timeout raises many false suspicions where phi-accrual raises almost none, and pays for
//! it with slower detection.

use distlab_tests::{for_seeds, run_to_end};
use serde_json::json;

#[test]
fn both_detectors_catch_the_crash_in_every_seed_and_trade_speed_for_accuracy() {
    let config = json!({});
    let totals = std::cell::RefCell::new([0u64; 4]); // fixed false, phi false, fixed ms, phi ms
    for_seeds("failure-detector", &config, 0..200, |seed| {
        let run = run_to_end("failure-detector", &config, seed);
        let v = &run.verdicts()[0];
        if !v.holds {
            return Err(v.detail.clone());
        }
        let s = run.summary();
        let mut t = totals.borrow_mut();
        for (i, key) in ["fixed_false_suspicions", "phi_false_suspicions", "fixed_detection_ms", "phi_detection_ms"]
            .iter()
            .enumerate()
        {
            t[i] += s[*key].as_u64().unwrap();
        }
        Ok(())
    });
    let [fixed_false, phi_false, fixed_ms, phi_ms] = *totals.borrow();
    assert!(fixed_false > 10 * phi_false.max(1), "fixed {fixed_false} vs phi {phi_false} false suspicions");
    assert!(phi_ms > 2 * fixed_ms, "phi detects later: {phi_ms} vs {fixed_ms} ms in total");
    assert!(
        fixed_ms / 200 <= 600,
        "the fixed timeout detects within about its 500 ms: {} ms on average",
        fixed_ms / 200
    );
}

#[test]
fn without_pauses_neither_detector_cries_wolf() {
    for seed in 0..20 {
        let run = run_to_end("failure-detector", &json!({ "pauses": false, "loss_percent": 0 }), seed);
        let s = run.summary();
        assert_eq!(s["fixed_false_suspicions"], 0, "seed {seed}: {s:?}");
        assert_eq!(s["phi_false_suspicions"], 0, "seed {seed}: {s:?}");
    }
}

#[test]
fn bad_detector_configuration_is_refused() {
    let err = |c| distlab_engine::scenario::build("failure-detector", &c, 1).err().unwrap().to_string();
    assert_eq!(err(json!({ "phi_threshold": 0.0 })), "phi_threshold = 0 is out of range: allowed above 0 up to 100");
    assert_eq!(err(json!({ "crash_at_ms": 40000 })), "crash_at_ms = 40000 is out of range: allowed 0..=30000");
}
