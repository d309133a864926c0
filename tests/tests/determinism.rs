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

/// Every catalogue scenario's trace hash on two seeds, run to its default end, with the configs
/// that reach the algorithms a scenario selects (consistency levels, lock kinds, stories). This is
/// the guard for refactors that must not change behaviour (moving an algorithm to its own file,
/// typed timers): a trace that moves here changed what a run does. Update only on purpose.
#[test]
fn every_scenario_trace_hash_is_pinned() {
    let mut configs: Vec<(&str, serde_json::Value)> = scenario::catalog().iter().map(|s| (s.name, json!({}))).collect();
    configs.extend([
        ("pn-counter", json!({ "merge": "chapter" })),
        ("cap", json!({ "consistency": "quorum" })),
        ("cap", json!({ "consistency": "eventual", "crashes": true })),
        ("cap", json!({ "consistency": "eventual", "lww": true })),
        ("cap", json!({ "consistency": "causal", "partition": "storm" })),
        ("election", json!({ "votes": "chapter" })),
        ("redlock", json!({ "story": "clock-jump" })),
        ("lock-kleppmann", json!({ "fencing": true })),
        ("exercise-1", json!({ "step": 2 })),
        ("exercise-1", json!({ "step": 3 })),
        ("exercise-1", json!({ "step": 4 })),
        ("cache", json!({ "pattern": "write-behind", "crash_cache_at_ms": 3000 })),
        ("cache", json!({ "single_flight": true, "mutex": true, "xfetch_beta": 1.0 })),
        ("2pc", json!({ "coordinators": 2, "crash_coordinator_at_ms": 150 })),
        ("outbox", json!({ "dual_write": true, "loss_percent": 10 })),
        ("2pc", json!({ "fail_order": 3, "fail_step": 2 })),
        ("tcc", json!({ "loss_percent": 10, "reorder_percent": 20, "fail_order": 2 })),
        ("saga", json!({ "loss_percent": 5, "reorder_percent": 10, "shipping_slots": 10 })),
        ("saga-choreo", json!({ "duplicate_percent": 10, "reorder_percent": 10, "fail_order": 4, "fail_step": 2 })),
        ("rw-lock", json!({ "pauses": true, "crashes": true, "loss_percent": 2 })),
        ("mq", json!({ "mode": "chapter" })),
        ("mq", json!({ "topology": "pubsub", "exchange": "topic", "slow_consumer": true })),
        ("mq", json!({ "topology": "pubsub", "mode": "chapter" })),
        ("mq", json!({ "topology": "partitioned", "delay_percent": 0 })),
        ("mq", json!({ "fsync": "every_ms", "confirms": false })),
        ("lb", json!({ "algorithm": "smooth_wrr", "weights": [5, 1, 1, 1] })),
        ("lb", json!({ "algorithm": "chapter_ip_hash", "health": "chapter", "passive": "off" })),
        ("lb", json!({ "algorithm": "p2c_ewma", "balancers": 3, "slow": "c", "slow_at_ms": 5000, "crash": "" })),
        ("lb", json!({ "algorithm": "maglev", "passive": "envoy" })),
        ("ha", json!({ "story": "cascade", "duration_ms": 20_000, "incident_at_ms": 5_000, "incident_ms": 5_000 })),
        ("ha", json!({ "story": "retry-storm", "duration_ms": 20_000, "incident_at_ms": 5_000 })),
        ("ha", json!({ "incident": "outage", "limiter": "leaky_bucket", "limit_rate": 250, "duration_ms": 20_000 })),
        ("failover", json!({ "story": "split-brain" })),
        ("failover", json!({ "incident": "crash", "writers": 5 })),
        ("ids", json!({ "story": "restart-behind" })),
        ("ids", json!({ "generator": "segment", "store_pause_ms": 600 })),
        ("ids", json!({ "story": "chapter-v7", "chapter": false })),
    ]);
    let mut lines = Vec::new();
    for (name, config) in configs {
        for seed in [1, 2] {
            let run = run_to_end(name, &config, seed);
            // The same run hashing only (a headless run, a sweep) writes its messages and
            // observations canonically from their types instead of through a `Value`: every
            // protocol's types here give the bytes the held records give.
            let mut headless = scenario::build(name, &config, seed).unwrap();
            headless.set_trace_held(false);
            headless.run_until(headless.default_until()).unwrap();
            assert_eq!(headless.trace().hash(), run.trace().hash(), "{name} {config} seed {seed}, hashing only");
            lines.push(format!("{name} {config} seed {seed}: {}", format_hash(run.trace().hash())));
        }
    }
    expect![[r#"
        pn-counter {} seed 1: 0xe655edf2988f090e
        pn-counter {} seed 2: 0x0eff9b38357d7f81
        cap {} seed 1: 0x90e59410b5956ed5
        cap {} seed 2: 0xbcff16803866a535
        failure-detector {} seed 1: 0x5585d381d04f8087
        failure-detector {} seed 2: 0x652afa69cf4711fc
        election {} seed 1: 0x86c09198e4cbf6c9
        election {} seed 2: 0xf9995c08ee3310aa
        mq {} seed 1: 0x448528c0067f031e
        mq {} seed 2: 0x980b47828630a101
        mq-streams {} seed 1: 0xadae39cc449ccdfb
        mq-streams {} seed 2: 0x262c183b52260f54
        cache {} seed 1: 0x2144a16f780c7803
        cache {} seed 2: 0x4ea57f2d84684e1d
        lb {} seed 1: 0x01c35279d2dc0b7f
        lb {} seed 2: 0x10d30c70697ea04f
        ha {} seed 1: 0x02074023dd654972
        ha {} seed 2: 0x8e74e94bce39a85d
        failover {} seed 1: 0x42caa842bdb9ddc6
        failover {} seed 2: 0x777533df1e947da1
        lock {} seed 1: 0xb2fbc800bdb61d72
        lock {} seed 2: 0x4df608dee04dc4ad
        lock-kleppmann {} seed 1: 0xe690f16243bbfffb
        lock-kleppmann {} seed 2: 0x0e4571b7e4255018
        redlock {} seed 1: 0x893a248f0f01df1f
        redlock {} seed 2: 0x27bc267f83015163
        zk-lock {} seed 1: 0x6fa82f93247b5c11
        zk-lock {} seed 2: 0xda03d2c0b8048781
        rw-lock {} seed 1: 0xac0a10f90c1be3d8
        rw-lock {} seed 2: 0xe416f135ca48d9fa
        exercise-1 {} seed 1: 0xedd6d39823832fac
        exercise-1 {} seed 2: 0x5e0ba52e3a34a10f
        ids {} seed 1: 0x35b069b745f498a8
        ids {} seed 2: 0x46c073929c80ba10
        2pc {} seed 1: 0x38cd46e8511cc76e
        2pc {} seed 2: 0xc0d83fef796ce0f7
        tcc {} seed 1: 0xc03643e6279a077c
        tcc {} seed 2: 0xa8c6a29e919d59e4
        saga {} seed 1: 0x6dbbc8a0a82f6749
        saga {} seed 2: 0x5a3653cbd7c3bcf1
        saga-choreo {} seed 1: 0xec2691132f9514d3
        saga-choreo {} seed 2: 0xb1aac0604aa518d8
        saga-store {} seed 1: 0x477bddbe7c29e1c8
        saga-store {} seed 2: 0x7dac9e9b60e7bc42
        outbox {} seed 1: 0xfc1de882f7879471
        outbox {} seed 2: 0xd75cc8b022c9ba75
        pn-counter {"merge":"chapter"} seed 1: 0x2e051e760eb5e2b9
        pn-counter {"merge":"chapter"} seed 2: 0x9a8848d56dbe9f00
        cap {"consistency":"quorum"} seed 1: 0xcbc59cb14af80320
        cap {"consistency":"quorum"} seed 2: 0x4190934e1778ab4a
        cap {"consistency":"eventual","crashes":true} seed 1: 0x07ef3233d75ae094
        cap {"consistency":"eventual","crashes":true} seed 2: 0x4783f844bb9df429
        cap {"consistency":"eventual","lww":true} seed 1: 0xfcdbd08307fc5c2d
        cap {"consistency":"eventual","lww":true} seed 2: 0xa32cf1a0e2a3866f
        cap {"consistency":"causal","partition":"storm"} seed 1: 0x37c44dc74e68f07c
        cap {"consistency":"causal","partition":"storm"} seed 2: 0x491b32654ebedb6a
        election {"votes":"chapter"} seed 1: 0xe7d46645d1a8bdf7
        election {"votes":"chapter"} seed 2: 0xddd679af0d910298
        redlock {"story":"clock-jump"} seed 1: 0x43d5a07e99a3d65e
        redlock {"story":"clock-jump"} seed 2: 0xc5ee56045f92be8f
        lock-kleppmann {"fencing":true} seed 1: 0x4c49caf1796f4d69
        lock-kleppmann {"fencing":true} seed 2: 0xaddc8c4e2abc8151
        exercise-1 {"step":2} seed 1: 0x6becddbd65f70874
        exercise-1 {"step":2} seed 2: 0xff1f42795c9bd3fe
        exercise-1 {"step":3} seed 1: 0x691b7d2e93fa783a
        exercise-1 {"step":3} seed 2: 0xd0fb6afc2f960842
        exercise-1 {"step":4} seed 1: 0x782570e508c7670e
        exercise-1 {"step":4} seed 2: 0xea3a719c3d61e9bc
        cache {"crash_cache_at_ms":3000,"pattern":"write-behind"} seed 1: 0xd0ab2834efd11f4b
        cache {"crash_cache_at_ms":3000,"pattern":"write-behind"} seed 2: 0xa85cb1f3993c5584
        cache {"mutex":true,"single_flight":true,"xfetch_beta":1.0} seed 1: 0x566969f23f196f40
        cache {"mutex":true,"single_flight":true,"xfetch_beta":1.0} seed 2: 0xcf57987063aaa80c
        2pc {"coordinators":2,"crash_coordinator_at_ms":150} seed 1: 0x575a0644a859c881
        2pc {"coordinators":2,"crash_coordinator_at_ms":150} seed 2: 0x8a5b1a308ff0b0ca
        outbox {"dual_write":true,"loss_percent":10} seed 1: 0x261dde39885dfc2c
        outbox {"dual_write":true,"loss_percent":10} seed 2: 0x6c06a4d5ed7263aa
        2pc {"fail_order":3,"fail_step":2} seed 1: 0x1164bc98c10d9de9
        2pc {"fail_order":3,"fail_step":2} seed 2: 0x767ca2e9de1e20cc
        tcc {"fail_order":2,"loss_percent":10,"reorder_percent":20} seed 1: 0x2f8449589caedc16
        tcc {"fail_order":2,"loss_percent":10,"reorder_percent":20} seed 2: 0x8cea638fbe16d893
        saga {"loss_percent":5,"reorder_percent":10,"shipping_slots":10} seed 1: 0xf8775191bcca3913
        saga {"loss_percent":5,"reorder_percent":10,"shipping_slots":10} seed 2: 0x35435c3dbee7ffc4
        saga-choreo {"duplicate_percent":10,"fail_order":4,"fail_step":2,"reorder_percent":10} seed 1: 0x8ab4cc212d2d8bda
        saga-choreo {"duplicate_percent":10,"fail_order":4,"fail_step":2,"reorder_percent":10} seed 2: 0x6737baf8ca4c69c0
        rw-lock {"crashes":true,"loss_percent":2,"pauses":true} seed 1: 0x7b455f8eb574de9a
        rw-lock {"crashes":true,"loss_percent":2,"pauses":true} seed 2: 0x36f48dcedc2680f2
        mq {"mode":"chapter"} seed 1: 0xef815b468787eed3
        mq {"mode":"chapter"} seed 2: 0x2e8b19eb19c72899
        mq {"exchange":"topic","slow_consumer":true,"topology":"pubsub"} seed 1: 0xfdb7a44385d86193
        mq {"exchange":"topic","slow_consumer":true,"topology":"pubsub"} seed 2: 0xc96b7483734f428a
        mq {"mode":"chapter","topology":"pubsub"} seed 1: 0xea6aff30befa2cd2
        mq {"mode":"chapter","topology":"pubsub"} seed 2: 0x7bc84725e18bd1a0
        mq {"delay_percent":0,"topology":"partitioned"} seed 1: 0xcb10046de2abea5c
        mq {"delay_percent":0,"topology":"partitioned"} seed 2: 0x1886e4f1664491ed
        mq {"confirms":false,"fsync":"every_ms"} seed 1: 0x28efad8673f7bfe1
        mq {"confirms":false,"fsync":"every_ms"} seed 2: 0xf5f9d65ab5f9edd0
        lb {"algorithm":"smooth_wrr","weights":[5,1,1,1]} seed 1: 0x361851f399353306
        lb {"algorithm":"smooth_wrr","weights":[5,1,1,1]} seed 2: 0x9052a1ef9bb4ae4f
        lb {"algorithm":"chapter_ip_hash","health":"chapter","passive":"off"} seed 1: 0xd876454fe2bcdcab
        lb {"algorithm":"chapter_ip_hash","health":"chapter","passive":"off"} seed 2: 0x2dae247400917048
        lb {"algorithm":"p2c_ewma","balancers":3,"crash":"","slow":"c","slow_at_ms":5000} seed 1: 0x9fa26d5f83fa1ae7
        lb {"algorithm":"p2c_ewma","balancers":3,"crash":"","slow":"c","slow_at_ms":5000} seed 2: 0xbc49e559f7bd7719
        lb {"algorithm":"maglev","passive":"envoy"} seed 1: 0x2efc5f757a09d893
        lb {"algorithm":"maglev","passive":"envoy"} seed 2: 0x8ab947c650b0e655
        ha {"duration_ms":20000,"incident_at_ms":5000,"incident_ms":5000,"story":"cascade"} seed 1: 0x7a470edaf6ca50a1
        ha {"duration_ms":20000,"incident_at_ms":5000,"incident_ms":5000,"story":"cascade"} seed 2: 0x4c3fe6600bb1b031
        ha {"duration_ms":20000,"incident_at_ms":5000,"story":"retry-storm"} seed 1: 0x38e994ebbb089693
        ha {"duration_ms":20000,"incident_at_ms":5000,"story":"retry-storm"} seed 2: 0x803f806d1ee2b215
        ha {"duration_ms":20000,"incident":"outage","limit_rate":250,"limiter":"leaky_bucket"} seed 1: 0x23d87fdf2dc25743
        ha {"duration_ms":20000,"incident":"outage","limit_rate":250,"limiter":"leaky_bucket"} seed 2: 0x38da17ca84309214
        failover {"story":"split-brain"} seed 1: 0x8ca7c8bc7870c229
        failover {"story":"split-brain"} seed 2: 0xbec233798a9f9b45
        failover {"incident":"crash","writers":5} seed 1: 0xc1e41e0898df321a
        failover {"incident":"crash","writers":5} seed 2: 0x7866d18d827f479b
        ids {"story":"restart-behind"} seed 1: 0xa804557bb410d773
        ids {"story":"restart-behind"} seed 2: 0x36bb2112b74d282c
        ids {"generator":"segment","store_pause_ms":600} seed 1: 0x4afcb21bcf5032b8
        ids {"generator":"segment","store_pause_ms":600} seed 2: 0xad4e240001a066fc
        ids {"chapter":false,"story":"chapter-v7"} seed 1: 0x4f6db308fa66263a
        ids {"chapter":false,"story":"chapter-v7"} seed 2: 0xd972506184e95b91"#]].assert_eq(&lines.join("\n"));
}

/// A checkpoint taken anywhere goes on exactly as the run it was taken from: same trace hash and
/// length, same verdicts, summary and world at the end (what the page's rewind relies on), for
/// every scenario, with a fault injected after the checkpoint in both.
#[test]
fn a_checkpoint_goes_on_exactly_as_its_run() {
    for spec in scenario::catalog() {
        for seed in [1, 5] {
            let mut whole = scenario::build(spec.name, &json!({}), seed).unwrap();
            let until = whole.default_until();
            let mut events = 0;
            while whole.step().unwrap().is_some_and(|t| t < until) {
                events += 1;
            }
            let cut = events / 3;
            let mut original = scenario::build(spec.name, &json!({}), seed).unwrap();
            while original.events_processed() < cut && original.step().unwrap().is_some() {}
            let mut copy = original.checkpoint();
            assert_eq!(copy.trace().len(), original.trace().len());
            assert!(copy.trace().records().is_empty(), "a checkpoint holds no records");
            let mut paused = Vec::new();
            for run in [&mut original, &mut copy] {
                run.run_until(SimTime::from_micros(run.now().as_micros() + 1_000)).unwrap();
                let node = run.snapshot().nodes.last().unwrap().name.clone();
                paused.push(run.inject(distlab_engine::sim::Fault::Pause { node, duration_us: 50_000 }).is_ok());
                run.run_until(until).unwrap();
            }
            assert_eq!(paused[0], paused[1]);
            let what = format!("{} seed {seed} cut at {cut} of {events}", spec.name);
            assert_eq!(copy.trace().hash(), original.trace().hash(), "{what}");
            assert_eq!(copy.trace().len(), original.trace().len(), "{what}");
            assert_eq!(copy.trace().records(), &original.trace().records()[copy.trace().base()..], "{what}");
            assert_eq!(copy.verdicts(), original.verdicts(), "{what}");
            assert_eq!(copy.summary(), original.summary(), "{what}");
            assert_eq!(copy.snapshot(), original.snapshot(), "{what}");
        }
    }
}

/// Before its end a run's eventual properties are pending, never violated; at the end they are
/// final (the counter's convergence is the case the page showed red at t = 0).
#[test]
fn eventual_properties_are_pending_until_the_end() {
    use distlab_engine::check::Status;
    let mut run = scenario::build("pn-counter", &json!({}), 1).unwrap();
    let until = run.default_until();
    let mut pending = 0;
    for ms in (100..until.as_micros() / 1_000).step_by(100) {
        run.run_until(SimTime::from_millis(ms)).unwrap();
        let v = &run.verdicts()[0];
        assert_eq!(v.property, "convergence");
        assert!(!v.is_final && v.status != Status::Violated, "at {ms} ms: {v:?}");
        pending += usize::from(v.status == Status::Pending);
    }
    assert!(pending > 10, "updates in flight leave the replicas apart for a while: {pending}");
    run.run_until(until).unwrap();
    let end = run.verdicts();
    assert_eq!((end[0].status, end[0].is_final), (Status::Holds, true), "{end:?}");
    let chapter = run_to_end("pn-counter", &json!({ "merge": "chapter" }), 1);
    let v = &chapter.verdicts()[0];
    assert_eq!((v.status, v.is_final, v.holds), (Status::Violated, true, false), "{v:?}");
    let lock = run_to_end("lock-kleppmann", &json!({}), 1);
    let v = lock.verdicts().into_iter().find(|v| v.property == "mutual_exclusion").unwrap();
    assert_eq!(v.status, Status::Violated, "{v:?}");
    assert!(v.at_us.is_some_and(|t| t > 0 && t < until.as_micros()), "{v:?}");
}
