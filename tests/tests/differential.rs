//! The simulated store against a real `redis-server`: random command sequences run on both,
//! and every reply must be identical. This is what keeps the engine's store honest.
//!
//! Differences that are not differences: `PTTL` may differ by the time between the two calls
//! (tolerance below); `HGETALL` order depends on Redis's encoding (compared as sets of pairs);
//! an error raised inside a script carries the script's location in Redis (compared by code).
//!
//! Streams have a second suite, of stream commands mixed with the others on shared keys. Time
//! enters streams twice. Idle times in the extended `XPENDING` differ like `PTTL` (same
//! tolerance); idle thresholds (`XCLAIM`, `XAUTOCLAIM`, `XPENDING IDLE`) are 0 or an hour, never
//! near a boundary. And `XADD *` takes its id from Redis's clock: the simulated store runs that
//! one command at the millisecond Redis's reply names (when it is within a tolerance of the
//! test's own clock; otherwise the id came from the stream's last id, not the clock) and the
//! replies must then be equal. Scripts add with `*` too, where no reply shows the id, so their
//! target stream is `q`, which every case seeds with an id far in the future: from there, `*`
//! continues the last id's sequence on both sides, whatever the clocks say. `BLOCK` appears only
//! with explicit ids, which Redis always serves at once.
//! The rate limiter's script takes its time as an argument here (`now`), never the server's clock.
//! Expiry: a sequence only uses lifetimes far longer than the sequence (seconds) or so short
//! (1–5 ms) that a 20 ms pause, always inserted right after, has certainly passed them — so no
//! comparison ever sits on an expiry boundary that a millisecond of jitter could move.

use std::time::Duration;

use distlab::server::LocalRedis;
use distlab::target::{Target, TargetSpec};
use distlab_engine::scenario::replay;
use distlab_engine::store::{
    Cmd, Keyspace, Reply, ScoreBound, ScriptName, SetCondition, SetExpiry, StreamId, XPendingRange,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Allowed difference between the two PTTL readings, in milliseconds.
const PTTL_TOLERANCE_MS: i64 = 250;
const PAUSE: Duration = Duration::from_millis(20);
/// How far Redis's clock, as an `XADD *` reply shows it, may be from the test's, in milliseconds.
const XADD_CLOCK_TOLERANCE_MS: i64 = 250;
/// An idle threshold no sequence reaches.
const HOUR_MS: i64 = 3_600_000;
/// The stream that scripts add to, seeded with this id by every case (far in the future).
const FUTURE_ID: &str = "99999999999999-0";

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
        (key(), field(), value()).prop_map(|(key, field, value)| Cmd::HSetNx { key, field, value }),
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
        rate_limit(),
    ]
}

/// One check of a distributed rate limiter at an explicit time (the server's own clock would
/// differ between the two stores). Its keys are its own, except that the hash-based algorithms
/// sometimes meet the other commands' keys (a wrong type, or a hash without the limiter's
/// fields); the sliding log's sorted set is never shared, since other commands would put
/// fractional scores in it.
fn rate_limit() -> impl Strategy<Value = Cmd> {
    let algorithm = prop_oneof![
        6 => prop_oneof![
            Just("fixed_window"),
            Just("sliding_window"),
            Just("token_bucket"),
            Just("leaky_bucket"),
            Just("gcra"),
        ],
        2 => Just("sliding_log"),
        1 => Just("leaky"),
    ];
    let number = |ok: &'static [&'static str], bad: &'static [&'static str]| prop_oneof![9 => proptest::sample::select(ok), 1 => proptest::sample::select(bad)];
    let limit = number(&["1", "2", "3", "7"], &["0", "x", "4503599627370497"]);
    let period = number(&["1000", "999", "333333", "1000000"], &["0", "-5", "1e3"]);
    let burst = number(&["1", "2", "5"], &["0", ""]);
    let now = prop_oneof![9 => (0u64..3_000_000).prop_map(|t| t.to_string()), 1 => Just("9007199254740993".to_owned())];
    let own = prop_oneof![Just("rl1"), Just("rl2")].prop_map(str::to_owned);
    (algorithm, prop_oneof![4 => own, 1 => key()], limit, period, burst, now).prop_map(
        |(algorithm, key, limit, period, burst, now)| {
            let key = if algorithm == "sliding_log" && !key.starts_with("rl") { "rl3".to_owned() } else { key };
            let args = vec![algorithm.to_owned(), limit.to_owned(), period.to_owned(), burst.to_owned(), now];
            Cmd::Script { script: ScriptName::RateLimit, keys: vec![key], args }
        },
    )
}

/// Stream keys: mostly streams of their own, sometimes a shared key (another type, or a stream
/// the other commands then meet), sometimes the seeded `q`.
fn stream_key() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => Just("s1".to_owned()),
        2 => Just("s2".to_owned()),
        1 => key(),
        1 => Just("q".to_owned()),
    ]
}

fn group() -> impl Strategy<Value = String> {
    prop_oneof![8 => Just("g1"), 2 => Just("g2"), 1 => Just("")].prop_map(str::to_owned)
}

fn consumer() -> impl Strategy<Value = String> {
    prop_oneof![Just("c1"), Just("c2"), Just("c3")].prop_map(str::to_owned)
}

/// Ids as `XADD` takes them: explicit mostly, `*`, `ms-*`, the edges and a few invalid ones.
fn add_id() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop_oneof![Just("1"), Just("1-1"), Just("2-0"), Just("2-*"), Just("3")],
        1 => prop_oneof![Just("0-1"), Just("5-2")],
        2 => Just("*"),
        1 => prop_oneof![
            Just("0"),
            Just("0-*"),
            Just("abc"),
            Just("-"),
            Just("1-x"),
            Just("007-1"),
            Just("99999999999999"),
            Just("18446744073709551615-18446744073709551615"),
        ],
    ]
    .prop_map(str::to_owned)
}

/// Stands for the group's first and last pending ids: the test resolves it on the simulated
/// store before the command runs (see [`resolve_pending`]).
const PENDING_FIRST: &str = "@first-pending";
const PENDING_LAST: &str = "@last-pending";

/// Ids of entries that may exist, for `XDEL`, `XACK`, `XCLAIM` and history reads.
fn entry_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop_oneof![Just(PENDING_FIRST), Just(PENDING_LAST)],
        8 => prop_oneof![Just("1-0"), Just("1-1"), Just("2-0"), Just("2-1"), Just("3-0")],
        1 => prop_oneof![Just("0-1"), Just("5-2")],
        1 => prop_oneof![Just("0"), Just("1"), Just("abc"), Just("+")],
        1 => prop_oneof![Just(FUTURE_ID), Just("99999999999999-1")],
    ]
    .prop_map(str::to_owned)
}

/// Range ends: `-`, `+`, partial and exclusive ids, and invalid ones.
fn range_end() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop_oneof![Just("-"), Just("+")],
        2 => prop_oneof![Just("0"), Just("1"), Just("1-1"), Just("2-0"), Just("3")],
        2 => prop_oneof![Just("(1"), Just("(1-0"), Just("(2-0")],
        1 => prop_oneof![Just("(+"), Just("(-"), Just("(0-0"), Just("abc"), Just("("), Just("99999999999999")],
    ]
    .prop_map(str::to_owned)
}

fn stream_count() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![3 => Just(None), 1 => prop_oneof![Just(0i64), Just(1), Just(2), Just(-1)].prop_map(Some)]
}

/// Idle thresholds: none, or never reached (see the module's comment), or negative.
fn min_idle_ms() -> impl Strategy<Value = i64> {
    prop_oneof![3 => Just(0i64), 1 => Just(HOUR_MS), 1 => Just(-5)]
}

fn maxlen() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![4 => Just(None), 1 => prop_oneof![Just(0i64), Just(1), Just(2), Just(-1)].prop_map(Some)]
}

/// `XREADGROUP` on mostly one stream, up to three, sometimes none (an error); `BLOCK` only
/// when every id is explicit.
fn xreadgroup() -> impl Strategy<Value = Cmd> {
    let read_id =
        prop_oneof![4 => Just(">".to_owned()), 2 => Just("0".to_owned()), 1 => entry_id(), 1 => Just("$".to_owned())];
    (
        group(),
        consumer(),
        stream_count(),
        prop_oneof![6 => Just(None), 1 => prop_oneof![Just(0i64), Just(50), Just(-1)].prop_map(Some)],
        prop_oneof![
            1 => Just(Vec::new()),
            8 => proptest::collection::vec((stream_key(), read_id.clone()), 1..2),
            2 => proptest::collection::vec((stream_key(), read_id), 2..4),
        ],
    )
        .prop_map(|(group, consumer, count, block_ms, streams)| {
            let explicit = streams.iter().all(|(_, id)| id != ">");
            Cmd::XReadGroup { group, consumer, count, block_ms: block_ms.filter(|_| explicit), streams }
        })
}

fn xpending() -> impl Strategy<Value = Cmd> {
    let range = (
        prop_oneof![2 => Just(None), 1 => prop_oneof![Just(0i64), Just(HOUR_MS), Just(-1)].prop_map(Some)],
        range_end(),
        range_end(),
        prop_oneof![Just(0i64), Just(1), Just(10), Just(-1)],
        proptest::option::of(consumer()),
    )
        .prop_map(|(min_idle_ms, start, end, count, consumer)| XPendingRange {
            min_idle_ms,
            start,
            end,
            count,
            consumer,
        });
    (stream_key(), group(), proptest::option::of(range)).prop_map(|(key, group, range)| Cmd::XPending {
        key,
        group,
        range,
    })
}

/// `XADD` with mostly one to two fields; no fields (an arity error) now and then.
fn xadd() -> impl Strategy<Value = Cmd> {
    let fields = prop_oneof![8 => proptest::collection::vec((field(), value()), 1..3), 1 => Just(Vec::new())];
    (stream_key(), proptest::bool::weighted(0.2), maxlen(), add_id(), fields)
        .prop_map(|(key, no_mkstream, maxlen, id, fields)| Cmd::XAdd { key, no_mkstream, maxlen, id, fields })
}

/// Lists of entry ids, sometimes empty (an arity error).
fn entry_ids() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![1 => Just(Vec::new()), 8 => proptest::collection::vec(entry_id(), 1..4)]
}

fn xclaim() -> impl Strategy<Value = Cmd> {
    (stream_key(), group(), consumer(), min_idle_ms(), entry_ids(), any::<bool>()).prop_map(
        |(key, group, consumer, min_idle_ms, ids, just_id)| Cmd::XClaim {
            key,
            group,
            consumer,
            min_idle_ms,
            ids,
            just_id,
        },
    )
}

fn xautoclaim() -> impl Strategy<Value = Cmd> {
    let count = prop_oneof![3 => Just(None), 1 => prop_oneof![Just(0i64), Just(1), Just(2)].prop_map(Some)];
    (stream_key(), group(), consumer(), min_idle_ms(), range_end(), count, any::<bool>()).prop_map(
        |(key, group, consumer, min_idle_ms, start, count, just_id)| Cmd::XAutoClaim {
            key,
            group,
            consumer,
            min_idle_ms,
            start,
            count,
            just_id,
        },
    )
}

fn xgroup() -> impl Strategy<Value = Cmd> {
    let start = prop_oneof![Just("$"), Just("0"), Just("1-0"), Just("-"), Just("abc"), Just(FUTURE_ID)];
    prop_oneof![
        3 => (stream_key(), group(), start, any::<bool>()).prop_map(|(key, group, id, mkstream)| {
            Cmd::XGroupCreate { key, group, id: id.to_owned(), mkstream }
        }),
        1 => (stream_key(), group()).prop_map(|(key, group)| Cmd::XGroupDestroy { key, group }),
        1 => (stream_key(), group(), consumer())
            .prop_map(|(key, group, consumer)| Cmd::XGroupCreateConsumer { key, group, consumer }),
        1 => (stream_key(), group(), consumer())
            .prop_map(|(key, group, consumer)| Cmd::XGroupDelConsumer { key, group, consumer }),
    ]
}

/// Delayed messages in `z` (scores are due times: long past, or far in the future), `mq_promote`
/// moving the due ones into `q` by the server's clock, and `mq_publish` publishing batches of up
/// to three messages into `q` or delaying them into `z2` (whose scores, the server's clock plus
/// the delay, nothing reads), sometimes an empty or malformed batch, sometimes with a write that
/// fails midway; the delayed set is sometimes a shared key.
fn delayed() -> impl Strategy<Value = Cmd> {
    let due = prop_oneof![Just(0.0), Just(5.0), Just(50.0), Just(200.0), Just(1e15)];
    let limit =
        prop_oneof![4 => prop_oneof![Just("1"), Just("10")], 1 => prop_oneof![Just("0"), Just("007"), Just("-1")]];
    let delay = prop_oneof![4 => prop_oneof![Just("0"), Just("100000")], 1 => prop_oneof![Just("1.5"), Just("-1")]];
    let id = prop_oneof![Just("1"), Just("2"), Just("3")];
    prop_oneof![
        (proptest::collection::vec((due, member()), 1..3))
            .prop_map(|members| Cmd::ZAdd { key: "z".to_owned(), members }),
        (prop_oneof![4 => Just("z".to_owned()), 1 => key()], limit).prop_map(|(delayed, limit)| {
            Cmd::Script {
                script: ScriptName::MqPromote,
                keys: vec![delayed, "q".to_owned()],
                args: vec![limit.to_owned()],
            }
        }),
        (
            prop_oneof![4 => Just("pub".to_owned()), 1 => key()],
            prop_oneof![6 => Just(0), 1 => Just(1), 1 => Just(2)],
            proptest::collection::vec((id, value(), delay), 0..4),
            proptest::bool::weighted(0.05)
        )
            .prop_map(|(published, clash, triples, odd)| {
                // The stream or the delayed set as the published ids' own hash: a write that
                // fails after its id was marked (and must be unmarked).
                let stream = if clash == 1 { published.clone() } else { "q".to_owned() };
                let delayed = if clash == 2 { published.clone() } else { "z2".to_owned() };
                let mut args: Vec<String> =
                    triples.into_iter().flat_map(|(id, body, delay)| [id.to_owned(), body, delay.to_owned()]).collect();
                if odd {
                    args.pop();
                }
                Cmd::Script { script: ScriptName::MqPublish, keys: vec![published, stream, delayed], args }
            }),
    ]
}

/// `mq_dead_letter` from any stream into `q`.
fn dead_letter() -> impl Strategy<Value = Cmd> {
    (stream_key(), group(), entry_id(), value()).prop_map(|(stream, group, id, error)| Cmd::Script {
        script: ScriptName::MqDeadLetter,
        keys: vec![stream, "q".to_owned()],
        args: vec![group, id, error],
    })
}

/// `mq_settle` of up to three deliveries of a stream (pending ones often, by their stand-ins),
/// each with a message id, deduplicated or not, into the effects `e0` (HSETNX or HINCRBY);
/// sometimes malformed.
fn settle() -> impl Strategy<Value = Cmd> {
    let dedup = prop_oneof![4 => Just("1"), 2 => Just("0"), 1 => Just("2")];
    let pairs = proptest::collection::vec((entry_id(), prop_oneof![Just("7"), Just("8")]), 0..4);
    (stream_key(), group(), dedup, pairs, proptest::bool::weighted(0.05)).prop_map(
        |(stream, group, dedup, pairs, odd)| {
            let mut args = vec![group, dedup.to_owned()];
            args.extend(pairs.into_iter().flat_map(|(entry, id)| [entry, id.to_owned()]));
            if odd {
                args.pop();
            }
            Cmd::Script { script: ScriptName::MqSettle, keys: vec![stream, "e0".to_owned()], args }
        },
    )
}

fn stream_cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        7 => xadd(),
        1 => stream_key().prop_map(|key| Cmd::XLen { key }),
        3 => (stream_key(), range_end(), range_end(), stream_count())
            .prop_map(|(key, start, end, count)| Cmd::XRange { key, start, end, count }),
        1 => (stream_key(), entry_ids()).prop_map(|(key, ids)| Cmd::XDel { key, ids }),
        1 => (stream_key(), prop_oneof![Just(0i64), Just(1), Just(2), Just(-1)])
            .prop_map(|(key, maxlen)| Cmd::XTrim { key, maxlen }),
        6 => xgroup(),
        5 => xreadgroup(),
        2 => (stream_key(), group(), entry_ids()).prop_map(|(key, group, ids)| Cmd::XAck { key, group, ids }),
        3 => xpending(),
        2 => xclaim(),
        2 => xautoclaim(),
        4 => delayed(),
        2 => dead_letter(),
        2 => settle(),
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

fn sequence(cmds: impl Strategy<Value = Cmd>, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec((cmds, any::<bool>()), len).prop_map(|cmds| {
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

/// The engine's own judgement of two answers (`scenario::replay`), with this test's tolerance.
fn same(cmd: &Cmd, sim: Reply, real: Reply) -> Result<(), String> {
    if replay::same_reply_within(cmd, &sim, &real, PTTL_TOLERANCE_MS) {
        Ok(())
    } else {
        Err(format!("{cmd}\n  simulated: {sim:?}\n  real Redis: {real:?}"))
    }
}

/// `cmd` with the ids that stand for pending ones ([`PENDING_FIRST`], [`PENDING_LAST`]) replaced
/// by the group's first and last pending ids in the simulated store (`0-1` when there are none),
/// so that acknowledgements, claims and dead letters meet entries that are pending. The lookup
/// is a read, and the real store holds the same state (or the case has failed already).
fn resolve_pending(sim: &mut Keyspace, cmd: &Cmd) -> Cmd {
    let mut cmd = cmd.clone();
    let (key, group, ids): (String, String, Vec<&mut String>) = match &mut cmd {
        Cmd::XAck { key, group, ids } | Cmd::XClaim { key, group, ids, .. } => {
            (key.clone(), group.clone(), ids.iter_mut().collect())
        }
        Cmd::Script { script: ScriptName::MqDeadLetter, keys, args } => {
            let (group, id) = args.split_at_mut(1);
            (keys[0].clone(), group[0].clone(), id.iter_mut().take(1).collect())
        }
        Cmd::Script { script: ScriptName::MqSettle, keys, args } if args.len() >= 2 => {
            let group = args[0].clone();
            (keys[0].clone(), group, args.iter_mut().skip(2).step_by(2).collect())
        }
        _ => return cmd,
    };
    let summary = sim.apply(unix_ms(), &Cmd::XPending { key, group, range: None });
    let (first, last) = match &summary {
        Reply::Array(s) if matches!(s.first(), Some(Reply::Int(n)) if *n > 0) => (s[1].clone(), s[2].clone()),
        _ => (Reply::Bulk("0-1".to_owned()), Reply::Bulk("0-1".to_owned())),
    };
    for id in ids {
        let stand_in = match id.as_str() {
            PENDING_FIRST => &first,
            PENDING_LAST => &last,
            _ => continue,
        };
        if let Reply::Bulk(pending) = stand_in {
            pending.clone_into(id);
        }
    }
    cmd
}

/// The clock the simulated store runs `cmd` on, given Redis's reply: the test's own, except
/// for an `XADD *` whose id Redis took from its clock (see the module's comment).
fn sim_clock_ms(cmd: &Cmd, real: &Reply) -> i64 {
    let own = unix_ms();
    let (Cmd::XAdd { id, .. }, Reply::Bulk(added)) = (cmd, real) else { return own };
    match StreamId::try_from(added.clone()).map(|added| i64::try_from(added.ms)) {
        Ok(Ok(ms)) if id == "*" && (ms - own).abs() <= XADD_CLOCK_TOLERANCE_MS => ms,
        _ => own,
    }
}

#[test]
fn the_simulated_store_answers_like_redis() {
    differential(sequence(cmd(), 1..25), &[]);
}

/// Long runs of rate-limiter checks alone, so that every algorithm's state gets deep (a full
/// sliding log, a bucket drained and refilled, a queue at its bound) as well as wrong.
#[test]
fn the_rate_limit_script_answers_like_redis() {
    differential(sequence(rate_limit(), 1..60), &[]);
}

/// Streams and consumer groups, with the other commands on the shared keys (a stream meets
/// `GET`, a hash meets `XADD`) and the message-queue scripts. Every case starts with the seeded
/// `q` and a stream `s1` of two entries, each with a group `g1`, which has delivered `s1`'s
/// first entry to `c1`: sequences reach deliveries, pending entries and claims at once; `s2`,
/// the delayed messages `z` and the shared keys start missing.
#[test]
fn the_simulated_streams_answer_like_redis() {
    let s = str::to_owned;
    let setup = [
        Cmd::XAdd {
            key: s("q"),
            no_mkstream: false,
            maxlen: None,
            id: s(FUTURE_ID),
            fields: vec![(s("seed"), s("1"))],
        },
        Cmd::XGroupCreate { key: s("q"), group: s("g1"), id: s("0"), mkstream: false },
        Cmd::XAdd { key: s("s1"), no_mkstream: false, maxlen: None, id: s("1-0"), fields: vec![(s("f1"), s("1"))] },
        Cmd::XAdd { key: s("s1"), no_mkstream: false, maxlen: None, id: s("2-0"), fields: vec![(s("f1"), s("2"))] },
        Cmd::XGroupCreate { key: s("s1"), group: s("g1"), id: s("0"), mkstream: false },
        Cmd::XReadGroup {
            group: s("g1"),
            consumer: s("c1"),
            count: Some(1),
            block_ms: None,
            streams: vec![(s("s1"), s(">"))],
        },
    ];
    differential(sequence(prop_oneof![5 => stream_cmd(), 1 => cmd()], 1..50), &setup);
}

/// Runs every sequence `sequences` draws on a fresh simulated store and on the real server
/// (its keys deleted first), after the `setup` commands, comparing every reply.
fn differential(sequences: impl Strategy<Value = Vec<Op>>, setup: &[Cmd]) {
    let server = LocalRedis::start().expect("the differential tests need redis-server (cargo xtask test installs it)");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = runtime.block_on(Target::connect(&TargetSpec::Redis(server.url()))).unwrap();
    let backend = target.primary();
    // At least 500 sequences; `DISTLAB_DIFFERENTIAL_CASES=20000` for a deeper soak.
    let cases =
        std::env::var("DISTLAB_DIFFERENTIAL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500u32).max(500);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let case = std::cell::Cell::new(0u64);
    let result = runner.run(&sequences, |ops| {
        case.set(case.get() + 1);
        let mut sim = Keyspace::new();
        // Each case starts from an empty namespace on the real server.
        let keys: Vec<String> = ["a", "b", "c", "d", "s1", "s2", "q", "z", "z2", "pub", "e0", "rl1", "rl2", "rl3"]
            .map(str::to_owned)
            .to_vec();
        runtime.block_on(backend.exec(&Cmd::Del { keys })).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let steps = setup.iter().cloned().map(Op::Cmd).map(|op| ("setup", op)).enumerate();
        let steps = steps.chain(ops.iter().cloned().map(|op| ("step", op)).enumerate());
        for (i, (kind, op)) in steps {
            let Op::Cmd(cmd) = op else {
                std::thread::sleep(PAUSE);
                continue;
            };
            let cmd = &resolve_pending(&mut sim, &cmd);
            let real = runtime.block_on(backend.exec(cmd)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let simulated = sim.apply(sim_clock_ms(cmd, &real), cmd);
            same(cmd, simulated, real).map_err(|d| TestCaseError::fail(format!("{kind} {i} of {ops:?}:\n{d}")))?;
        }
        Ok(())
    });
    runtime.block_on(target.cleanup()).unwrap();
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(case.get(), u64::from(cases), "every case ran");
}
