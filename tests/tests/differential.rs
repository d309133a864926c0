//! The simulated store against a real `redis-server`: random command sequences run on both,
//! and every reply must be identical. This is what keeps the engine's store honest.
//!
//! Differences that are not differences: `PTTL` may differ by the time between the two calls
//! (tolerance below); `HGETALL` order depends on Redis's encoding (compared as sets of pairs);
//! an error raised inside a script carries the script's location in Redis (compared by code).
//! Expiry: a sequence only uses lifetimes far longer than the sequence (seconds) or so short
//! (1–5 ms) that a 20 ms pause, always inserted right after, has certainly passed them — so no
//! comparison ever sits on an expiry boundary that a millisecond of jitter could move.

use std::time::Duration;

use distlab::server::LocalRedis;
use distlab::target::{Target, TargetSpec};
use distlab_engine::store::{Cmd, Keyspace, Reply, ScoreBound, ScriptName, SetCondition, SetExpiry};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Allowed difference between the two PTTL readings, in milliseconds.
const PTTL_TOLERANCE_MS: i64 = 250;
const PAUSE: Duration = Duration::from_millis(20);

#[derive(Clone, Debug)]
enum Op {
    Cmd(Cmd),
    /// Let time pass (both stores see it).
    Pause,
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")].prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0"),
        Just("1"),
        Just("-5"),
        Just("42"),
        Just("abc"),
        Just(""),
        Just("007"),
        Just(" 1"),
        Just("9223372036854775807"),
        Just("t1"),
        Just("done:5"),
        Just("done:0x10"),
    ]
    .prop_map(str::to_owned)
}

fn delta() -> impl Strategy<Value = i64> {
    prop_oneof![Just(-3i64), Just(0), Just(7), Just(i64::MAX), Just(i64::MIN), -100i64..100]
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![Just("f1"), Just("f2"), Just("f3"), Just("available"), Just("order:1")].prop_map(str::to_owned)
}

/// A saga step on four keys of the pool (an account holding anything, wrong types included),
/// with the log states the orchestrator writes and an amount the account may or may not cover.
fn saga_step() -> impl Strategy<Value = Cmd> {
    let state = || prop_oneof![Just(""), Just("f:1"), Just("b:0"), Just("completed")];
    (
        proptest::collection::vec(key(), 4),
        prop_oneof![Just("1"), Just("2"), Just("f1")],
        prop_oneof![
            4 => prop_oneof![Just("1"), Just("5"), Just("40")],
            1 => prop_oneof![Just("2.5"), Just("0x10"), Just("-3"), Just("1e1"), Just(""), Just("1234567890123456")],
        ],
        prop_oneof![Just("do"), Just("undo")],
        state(),
        state(),
        state(),
    )
        .prop_map(|(keys, tx, amount, op, ok, refused, expected)| Cmd::Script {
            script: ScriptName::SagaStep,
            keys,
            args: [tx, amount, op, ok, refused, expected, "inventory"].map(str::to_owned).to_vec(),
        })
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(-2.5),
        Just(0.1),
        Just(1.5),
        Just(3.0),
        Just(1e20),
        Just(0.00001),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (-1000i32..1000).prop_map(|n| f64::from(n) / 8.0),
    ]
}

fn member() -> impl Strategy<Value = String> {
    prop_oneof![Just("m1"), Just("m2"), Just("m3"), Just("m4")].prop_map(str::to_owned)
}

fn bound() -> impl Strategy<Value = ScoreBound> {
    prop_oneof![
        Just(ScoreBound::NegInf),
        Just(ScoreBound::PosInf),
        score().prop_filter("finite", |s| s.is_finite()).prop_map(ScoreBound::Inclusive),
        score().prop_filter("finite", |s| s.is_finite()).prop_map(ScoreBound::Exclusive),
    ]
}

/// Lifetimes in milliseconds: long (far beyond a sequence), short (followed by a pause), or
/// invalid (zero, negative).
fn lifetime_ms() -> impl Strategy<Value = i64> {
    prop_oneof![5_000i64..100_000, 1i64..=5, Just(0), Just(-7)]
}

fn expiry() -> impl Strategy<Value = Option<SetExpiry>> {
    prop_oneof![
        2 => Just(None),
        1 => lifetime_ms().prop_map(|ms| Some(SetExpiry::Px(ms))),
        1 => prop_oneof![Just(0i64), Just(-1), 10i64..100].prop_map(|s| Some(SetExpiry::Ex(s))),
    ]
}

fn condition() -> impl Strategy<Value = Option<SetCondition>> {
    prop_oneof![Just(None), Just(Some(SetCondition::Nx)), Just(Some(SetCondition::Xx))]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        key().prop_map(|key| Cmd::Get { key }),
        (key(), value(), condition(), expiry(), any::<bool>())
            .prop_map(|(key, value, condition, expiry, get)| Cmd::Set { key, value, condition, expiry, get }),
        proptest::collection::vec(key(), 1..4).prop_map(|keys| Cmd::Del { keys }),
        proptest::collection::vec(key(), 1..4).prop_map(|keys| Cmd::Exists { keys }),
        (key(), lifetime_ms()).prop_map(|(key, ms)| Cmd::PExpire { key, ms }),
        key().prop_map(|key| Cmd::PTtl { key }),
        key().prop_map(|key| Cmd::Incr { key }),
        (key(), delta()).prop_map(|(key, delta)| Cmd::IncrBy { key, delta }),
        (key(), proptest::collection::vec((field(), value()), 1..4))
            .prop_map(|(key, fields)| Cmd::HSet { key, fields }),
        (key(), field()).prop_map(|(key, field)| Cmd::HGet { key, field }),
        (key(), proptest::collection::vec(field(), 1..3)).prop_map(|(key, fields)| Cmd::HDel { key, fields }),
        key().prop_map(|key| Cmd::HGetAll { key }),
        (key(), field(), delta()).prop_map(|(key, field, delta)| Cmd::HIncrBy { key, field, delta }),
        (key(), proptest::collection::vec((score(), member()), 1..4))
            .prop_map(|(key, members)| Cmd::ZAdd { key, members }),
        (key(), bound(), bound(), any::<bool>(), proptest::option::of((-1i64..3, -1i64..3)))
            .prop_map(|(key, min, max, with_scores, limit)| Cmd::ZRangeByScore { key, min, max, with_scores, limit }),
        (key(), proptest::collection::vec(member(), 1..3)).prop_map(|(key, members)| Cmd::ZRem { key, members }),
        (key(), value()).prop_map(|(k, v)| Cmd::Script {
            script: ScriptName::CompareAndDelete,
            keys: vec![k],
            args: vec![v]
        }),
        (key(), value(), prop_oneof![Just("60000"), Just("3"), Just("0"), Just("soon")]).prop_map(|(k, v, ms)| {
            Cmd::Script { script: ScriptName::CompareAndPExpire, keys: vec![k], args: vec![v, ms.to_owned()] }
        }),
        (key(), key(), value(), prop_oneof![Just("60000"), Just("3"), Just("0"), Just("soon")]).prop_map(
            |(lock, counter, owner, ms)| Cmd::Script {
                script: ScriptName::AcquireFenced,
                keys: vec![lock, counter],
                args: vec![owner, ms.to_owned()]
            }
        ),
        (key(), owner(), lease_arg(), prop_oneof![4 => Just("read"), 4 => Just("write"), 1 => Just("both")]).prop_map(
            |(k, owner, ms, mode)| Cmd::Script {
                script: ScriptName::RwAcquire,
                keys: vec![k],
                args: vec![owner, ms.to_owned(), mode.to_owned()]
            }
        ),
        (key(), owner(), lease_arg()).prop_map(|(k, owner, ms)| Cmd::Script {
            script: ScriptName::RwRelease,
            keys: vec![k],
            args: vec![owner, ms.to_owned()]
        }),
        (key(), prop_oneof![Just("0"), Just("1"), Just("2"), Just("10"), Just("1x"), Just("")], value(), lease_arg())
            .prop_map(|(k, rank, v, ms)| Cmd::Script {
                script: ScriptName::SetIfNewer,
                keys: vec![k],
                args: vec![rank.to_owned(), v, ms.to_owned()]
            }),
        (key(), owner(), lease_arg()).prop_map(|(k, owner, ms)| Cmd::Script {
            script: ScriptName::RwRenew,
            keys: vec![k],
            args: vec![owner, ms.to_owned()]
        }),
        saga_step(),
        (key(), key(), field(), field()).prop_map(|(seen, effects, id, effect)| Cmd::Script {
            script: ScriptName::ConsumeOnce,
            keys: vec![seen, effects],
            args: vec![id, effect]
        }),
    ]
}

/// Read-write lock owners: mostly hash fields the other commands also touch, sometimes the
/// lock's own `mode` field.
fn owner() -> impl Strategy<Value = String> {
    prop_oneof![4 => field(), 1 => Just("mode".to_owned())]
}

fn lease_arg() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("60000"), Just("3"), Just("0"), Just("soon")]
}

/// True when `cmd` may give a key a lifetime of at most 5 ms: a pause must follow it.
fn sets_short_lifetime(cmd: &Cmd) -> bool {
    match cmd {
        Cmd::Set { expiry: Some(SetExpiry::Px(ms)), .. } | Cmd::PExpire { ms, .. } => (1..=5).contains(ms),
        Cmd::Script {
            script:
                ScriptName::CompareAndPExpire
                | ScriptName::AcquireFenced
                | ScriptName::RwAcquire
                | ScriptName::RwRelease
                | ScriptName::RwRenew,
            args,
            ..
        } => args.get(1).is_some_and(|a| a == "3"),
        Cmd::Script { script: ScriptName::SetIfNewer, args, .. } => args.get(2).is_some_and(|a| a == "3"),
        _ => false,
    }
}

fn sequence() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec((cmd(), any::<bool>()), 1..25).prop_map(|cmds| {
        let mut ops = Vec::new();
        for (c, pause) in cmds {
            let short = sets_short_lifetime(&c);
            ops.push(Op::Cmd(c));
            if short || pause && ops.len() % 7 == 0 {
                ops.push(Op::Pause);
            }
        }
        ops
    })
}

/// Redis's clock, as the simulated store needs it: Unix time in milliseconds.
fn unix_ms() -> i64 {
    i64::try_from(std::time::UNIX_EPOCH.elapsed().unwrap().as_millis()).unwrap()
}

fn normalise(cmd: &Cmd, reply: Reply) -> Reply {
    match (cmd, reply) {
        (Cmd::HGetAll { .. }, Reply::Array(items)) => {
            let mut pairs: Vec<Vec<Reply>> = items.chunks(2).map(<[Reply]>::to_vec).collect();
            pairs.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            Reply::Array(pairs.into_iter().flatten().collect())
        }
        (Cmd::Script { .. }, Reply::Error(e)) => Reply::Error(e.split_whitespace().next().unwrap_or("").to_owned()),
        (_, reply) => reply,
    }
}

fn same(cmd: &Cmd, sim: Reply, real: Reply) -> Result<(), String> {
    let (sim, real) = (normalise(cmd, sim), normalise(cmd, real));
    if let (Cmd::PTtl { .. }, Reply::Int(a), Reply::Int(b)) = (cmd, &sim, &real)
        && *a >= 0
        && *b >= 0
        && (a - b).abs() <= PTTL_TOLERANCE_MS
    {
        return Ok(());
    }
    if sim == real { Ok(()) } else { Err(format!("{cmd}\n  simulated: {sim:?}\n  real Redis: {real:?}")) }
}

#[test]
fn the_simulated_store_answers_like_redis() {
    let server = LocalRedis::start().expect("the differential tests need redis-server (cargo xtask test installs it)");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = runtime.block_on(Target::connect(&TargetSpec::Redis(server.url()))).unwrap();
    let backend = target.primary();
    // At least 500 sequences; `DISTLAB_DIFFERENTIAL_CASES=20000` for a deeper soak.
    let cases =
        std::env::var("DISTLAB_DIFFERENTIAL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500u32).max(500);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let case = std::cell::Cell::new(0u64);
    let result = runner.run(&sequence(), |ops| {
        case.set(case.get() + 1);
        let mut sim = Keyspace::new();
        // Each case starts from an empty namespace on the real server.
        let keys: Vec<String> = ["a", "b", "c", "d"].map(str::to_owned).to_vec();
        runtime.block_on(backend.exec(&Cmd::Del { keys })).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (i, op) in ops.iter().enumerate() {
            let Op::Cmd(cmd) = op else {
                std::thread::sleep(PAUSE);
                continue;
            };
            let real = runtime.block_on(backend.exec(cmd)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let simulated = sim.apply(unix_ms(), cmd);
            same(cmd, simulated, real).map_err(|d| TestCaseError::fail(format!("step {i} of {ops:?}:\n{d}")))?;
        }
        Ok(())
    });
    runtime.block_on(target.cleanup()).unwrap();
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(case.get(), u64::from(cases), "every case ran");
}
