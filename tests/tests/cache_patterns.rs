//! The cache patterns and protections (46.3) in the simulator: each failure mode shown on a pinned
//! seed, each protection measured against the same seed without it.

use distlab_engine::check::Verdict;
use distlab_tests::{for_seeds, run_to_end};
use serde_json::{Value, json};

type Summary = serde_json::Map<String, Value>;

fn summary(config: &Value, seed: u64) -> Summary {
    run_to_end("cache", config, seed).summary()
}

fn num(s: &Summary, k: &str) -> u64 {
    s.get(k).and_then(Value::as_u64).unwrap_or_else(|| panic!("no {k} in {s:?}"))
}

fn count(s: &Summary, k: &str) -> u64 {
    s.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn verdict(config: &Value, seed: u64, property: &str) -> Verdict {
    let run = run_to_end("cache", config, seed);
    run.verdicts().into_iter().find(|v| v.property == property).unwrap_or_else(|| panic!("no {property} verdict"))
}

#[test]
fn cache_aside_stale_fill_race_is_shown_and_the_versioned_fix_closes_it() {
    // Seed 1: a slow load fills the cache after a write deleted the key, and readers keep seeing
    // the replaced row long after the write.
    let plain = summary(&json!({}), 1);
    assert_eq!(num(&plain, "late_stale_reads"), 16, "{plain:?}");
    let v = verdict(&json!({}), 1, "fresh_reads");
    assert!(!v.holds && !v.promised, "{v:?}");
    assert!(v.detail.contains("16 of 7230 reads"), "{}", v.detail);
    // Deleting again 200 ms later bounds the staleness: fewer late reads on the same seed.
    let double = summary(&json!({ "fix": "double-delete" }), 1);
    assert_eq!(num(&double, "late_stale_reads"), 3, "{double:?}");
    // Versioned fills never land over a newer row or its tombstone: promised, on every seed.
    let versioned = json!({ "fix": "versioned", "duration_ms": 10_000 });
    for_seeds("cache", &versioned, 1..=20, |seed| {
        let run = run_to_end("cache", &versioned, seed);
        let s = run.summary();
        let fresh = run.verdicts().into_iter().find(|v| v.property == "fresh_reads").ok_or("no verdict")?;
        if !fresh.holds || !fresh.promised || count(&s, "late_stale_reads") != 0 {
            return Err(format!("{fresh:?}"));
        }
        if count(&s, "stale_reads") == 0 {
            return Err("no read overlapped a write: the workload does not exercise the race".into());
        }
        Ok(())
    });
}

#[test]
fn single_flight_turns_a_thousand_concurrent_misses_into_one_load() {
    let burst = |single_flight: bool| json!({ "apps": 1, "rate_per_s": 0, "burst": 1000, "single_flight": single_flight, "duration_ms": 3000 });
    let one = summary(&burst(true), 7);
    assert_eq!((num(&one, "reads"), num(&one, "db_loads")), (1000, 1), "{one:?}");
    assert_eq!((count(&one, "reads_db"), count(&one, "reads_waited")), (1, 999));
    let all = summary(&burst(false), 7);
    assert_eq!((num(&all, "db_loads"), num(&all, "max_loads_per_wave")), (1000, 1000), "{all:?}");
}

#[test]
fn a_set_nx_mutex_makes_one_load_across_servers() {
    let config = |mutex: bool| json!({ "apps": 4, "rate_per_s": 0, "burst": 250, "mutex": mutex, "duration_ms": 3000 });
    for_seeds("cache", &config(true), 1..=10, |seed| {
        let s = summary(&config(true), seed);
        match (num(&s, "reads"), num(&s, "db_loads")) {
            (1000, 1) => Ok(()),
            other => Err(format!("(reads, loads) = {other:?}")),
        }
    });
    assert_eq!(num(&summary(&config(false), 1), "db_loads"), 1000);
}

#[test]
fn ttl_jitter_flattens_the_mass_expiry_and_warm_up_the_cold_start() {
    let avalanche = |jitter: u32, warmup: bool| {
        json!({ "apps": 2, "rate_per_s": 1000, "keys": 1000, "zipf_s": 0.0, "warmup": warmup, "start_ms": 500,
                "ttl_ms": 10_000, "jitter_percent": jitter, "write_percent": 0, "duration_ms": 20_000 })
    };
    let flat = summary(&avalanche(0, true), 3);
    let jittered = summary(&avalanche(50, true), 3);
    let (before, after) = (num(&flat, "db_peak_per_bucket"), num(&jittered, "db_peak_per_bucket"));
    assert!(before >= 5 * after, "peak load per 100 ms: {before} without jitter, {after} with");
    // Without jitter every warmed key expires in the same bucket, 10 s after the warm-up.
    let expiry: Vec<u64> = flat["expiry_series"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let spike = expiry.iter().copied().max().unwrap();
    assert!(spike >= 1000, "{spike}");
    // Without warm-up, the first 100 ms of traffic all miss.
    let cold = summary(&avalanche(50, false), 3);
    let first_second =
        |s: &Summary| s["db_series"].as_array().unwrap().iter().take(15).map(|v| v.as_u64().unwrap()).max();
    assert!(first_second(&cold) >= Some(100), "{:?}", first_second(&cold));
    assert!(first_second(&jittered) <= Some(5), "{:?}", first_second(&jittered));
}

#[test]
fn null_caching_and_the_bloom_filter_stop_penetration() {
    let penetration = |extra: Value| {
        let mut c = json!({ "absent_percent": 20, "duration_ms": 10_000 });
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        summary(&c, 5)
    };
    let open = penetration(json!({}));
    let nulls = penetration(json!({ "null_ttl_ms": 2000 }));
    let bloom = penetration(json!({ "bloom": true }));
    let (a, b, c) = (num(&open, "db_loads_absent"), num(&nulls, "db_loads_absent"), num(&bloom, "db_loads_absent"));
    assert!(a > 500 && b * 2 < a, "absent-key loads: {a} open, {b} with null caching");
    assert!(count(&nulls, "reads_null") > 0);
    // Only the filter's false positives (1% target) reach the database.
    let filtered = num(&bloom, "reads_filter");
    assert!(c * 100 <= (filtered + c) * 3, "{c} false positives reached the database, {filtered} filtered");
}

#[test]
fn write_behind_loses_what_a_cache_crash_catches_unflushed() {
    let crash = |pattern: &str| json!({ "pattern": pattern, "crash_cache_at_ms": 10_500, "flush_ms": 1000 });
    let behind = summary(&crash("write-behind"), 2);
    assert!(num(&behind, "writes_lost") > 0, "{behind:?}");
    let v = verdict(&crash("write-behind"), 2, "no_lost_writes");
    assert!(!v.holds && !v.promised, "{v:?}");
    for pattern in ["write-through", "read-through", "cache-aside"] {
        let v = verdict(&crash(pattern), 2, "no_lost_writes");
        assert!(v.holds && v.promised, "{pattern}: {v:?}");
    }
    // Without a crash, every write-behind write is flushed by the end of the run.
    assert_eq!(num(&summary(&json!({ "pattern": "write-behind" }), 2), "writes_lost"), 0);
}

#[test]
fn xfetch_refreshes_hot_keys_before_they_expire() {
    // Warmed up, so that the only miss waves are expiries of hot keys.
    let hot = |beta: f64| {
        json!({ "rate_per_s": 1000, "ttl_ms": 2000, "write_percent": 0, "duration_ms": 10_000, "warmup": true,
                "start_ms": 300, "xfetch_beta": beta })
    };
    let plain = summary(&hot(0.0), 4);
    let early = summary(&hot(3.0), 4);
    assert_eq!(num(&plain, "early_refreshes"), 0);
    assert!(num(&early, "early_refreshes") > 0);
    let (wave, wave_early) = (num(&plain, "max_loads_per_wave"), num(&early, "max_loads_per_wave"));
    assert!(wave >= 10 && wave_early * 2 <= wave, "largest miss wave: {wave} plain, {wave_early} with XFetch");
}

#[test]
fn bad_configurations_are_refused_with_the_field() {
    let err =
        |c: Value| distlab_engine::scenario::build("cache", &c, 1).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err(json!({ "keys": 0 })).contains("keys"), "{}", err(json!({ "keys": 0 })));
    assert!(err(json!({ "pattern": "read-through", "bloom": true })).contains("cache-aside"));
    assert!(err(json!({ "db_latency_min_ms": 50, "db_latency_max_ms": 10 })).contains("db_latency_min_ms"));
    assert!(
        err(json!({ "pattern": "write-around" }))
            .starts_with("pattern = \"write-around\" is not allowed: expected one of cache-aside,")
    );
}

#[test]
fn same_seed_same_trace() {
    let c = json!({ "mutex": true, "xfetch_beta": 1.0, "absent_percent": 5, "null_ttl_ms": 500, "duration_ms": 5000 });
    let hash = |seed| run_to_end("cache", &c, seed).trace().hash();
    assert_eq!(hash(9), hash(9));
    assert_ne!(hash(9), hash(10));
}

#[test]
fn write_through_keeps_the_newest_row_and_write_behind_loses_nothing_without_a_crash() {
    // Acknowledgements of two writes to one key can come back out of order; the service keeps
    // the newer version. And write-behind keeps only a key's last write: the earlier ones are
    // superseded, not lost.
    for (pattern, property) in [("write-through", "fresh_reads"), ("write-behind", "no_lost_writes")] {
        let config = json!({ "pattern": pattern, "apps": 4, "duration_ms": 8000 });
        for_seeds("cache", &config, 1..=10, |seed| {
            let v = verdict(&config, seed, property);
            if v.holds { Ok(()) } else { Err(format!("{v:?}")) }
        });
    }
}

#[test]
fn a_cache_crash_leaves_no_reader_waiting() {
    // The cache crashes at 4 s with fills, locks and polls in flight; servers give up on requests
    // unanswered for a second and go on. Every read the workload started is answered.
    let config = json!({ "fix": "versioned", "single_flight": true, "mutex": true, "crash_cache_at_ms": 4000,
                         "duration_ms": 8000, "write_percent": 10 });
    for_seeds("cache", &config, 1..=5, |seed| {
        let run = run_to_end("cache", &config, seed);
        let s = run.summary();
        let fresh = run.verdicts().into_iter().find(|v| v.property == "fresh_reads").ok_or("no verdict")?;
        if fresh.promised {
            return Err("a crash forgets the tombstones: freshness cannot be promised".into());
        }
        // 2 servers × 200 requests/s × 8 s, 90% reads: every one answered, none left hanging.
        let reads = count(&s, "reads");
        if !(2_700..=3_100).contains(&reads) {
            return Err(format!("{reads} reads answered"));
        }
        Ok(())
    });
}

#[test]
fn a_closed_loop_of_instant_answers_paces_itself() {
    // Every read is of a key the Bloom filter refuses, so each finishes at once: each server's loop
    // sends 4 per millisecond instead of recursing forever at one instant.
    let config = json!({ "closed_loop": 4, "bloom": true, "absent_percent": 100, "write_percent": 0, "keys": 1,
                         "duration_ms": 1000 });
    let s = summary(&config, 1);
    assert_eq!(num(&s, "reads"), count(&s, "reads_filter"));
    assert!((7_900..=8_100).contains(&num(&s, "reads")), "2 servers × 4 per millisecond: {s:?}");
}
