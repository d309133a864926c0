//! The store against Redis's documented behaviour, command by command, plus properties.

use proptest::prelude::*;

use super::*;
use crate::sim::SimTime;

fn s(v: &str) -> String {
    v.to_owned()
}
fn bulk(v: &str) -> Reply {
    Reply::Bulk(s(v))
}
fn get(k: &str) -> Cmd {
    Cmd::Get { key: s(k) }
}
fn set(k: &str, v: &str) -> Cmd {
    Cmd::Set { key: s(k), value: s(v), condition: None, expiry: None, get: false }
}
fn set_with(k: &str, v: &str, condition: Option<SetCondition>, expiry: Option<SetExpiry>, get: bool) -> Cmd {
    Cmd::Set { key: s(k), value: s(v), condition, expiry, get }
}
fn pttl(k: &str) -> Cmd {
    Cmd::PTtl { key: s(k) }
}
fn hset(k: &str, fields: &[(&str, &str)]) -> Cmd {
    Cmd::HSet { key: s(k), fields: fields.iter().map(|(f, v)| (s(f), s(v))).collect() }
}
fn zadd(k: &str, members: &[(f64, &str)]) -> Cmd {
    Cmd::ZAdd { key: s(k), members: members.iter().map(|(sc, m)| (*sc, s(m))).collect() }
}
fn zrange(k: &str, min: ScoreBound, max: ScoreBound) -> Cmd {
    Cmd::ZRangeByScore { key: s(k), min, max, with_scores: false, limit: None }
}
fn members(names: &[&str]) -> Reply {
    Reply::Array(names.iter().map(|n| bulk(n)).collect())
}

#[test]
fn set_and_get_strings() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &get("a")), Reply::Nil);
    assert_eq!(ks.apply(0, &set("a", "1")), Reply::ok());
    assert_eq!(ks.apply(0, &get("a")), bulk("1"));
    assert_eq!(ks.apply(0, &set("a", "2")), Reply::ok(), "SET overwrites");
    assert_eq!(ks.apply(0, &get("a")), bulk("2"));
}

#[test]
fn set_nx_only_sets_a_missing_key() {
    let mut ks = Keyspace::new();
    let nx = |v| set_with("lock", v, Some(SetCondition::Nx), None, false);
    assert_eq!(ks.apply(0, &nx("a")), Reply::ok());
    assert_eq!(ks.apply(0, &nx("b")), Reply::Nil, "NX on an existing key is refused with nil");
    assert_eq!(ks.apply(0, &get("lock")), bulk("a"));
}

#[test]
fn set_xx_only_sets_an_existing_key() {
    let mut ks = Keyspace::new();
    let xx = |v| set_with("k", v, Some(SetCondition::Xx), None, false);
    assert_eq!(ks.apply(0, &xx("a")), Reply::Nil, "XX on a missing key is refused with nil");
    assert_eq!(ks.apply(0, &get("k")), Reply::Nil);
    ks.apply(0, &set("k", "old"));
    assert_eq!(ks.apply(0, &xx("new")), Reply::ok());
    assert_eq!(ks.apply(0, &get("k")), bulk("new"));
}

#[test]
fn set_get_returns_the_old_value_even_when_the_condition_blocks() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &set_with("k", "v1", None, None, true)), Reply::Nil);
    assert_eq!(ks.apply(0, &set_with("k", "v2", None, None, true)), bulk("v1"));
    assert_eq!(ks.apply(0, &set_with("k", "v3", Some(SetCondition::Nx), None, true)), bulk("v2"));
    assert_eq!(ks.apply(0, &get("k")), bulk("v2"), "NX blocked the write");
    ks.apply(0, &hset("h", &[("f", "v")]));
    assert_eq!(ks.apply(0, &set_with("h", "x", None, None, true)), Reply::err(WRONGTYPE));
    assert_eq!(ks.apply(0, &Cmd::HGet { key: s("h"), field: s("f") }), bulk("v"), "nothing was set");
    assert_eq!(ks.apply(0, &set("h", "x")), Reply::ok(), "plain SET replaces any type");
}

#[test]
fn px_expiry_boundary_follows_redis() {
    // Redis keeps a key while now <= when and deletes it once now > when (db.c, keyIsExpired).
    let mut ks = Keyspace::new();
    let px = set_with("k", "v", None, Some(SetExpiry::Px(100)), false);
    assert_eq!(ks.apply(1_000, &px), Reply::ok());
    assert_eq!(ks.apply(1_099, &pttl("k")), Reply::Int(1));
    assert_eq!(ks.apply(1_099, &get("k")), bulk("v"), "present before its expiry");
    assert_eq!(ks.apply(1_100, &pttl("k")), Reply::Int(0), "at its expiry millisecond PTTL is 0");
    assert_eq!(ks.apply(1_100, &get("k")), bulk("v"));
    assert_eq!(ks.apply(1_101, &get("k")), Reply::Nil, "gone once the expiry has passed");
    assert_eq!(ks.apply(1_101, &pttl("k")), Reply::Int(-2));
    assert_eq!(ks.apply(1_101, &Cmd::Exists { keys: vec![s("k")] }), Reply::Int(0));
}

#[test]
fn ex_is_seconds_and_plain_set_clears_the_ttl() {
    let mut ks = Keyspace::new();
    ks.apply(0, &set_with("k", "v", None, Some(SetExpiry::Ex(2)), false));
    assert_eq!(ks.apply(500, &pttl("k")), Reply::Int(1_500));
    ks.apply(500, &set("k", "w"));
    assert_eq!(ks.apply(500, &pttl("k")), Reply::Int(-1));
    assert_eq!(ks.apply(10_000, &get("k")), bulk("w"));
}

#[test]
fn invalid_expire_times_are_rejected() {
    let mut ks = Keyspace::new();
    let err = Reply::Error(s("ERR invalid expire time in 'set' command"));
    for e in [SetExpiry::Px(0), SetExpiry::Px(-5), SetExpiry::Ex(0), SetExpiry::Ex(i64::MAX / 10)] {
        assert_eq!(ks.apply(0, &set_with("k", "v", None, Some(e), false)), err, "{e:?}");
    }
    assert_eq!(ks.apply(0, &get("k")), Reply::Nil);
    assert_eq!(
        ks.apply(5, &Cmd::PExpire { key: s("k"), ms: i64::MAX }),
        Reply::Error(s("ERR invalid expire time in 'pexpire' command"))
    );
}

#[test]
fn pexpire_sets_replaces_and_deletes_in_the_past() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &Cmd::PExpire { key: s("k"), ms: 100 }), Reply::Int(0), "missing key");
    ks.apply(0, &set("k", "v"));
    assert_eq!(ks.apply(0, &Cmd::PExpire { key: s("k"), ms: 100 }), Reply::Int(1));
    assert_eq!(ks.apply(40, &pttl("k")), Reply::Int(60));
    assert_eq!(ks.apply(40, &Cmd::PExpire { key: s("k"), ms: 1_000 }), Reply::Int(1));
    assert_eq!(ks.apply(40, &pttl("k")), Reply::Int(1_000));
    assert_eq!(ks.apply(50, &Cmd::PExpire { key: s("k"), ms: 0 }), Reply::Int(1), "deletes");
    assert_eq!(ks.apply(50, &get("k")), Reply::Nil);
}

#[test]
fn pttl_distinguishes_missing_and_persistent_keys() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &pttl("nope")), Reply::Int(-2));
    ks.apply(0, &set("k", "v"));
    assert_eq!(ks.apply(0, &pttl("k")), Reply::Int(-1));
}

#[test]
fn del_and_exists_count_keys() {
    let mut ks = Keyspace::new();
    ks.apply(0, &set("a", "1"));
    ks.apply(0, &set("b", "2"));
    let keys = |ks: &[&str]| ks.iter().map(|k| s(k)).collect::<Vec<_>>();
    assert_eq!(ks.apply(0, &Cmd::Exists { keys: keys(&["a", "a", "c"]) }), Reply::Int(2), "repeats count");
    assert_eq!(ks.apply(0, &Cmd::Del { keys: keys(&["a", "c", "a"]) }), Reply::Int(1));
    assert_eq!(ks.apply(0, &Cmd::Exists { keys: keys(&["a", "b"]) }), Reply::Int(1));
    assert_eq!(
        ks.apply(0, &Cmd::Del { keys: vec![] }),
        Reply::Error(s("ERR wrong number of arguments for 'del' command"))
    );
}

#[test]
fn incr_counts_and_rejects_non_integers() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &Cmd::Incr { key: s("n") }), Reply::Int(1), "a missing key counts from 0");
    assert_eq!(ks.apply(0, &Cmd::IncrBy { key: s("n"), delta: 41 }), Reply::Int(42));
    assert_eq!(ks.apply(0, &Cmd::IncrBy { key: s("n"), delta: -50 }), Reply::Int(-8));
    assert_eq!(ks.apply(0, &get("n")), bulk("-8"));
    for bad in ["abc", "1.5", " 1", "+1", "007", ""] {
        ks.apply(0, &set("x", bad));
        assert_eq!(ks.apply(0, &Cmd::Incr { key: s("x") }), Reply::err(NOT_AN_INTEGER), "{bad:?}");
        assert_eq!(ks.apply(0, &get("x")), bulk(bad), "the value is unchanged");
    }
    ks.apply(0, &set("max", &i64::MAX.to_string()));
    assert_eq!(ks.apply(0, &Cmd::Incr { key: s("max") }), Reply::err(OVERFLOW));
    ks.apply(0, &hset("h", &[("f", "1")]));
    assert_eq!(ks.apply(0, &Cmd::Incr { key: s("h") }), Reply::err(WRONGTYPE));
}

#[test]
fn incr_keeps_the_ttl() {
    let mut ks = Keyspace::new();
    ks.apply(0, &set_with("n", "5", None, Some(SetExpiry::Px(1_000)), false));
    ks.apply(100, &Cmd::Incr { key: s("n") });
    assert_eq!(ks.apply(100, &pttl("n")), Reply::Int(900));
    assert_eq!(ks.apply(1_001, &Cmd::Incr { key: s("n") }), Reply::Int(1), "after expiry it starts over");
}

#[test]
fn hashes_set_get_delete_and_count() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &hset("h", &[("a", "1"), ("b", "2"), ("a", "3")])), Reply::Int(2));
    assert_eq!(ks.apply(0, &hset("h", &[("b", "4"), ("c", "5")])), Reply::Int(1), "only new fields count");
    assert_eq!(ks.apply(0, &Cmd::HGet { key: s("h"), field: s("a") }), bulk("3"));
    assert_eq!(ks.apply(0, &Cmd::HGet { key: s("h"), field: s("z") }), Reply::Nil);
    assert_eq!(ks.apply(0, &Cmd::HGet { key: s("nope"), field: s("a") }), Reply::Nil);
    assert_eq!(ks.apply(0, &Cmd::HGetAll { key: s("h") }), members(&["a", "3", "b", "4", "c", "5"]));
    assert_eq!(ks.apply(0, &Cmd::HGetAll { key: s("nope") }), Reply::Array(vec![]));
    assert_eq!(ks.apply(0, &Cmd::HDel { key: s("h"), fields: vec![s("a"), s("z")] }), Reply::Int(1));
    assert_eq!(ks.apply(0, &Cmd::HDel { key: s("h"), fields: vec![s("b"), s("c")] }), Reply::Int(2));
    assert_eq!(ks.apply(0, &Cmd::Exists { keys: vec![s("h")] }), Reply::Int(0), "an empty hash is deleted");
    assert_eq!(ks.apply(0, &hset("h", &[])), Reply::Error(s("ERR wrong number of arguments for 'hset' command")));
}

#[test]
fn hsetnx_sets_a_field_only_once() {
    let mut ks = Keyspace::new();
    let hsetnx = |k: &str, f: &str, v: &str| Cmd::HSetNx { key: s(k), field: s(f), value: s(v) };
    assert_eq!(ks.apply(0, &hsetnx("h", "f", "1")), Reply::Int(1), "a new hash and field");
    assert_eq!(ks.apply(0, &hsetnx("h", "f", "2")), Reply::Int(0), "present: left alone");
    assert_eq!(ks.apply(0, &Cmd::HGet { key: s("h"), field: s("f") }), Reply::Bulk(s("1")));
    assert_eq!(ks.apply(0, &hsetnx("h", "g", "")), Reply::Int(1), "another field of the same hash");
    ks.apply(0, &set("str", "1"));
    assert_eq!(ks.apply(0, &hsetnx("str", "f", "1")), Reply::err(WRONGTYPE));
    assert_eq!(ks.apply(0, &Cmd::PExpire { key: s("h"), ms: 10 }), Reply::Int(1));
    assert_eq!(ks.apply(20, &hsetnx("h", "f", "3")), Reply::Int(1), "an expired hash is a new one");
    assert_eq!(ks.apply(20, &Cmd::PTtl { key: s("h") }), Reply::Int(-1));
}

#[test]
fn hincrby_counts_fields_and_rejects_non_integers() {
    let mut ks = Keyspace::new();
    let hincr = |f: &str, d| Cmd::HIncrBy { key: s("h"), field: s(f), delta: d };
    assert_eq!(ks.apply(0, &hincr("n", 5)), Reply::Int(5));
    assert_eq!(ks.apply(0, &hincr("n", -7)), Reply::Int(-2));
    ks.apply(0, &hset("h", &[("s", "x")]));
    assert_eq!(ks.apply(0, &hincr("s", 1)), Reply::err(HASH_NOT_AN_INTEGER));
    ks.apply(0, &hset("h", &[("big", &i64::MAX.to_string())]));
    assert_eq!(ks.apply(0, &hincr("big", 1)), Reply::err(OVERFLOW));
    ks.apply(0, &set("str", "1"));
    assert_eq!(ks.apply(0, &Cmd::HIncrBy { key: s("str"), field: s("f"), delta: 1 }), Reply::err(WRONGTYPE));
}

#[test]
fn sorted_sets_order_by_score_then_member() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &zadd("z", &[(2.0, "b"), (1.0, "c"), (2.0, "a"), (3.5, "d")])), Reply::Int(4));
    assert_eq!(ks.apply(0, &zadd("z", &[(0.5, "d"), (9.0, "e")])), Reply::Int(1), "d is updated, e added");
    assert_eq!(ks.apply(0, &zrange("z", ScoreBound::NegInf, ScoreBound::PosInf)), members(&["d", "c", "a", "b", "e"]));
    assert_eq!(
        ks.apply(0, &zrange("z", ScoreBound::Exclusive(1.0), ScoreBound::Inclusive(9.0))),
        members(&["a", "b", "e"])
    );
    assert_eq!(ks.apply(0, &zrange("z", ScoreBound::Inclusive(5.0), ScoreBound::Inclusive(1.0))), members(&[]));
    let with_scores = Cmd::ZRangeByScore {
        key: s("z"),
        min: ScoreBound::NegInf,
        max: ScoreBound::Inclusive(1.0),
        with_scores: true,
        limit: None,
    };
    assert_eq!(ks.apply(0, &with_scores), members(&["d", "0.5", "c", "1"]));
    ks.apply(0, &zadd("neg", &[(-0.0, "zero")]));
    let neg = Cmd::ZRangeByScore {
        key: s("neg"),
        min: ScoreBound::NegInf,
        max: ScoreBound::PosInf,
        with_scores: true,
        limit: None,
    };
    assert_eq!(ks.apply(0, &neg), members(&["zero", "0"]), "Redis stores -0 as 0");
    let limited = |offset, count| Cmd::ZRangeByScore {
        key: s("z"),
        min: ScoreBound::NegInf,
        max: ScoreBound::PosInf,
        with_scores: false,
        limit: Some((offset, count)),
    };
    assert_eq!(ks.apply(0, &limited(1, 2)), members(&["c", "a"]));
    assert_eq!(ks.apply(0, &limited(3, -1)), members(&["b", "e"]), "a negative count means all");
    assert_eq!(ks.apply(0, &limited(-1, 2)), members(&[]), "a negative offset gives nothing");
    assert_eq!(ks.apply(0, &Cmd::ZRem { key: s("z"), members: vec![s("a"), s("x")] }), Reply::Int(1));
    assert_eq!(ks.apply(0, &zadd("z", &[(f64::NAN, "n")])), Reply::Error(s("ERR value is not a valid float")));
    ks.apply(0, &set("str", "1"));
    assert_eq!(ks.apply(0, &zadd("str", &[(1.0, "m")])), Reply::err(WRONGTYPE));
    assert_eq!(ks.apply(0, &zrange("str", ScoreBound::NegInf, ScoreBound::PosInf)), Reply::err(WRONGTYPE));
}

#[test]
fn infinite_bounds_are_inclusive_like_redis() {
    // Found by the differential suite: ZRANGEBYSCORE a -inf -inf returns a member scored -inf.
    let mut ks = Keyspace::new();
    ks.apply(0, &zadd("z", &[(f64::NEG_INFINITY, "low"), (0.0, "mid"), (f64::INFINITY, "high")]));
    assert_eq!(ks.apply(0, &zrange("z", ScoreBound::NegInf, ScoreBound::NegInf)), members(&["low"]));
    assert_eq!(ks.apply(0, &zrange("z", ScoreBound::PosInf, ScoreBound::PosInf)), members(&["high"]));
    assert_eq!(ks.apply(0, &zrange("z", ScoreBound::Exclusive(0.0), ScoreBound::PosInf)), members(&["high"]));
    assert_eq!(ks.apply(0, &zrange("z", ScoreBound::PosInf, ScoreBound::NegInf)), members(&[]));
}

#[test]
fn wrong_type_access_is_refused_everywhere() {
    let mut ks = Keyspace::new();
    ks.apply(0, &set("str", "v"));
    ks.apply(0, &hset("hash", &[("f", "v")]));
    ks.apply(0, &zadd("zset", &[(1.0, "m")]));
    let wrong = [
        get("hash"),
        get("zset"),
        Cmd::HGet { key: s("str"), field: s("f") },
        Cmd::HGetAll { key: s("zset") },
        Cmd::HDel { key: s("str"), fields: vec![s("f")] },
        hset("zset", &[("f", "v")]),
        Cmd::ZRem { key: s("hash"), members: vec![s("m")] },
        Cmd::IncrBy { key: s("zset"), delta: 1 },
    ];
    for cmd in wrong {
        assert_eq!(ks.apply(0, &cmd), Reply::err(WRONGTYPE), "{cmd}");
    }
    assert_eq!(ks.apply(0, &Cmd::Del { keys: vec![s("hash"), s("zset")] }), Reply::Int(2), "DEL takes any type");
}

#[test]
fn compare_and_delete_only_deletes_the_owners_value() {
    let mut ks = Keyspace::new();
    let cad =
        |token: &str| Cmd::Script { script: ScriptName::CompareAndDelete, keys: vec![s("lock")], args: vec![s(token)] };
    assert_eq!(ks.apply(0, &cad("t1")), Reply::Int(0), "missing key");
    ks.apply(0, &set("lock", "t1"));
    assert_eq!(ks.apply(0, &cad("t2")), Reply::Int(0), "someone else's lock");
    assert_eq!(ks.apply(0, &get("lock")), bulk("t1"));
    assert_eq!(ks.apply(0, &cad("t1")), Reply::Int(1));
    assert_eq!(ks.apply(0, &get("lock")), Reply::Nil);
    ks.apply(0, &hset("h", &[("f", "v")]));
    let on_hash = Cmd::Script { script: ScriptName::CompareAndDelete, keys: vec![s("h")], args: vec![s("t")] };
    assert_eq!(ks.apply(0, &on_hash).error_code(), Some("WRONGTYPE"));
}

#[test]
fn compare_and_pexpire_only_extends_the_owners_lease() {
    let mut ks = Keyspace::new();
    let cap = |token: &str, ms: &str| Cmd::Script {
        script: ScriptName::CompareAndPExpire,
        keys: vec![s("lock")],
        args: vec![s(token), s(ms)],
    };
    ks.apply(0, &set_with("lock", "t1", None, Some(SetExpiry::Px(100)), false));
    assert_eq!(ks.apply(50, &cap("t2", "1000")), Reply::Int(0));
    assert_eq!(ks.apply(50, &pttl("lock")), Reply::Int(50));
    assert_eq!(ks.apply(50, &cap("t1", "1000")), Reply::Int(1));
    assert_eq!(ks.apply(50, &pttl("lock")), Reply::Int(1_000));
    assert_eq!(ks.apply(60, &cap("t1", "soon")), Reply::err(NOT_AN_INTEGER));
    assert_eq!(ks.apply(2_000, &cap("t1", "1000")), Reply::Int(0), "an expired lock is not extended");
    let short = Cmd::Script { script: ScriptName::CompareAndPExpire, keys: vec![s("lock")], args: vec![s("t1")] };
    assert_eq!(ks.apply(0, &short).error_code(), Some("ERR"));
}

#[test]
fn scripts_keep_their_lua_beside_them() {
    for script in ScriptName::ALL {
        let lua = script.lua();
        assert!(lua.contains("redis.call(") && lua.contains("KEYS[1]"), "{}", script.as_str());
        assert!(lua.contains(script.as_str()), "the Lua file names its script");
        assert!(lua.contains(&format!("ScriptName::{script:?}")), "the Lua file names its Rust twin");
    }
}

#[test]
fn acquire_fenced_grants_once_with_strictly_increasing_tokens() {
    let mut ks = Keyspace::new();
    let acquire = |owner: &str, lease: &str| Cmd::Script {
        script: ScriptName::AcquireFenced,
        keys: vec![s("{l}"), s("{l}:fence")],
        args: vec![s(owner), s(lease)],
    };
    assert_eq!(ks.apply(0, &acquire("a", "100")), Reply::Int(1));
    assert_eq!(ks.apply(50, &acquire("b", "100")), Reply::Int(0), "held: no token");
    assert_eq!(ks.apply(50, &get("{l}")), bulk("a"));
    assert_eq!(ks.apply(101, &acquire("b", "100")), Reply::Int(2), "after the lease, the next token");
    assert_eq!(ks.apply(101, &pttl("{l}")), Reply::Int(100));
    assert_eq!(ks.apply(500, &acquire("c", "soon")), Reply::err(NOT_AN_INTEGER));
    assert_eq!(ks.apply(500, &acquire("c", "0")), Reply::Error(s("ERR invalid expire time in 'set' command")));
    ks.apply(500, &hset("{m}:fence", &[("f", "v")]));
    let wrong = Cmd::Script {
        script: ScriptName::AcquireFenced,
        keys: vec![s("{m}"), s("{m}:fence")],
        args: vec![s("x"), s("100")],
    };
    assert_eq!(ks.apply(500, &wrong).error_code(), Some("WRONGTYPE"));
}

fn rw(script: ScriptName, owner: &str, lease: &str, mode: Option<&str>) -> Cmd {
    let mut args = vec![s(owner), s(lease)];
    args.extend(mode.map(s));
    Cmd::Script { script, keys: vec![s("rw")], args }
}

#[test]
fn a_reentrant_hold_is_released_as_many_times_as_it_was_taken() {
    let mut ks = Keyspace::new();
    let write = |owner: &str| rw(ScriptName::RwAcquire, owner, "100", Some("write"));
    let release = |owner: &str| rw(ScriptName::RwRelease, owner, "100", None);
    assert_eq!(ks.apply(0, &write("a")), Reply::Int(1));
    assert_eq!(ks.apply(10, &write("a")), Reply::Int(2), "the owner re-enters");
    assert_eq!(ks.apply(10, &write("b")), Reply::Int(0), "anyone else waits");
    assert_eq!(ks.apply(10, &rw(ScriptName::RwAcquire, "b", "100", Some("read"))), Reply::Int(0));
    assert_eq!(ks.apply(20, &release("b")), Reply::Int(-1), "b holds nothing and changes nothing");
    assert_eq!(ks.apply(20, &release("a")), Reply::Int(1), "one hold left");
    assert_eq!(ks.apply(20, &pttl("rw")), Reply::Int(100), "and its lease set again");
    assert_eq!(ks.apply(20, &write("b")), Reply::Int(0), "still held after the first release");
    assert_eq!(ks.apply(30, &release("a")), Reply::Int(0));
    assert_eq!(ks.apply(30, &Cmd::Exists { keys: vec![s("rw")] }), Reply::Int(0), "the last release deletes");
    assert_eq!(ks.apply(30, &write("b")), Reply::Int(1));
    assert_eq!(ks.apply(131, &write("c")), Reply::Int(1), "a lease that ran out frees the lock");
    assert_eq!(ks.apply(131, &release("b")), Reply::Int(-1), "the expired holder cannot release c's hold");
}

#[test]
fn readers_share_and_a_writer_excludes_everyone() {
    let mut ks = Keyspace::new();
    let acquire = |owner: &str, mode: &str| rw(ScriptName::RwAcquire, owner, "100", Some(mode));
    let release = |owner: &str| rw(ScriptName::RwRelease, owner, "100", None);
    assert_eq!(ks.apply(0, &acquire("r1", "read")), Reply::Int(1));
    assert_eq!(ks.apply(0, &acquire("r2", "read")), Reply::Int(1), "readers share");
    assert_eq!(ks.apply(0, &acquire("r1", "read")), Reply::Int(2), "a reader re-enters");
    assert_eq!(ks.apply(0, &acquire("w", "write")), Reply::Int(0), "a writer waits for the readers");
    assert_eq!(ks.apply(0, &acquire("r1", "write")), Reply::Int(0), "no upgrade from read to write");
    for _ in 0..2 {
        ks.apply(0, &release("r1"));
    }
    assert_eq!(ks.apply(0, &acquire("w", "write")), Reply::Int(0), "r2 still reads");
    assert_eq!(ks.apply(0, &release("r2")), Reply::Int(0));
    assert_eq!(ks.apply(0, &acquire("w", "write")), Reply::Int(1));
    assert_eq!(ks.apply(0, &acquire("r1", "read")), Reply::Int(0), "a reader waits for the writer");
    assert_eq!(ks.apply(0, &acquire("w", "read")), Reply::Int(2), "the writer may also read (downgrade)");
    let renew = |owner: &str| rw(ScriptName::RwRenew, owner, "500", None);
    assert_eq!(ks.apply(50, &renew("r1")), Reply::Int(0), "only a holder renews");
    assert_eq!(ks.apply(50, &pttl("rw")), Reply::Int(50));
    assert_eq!(ks.apply(50, &renew("w")), Reply::Int(1));
    assert_eq!(ks.apply(50, &pttl("rw")), Reply::Int(500));
    assert_eq!(ks.apply(50, &acquire("w", "both")), Reply::Error(s("ERR mode must be read or write")));
    assert_eq!(ks.apply(50, &rw(ScriptName::RwRenew, "w", "soon", None)), Reply::err(NOT_AN_INTEGER));
    ks.apply(50, &set("str", "v"));
    let on_string = Cmd::Script { script: ScriptName::RwRelease, keys: vec![s("str")], args: vec![s("w"), s("1")] };
    assert_eq!(ks.apply(50, &on_string).error_code(), Some("WRONGTYPE"));
}

proptest! {
    /// INCRBY is addition: the final value is the sum of the deltas, or an overflow error
    /// exactly when the running sum leaves i64.
    #[test]
    fn incrby_sums_deltas(deltas in proptest::collection::vec(any::<i64>(), 1..20)) {
        let mut ks = Keyspace::new();
        let mut sum: Option<i64> = Some(0);
        for d in &deltas {
            let reply = ks.apply(0, &Cmd::IncrBy { key: s("n"), delta: *d });
            let next = sum.and_then(|v| v.checked_add(*d));
            match next {
                Some(v) => { prop_assert_eq!(reply, Reply::Int(v)); sum = Some(v); }
                None => { prop_assert_eq!(reply, Reply::err(OVERFLOW)); }
            }
        }
        prop_assert_eq!(ks.apply(0, &get("n")), Reply::Bulk(sum.unwrap_or(0).to_string()));
    }

    /// Of many SET NX attempts on one key, the first wins and the rest change nothing.
    #[test]
    fn set_nx_first_writer_wins(values in proptest::collection::vec("[a-z]{1,4}", 1..10)) {
        let mut ks = Keyspace::new();
        for (i, v) in values.iter().enumerate() {
            let reply = ks.apply(0, &set_with("k", v, Some(SetCondition::Nx), None, false));
            prop_assert_eq!(reply, if i == 0 { Reply::ok() } else { Reply::Nil });
        }
        prop_assert_eq!(ks.apply(0, &get("k")), Reply::Bulk(values[0].clone()));
    }

    /// A key set with PX p at t is readable exactly on [t, t + p] and PTTL counts down to 0.
    #[test]
    fn px_lifetime_is_exact(start in 0i64..1_000_000, px in 1i64..100_000, probe in 0i64..200_000) {
        let mut ks = Keyspace::new();
        ks.apply(start, &set_with("k", "v", None, Some(SetExpiry::Px(px)), false));
        let at = start + probe;
        let alive = probe <= px;
        prop_assert_eq!(ks.apply(at, &pttl("k")), Reply::Int(if alive { px - probe } else { -2 }));
        prop_assert_eq!(ks.apply(at, &get("k")), if alive { bulk("v") } else { Reply::Nil });
    }

    /// ZRANGEBYSCORE returns exactly the members whose score lies in the interval, ordered by
    /// (score, member), whatever the insertion order.
    #[test]
    fn zrangebyscore_is_the_sorted_filter(
        entries in proptest::collection::vec((-50i32..50, "[a-e]{1,2}"), 1..30),
        lo in -60i32..60,
        span in 0i32..60,
    ) {
        let mut ks = Keyspace::new();
        let mut model = std::collections::BTreeMap::new();
        for (score, m) in &entries {
            ks.apply(0, &zadd("z", &[(f64::from(*score), m)]));
            model.insert(m.clone(), *score);
        }
        let hi = lo + span;
        let got = ks.apply(0, &zrange("z", ScoreBound::Inclusive(f64::from(lo)), ScoreBound::Exclusive(f64::from(hi))));
        let mut want: Vec<(i32, String)> =
            model.iter().filter(|(_, sc)| (lo..hi).contains(*sc)).map(|(m, sc)| (*sc, m.clone())).collect();
        want.sort();
        prop_assert_eq!(got, Reply::Array(want.into_iter().map(|(_, m)| Reply::Bulk(m)).collect()));
    }

    /// Whatever the commands, a key never has a type other than the one it was created with
    /// unless SET or DEL replaced it: typed commands on it answer WRONGTYPE or succeed.
    #[test]
    fn typed_commands_never_corrupt_other_types(ops in proptest::collection::vec(0u8..6, 1..40)) {
        let mut ks = Keyspace::new();
        for op in ops {
            let reply = match op {
                0 => ks.apply(0, &set("k", "1")),
                1 => ks.apply(0, &Cmd::Incr { key: s("k") }),
                2 => ks.apply(0, &hset("k", &[("f", "1")])),
                3 => ks.apply(0, &Cmd::HIncrBy { key: s("k"), field: s("f"), delta: 1 }),
                4 => ks.apply(0, &zadd("k", &[(1.0, "m")])),
                _ => ks.apply(0, &Cmd::Del { keys: vec![s("k")] }),
            };
            if let Reply::Error(e) = &reply {
                prop_assert_eq!(e.as_str(), WRONGTYPE);
            }
        }
    }
}

mod in_the_simulation {
    //! The `StoreNode` actor serving clients over the simulated network.

    use serde::Serialize;

    use super::*;
    use crate::actor::{Actor, Ctx, NodeId, Protocol, Timer, TimerId};
    use crate::sim::{Fault, Sim, SimConfig, SimDuration};

    struct P;
    impl Protocol for P {
        type Msg = StoreMsg;
        type Obs = Answer;
    }

    #[derive(Clone, Debug, PartialEq, Serialize)]
    struct Answer {
        req: u64,
        reply: Reply,
    }

    /// Sends `script[i].1` to the store at `script[i].0` ms and observes every reply.
    #[derive(Clone)]
    struct Client {
        store: NodeId,
        script: Vec<(u64, Cmd)>,
    }

    /// The client's timer for step n of its script.
    #[derive(Clone, Copy, Debug)]
    struct Step(u64);

    impl Timer for Step {
        fn id(self) -> TimerId {
            TimerId(self.0)
        }
        fn from_id(id: TimerId) -> Option<Self> {
            Some(Step(id.0))
        }
    }

    impl Actor<P> for Client {
        type Durable = ();
        type Timer = Step;
        fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
            for (i, (at_ms, _)) in self.script.iter().enumerate() {
                ctx.set_timer(Step(i as u64), SimDuration::from_millis(*at_ms));
            }
        }
        fn on_message(&mut self, ctx: &mut Ctx<'_, P>, _: NodeId, msg: StoreMsg) {
            if let StoreMsg::Reply { req, reply } = msg {
                ctx.observe(Answer { req, reply });
            }
        }
        fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, Step(n): Step) {
            let cmd = self.script[usize::try_from(n).unwrap()].1.clone();
            ctx.send(self.store, StoreMsg::Request { req: n, cmd });
        }
        fn durable(&self) {}
        fn public_state(&self) -> serde_json::Value {
            serde_json::Value::Null
        }
    }

    fn world(persistent: bool, script: Vec<(u64, Cmd)>) -> Sim<P> {
        let mut sim = Sim::new(SimConfig::new(1));
        sim.add_node("redis", move |d| StoreNode::new(StoreConfig { persistent }, d)).unwrap();
        sim.add_node("client", move |_| Client { store: NodeId(0), script: script.clone() }).unwrap();
        sim
    }

    fn answers(sim: &Sim<P>) -> Vec<(u64, Reply)> {
        sim.observations().iter().map(|o| (o.obs.req, o.obs.reply.clone())).collect()
    }

    #[test]
    fn serves_commands_over_the_network() {
        let mut sim = world(false, vec![(10, set("k", "v")), (20, get("k")), (30, Cmd::Incr { key: s("k") })]);
        sim.run_until_quiescent().unwrap();
        assert_eq!(answers(&sim), vec![(0, Reply::ok()), (1, bulk("v")), (2, Reply::err(NOT_AN_INTEGER))]);
        let store = sim.actor::<StoreNode>(NodeId(0)).unwrap();
        assert_eq!(store.commands(), 3);
        assert_eq!(sim.snapshot().nodes[0].state["key_count"], 1);
    }

    #[test]
    fn expiry_follows_the_store_nodes_clock() {
        let px = set_with("lease", "t1", None, Some(SetExpiry::Px(500)), false);
        let mut sim = world(false, vec![(10, px), (100, get("lease")), (120, get("lease"))]);
        sim.schedule(SimTime::from_millis(110), Fault::ClockJump { node: "redis".into(), delta_us: 1_000_000 });
        sim.run_until_quiescent().unwrap();
        let got = answers(&sim);
        assert_eq!(got[1], (1, bulk("t1")), "before the jump, 90 ms into a 500 ms lease");
        assert_eq!(
            got[2],
            (2, Reply::Nil),
            "the store's clock jumped 1 s: the lease is gone after 110 ms of true time"
        );
    }

    #[test]
    fn a_crash_empties_a_volatile_store_and_spares_a_persistent_one() {
        for (persistent, after_restart) in [(false, Reply::Nil), (true, bulk("v"))] {
            let mut sim = world(persistent, vec![(10, set("k", "v")), (50, get("k")), (100, get("k"))]);
            sim.schedule(SimTime::from_millis(40), Fault::Crash { node: "redis".into() });
            sim.schedule(SimTime::from_millis(80), Fault::Restart { node: "redis".into() });
            sim.run_until_quiescent().unwrap();
            let got = answers(&sim);
            assert_eq!(got.len(), 2, "the request sent while the store was down got no reply");
            assert_eq!(got[0], (0, Reply::ok()));
            assert_eq!(got[1], (2, after_restart), "persistent = {persistent}");
            assert_eq!(sim.net_stats().dropped_node_down, 1);
        }
    }
}
