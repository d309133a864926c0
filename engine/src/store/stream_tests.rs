//! Streams and consumer groups against Redis 7.0's replies and error texts, command by command
//! (each expectation was read off `redis-server` 7.0.15 or `t_stream.c`).

use super::*;

fn s(v: &str) -> String {
    v.to_owned()
}
fn bulk(v: &str) -> Reply {
    Reply::Bulk(s(v))
}
fn arr(items: Vec<Reply>) -> Reply {
    Reply::Array(items)
}
fn err(text: &str) -> Reply {
    Reply::err(text)
}
fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(f, v)| (s(f), s(v))).collect()
}
fn xadd(key: &str, id: &str) -> Cmd {
    Cmd::XAdd { key: s(key), no_mkstream: false, maxlen: None, id: s(id), fields: fields(&[("f", id)]) }
}
/// `[id, [f, id]]`: an entry added by [`xadd`].
fn entry(id: &str) -> Reply {
    arr(vec![bulk(id), arr(vec![bulk("f"), bulk(id)])])
}
fn xrange(key: &str, start: &str, end: &str, count: Option<i64>) -> Cmd {
    Cmd::XRange { key: s(key), start: s(start), end: s(end), count }
}
fn create(key: &str, group: &str, id: &str, mkstream: bool) -> Cmd {
    Cmd::XGroupCreate { key: s(key), group: s(group), id: s(id), mkstream }
}
fn read(consumer: &str, count: Option<i64>, streams: &[(&str, &str)]) -> Cmd {
    let streams = streams.iter().map(|(k, id)| (s(k), s(id))).collect();
    Cmd::XReadGroup { group: s("g"), consumer: s(consumer), count, block_ms: None, streams }
}
fn ack(key: &str, ids: &[&str]) -> Cmd {
    Cmd::XAck { key: s(key), group: s("g"), ids: ids.iter().map(|i| s(i)).collect() }
}
fn pending_range(start: &str, end: &str, count: i64, consumer: Option<&str>, idle: Option<i64>) -> Cmd {
    let range = XPendingRange { min_idle_ms: idle, start: s(start), end: s(end), count, consumer: consumer.map(s) };
    Cmd::XPending { key: s("k"), group: s("g"), range: Some(range) }
}
fn claim(consumer: &str, min_idle_ms: i64, ids: &[&str], just_id: bool) -> Cmd {
    let ids = ids.iter().map(|i| s(i)).collect();
    Cmd::XClaim { key: s("k"), group: s("g"), consumer: s(consumer), min_idle_ms, ids, just_id }
}
fn autoclaim(consumer: &str, min_idle_ms: i64, start: &str, count: Option<i64>, just_id: bool) -> Cmd {
    Cmd::XAutoClaim { key: s("k"), group: s("g"), consumer: s(consumer), min_idle_ms, start: s(start), count, just_id }
}
/// `[id, consumer, idle, deliveries]`, a row of the extended `XPENDING`.
fn row(id: &str, consumer: &str, idle: i64, deliveries: i64) -> Reply {
    arr(vec![bulk(id), bulk(consumer), Reply::Int(idle), Reply::Int(deliveries)])
}
/// A stream `k` with entries `1-0`, `2-0`, `3-0` and a group `g` reading from the start.
fn grouped() -> Keyspace {
    let mut ks = Keyspace::new();
    for id in ["1-0", "2-0", "3-0"] {
        ks.apply(0, &xadd("k", id));
    }
    assert_eq!(ks.apply(0, &create("k", "g", "0", false)), Reply::ok());
    ks
}

#[test]
fn xadd_takes_explicit_ids_in_increasing_order() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &xadd("k", "5-1")), bulk("5-1"));
    assert_eq!(ks.apply(0, &xadd("k", "5-*")), bulk("5-2"), "ms-*: the next sequence in that millisecond");
    assert_eq!(ks.apply(0, &xadd("k", "6-*")), bulk("6-0"));
    assert_eq!(ks.apply(0, &xadd("k", "7")), bulk("7-0"), "a bare ms has sequence 0");
    assert_eq!(ks.apply(0, &xadd("k", "7-0")), err(errors::XADD_ID_TOO_SMALL));
    assert_eq!(ks.apply(0, &xadd("k", "6-9")), err(errors::XADD_ID_TOO_SMALL));
    assert_eq!(ks.apply(0, &xadd("k", "5-*")), err(errors::XADD_ID_TOO_SMALL));
    assert_eq!(ks.apply(0, &xadd("k", "0")), err(errors::XADD_ID_ZERO));
    assert_eq!(ks.apply(0, &xadd("fresh", "0-*")), bulk("0-1"), "0-* is not 0-0");
    assert_eq!(ks.apply(0, &xadd("k", "abc")), err(errors::INVALID_STREAM_ID));
    assert_eq!(ks.apply(0, &xadd("k", "+")), err(errors::INVALID_STREAM_ID));
    assert_eq!(ks.apply(0, &Cmd::XLen { key: s("k") }), Reply::Int(4));
}

#[test]
fn xadd_star_follows_the_clock_but_never_goes_back() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(1_000, &xadd("k", "*")), bulk("1000-0"));
    assert_eq!(ks.apply(1_000, &xadd("k", "*")), bulk("1000-1"), "same millisecond: next sequence");
    assert_eq!(ks.apply(900, &xadd("k", "*")), bulk("1000-2"), "a clock behind the last id");
    assert_eq!(ks.apply(1_001, &xadd("k", "*")), bulk("1001-0"));
    assert_eq!(ks.apply(0, &xadd("k", "5000-0")), bulk("5000-0"));
    assert_eq!(ks.apply(2_000, &xadd("k", "*")), bulk("5000-1"), "an explicit id in the future");
}

#[test]
fn xadd_at_the_end_of_the_id_space() {
    let mut ks = Keyspace::new();
    ks.apply(0, &xadd("k", "5-18446744073709551615"));
    assert_eq!(ks.apply(0, &xadd("k", "5-*")), err(errors::ELEMENTS_TOO_LARGE));
    assert_eq!(ks.apply(0, &xadd("k", "*")), bulk("6-0"));
    ks.apply(0, &xadd("k", "18446744073709551615-18446744073709551615"));
    assert_eq!(ks.apply(0, &xadd("k", "*")), err(errors::STREAM_EXHAUSTED));
}

#[test]
fn xadd_options_and_their_errors() {
    let mut ks = Keyspace::new();
    let with = |no_mkstream, maxlen, id: &str, f: &[(&str, &str)]| Cmd::XAdd {
        key: s("k"),
        no_mkstream,
        maxlen,
        id: s(id),
        fields: fields(f),
    };
    assert_eq!(ks.apply(0, &with(true, None, "1", &[("a", "1")])), Reply::Nil, "NOMKSTREAM on a missing key");
    assert_eq!(ks.apply(0, &Cmd::Exists { keys: vec![s("k")] }), Reply::Int(0));
    assert_eq!(ks.apply(0, &with(false, None, "1", &[])), err(&errors::arity("xadd")));
    assert_eq!(ks.apply(0, &with(false, Some(-1), "abc", &[])), err(errors::MAXLEN_NEGATIVE), "before the id");
    assert_eq!(ks.apply(0, &with(false, Some(1), "abc", &[])), err(errors::INVALID_STREAM_ID), "before the fields");
    assert_eq!(ks.apply(0, &with(false, Some(0), "0", &[])), err(&errors::arity("xadd")));
    for id in ["1", "2", "3"] {
        assert_eq!(ks.apply(0, &with(false, Some(2), id, &[("a", id)])), bulk(&format!("{id}-0")));
    }
    assert_eq!(ks.apply(0, &Cmd::XLen { key: s("k") }), Reply::Int(2), "MAXLEN trims the oldest");
    let dup = with(true, Some(0), "4", &[("a", "1"), ("a", "2")]);
    assert_eq!(ks.apply(0, &dup), bulk("4-0"), "the new entry is added, then trimmed away");
    assert_eq!(ks.apply(0, &Cmd::XLen { key: s("k") }), Reply::Int(0));
    assert_eq!(ks.apply(0, &with(false, None, "4", &[("a", "1")])), err(errors::XADD_ID_TOO_SMALL), "last id stays");
}

#[test]
fn xrange_reads_inclusive_exclusive_and_partial_ids() {
    let mut ks = Keyspace::new();
    for id in ["1-0", "1-1", "2-0", "3-5"] {
        ks.apply(0, &xadd("k", id));
    }
    let all = arr(["1-0", "1-1", "2-0", "3-5"].into_iter().map(entry).collect());
    assert_eq!(ks.apply(0, &xrange("k", "-", "+", None)), all);
    assert_eq!(ks.apply(0, &xrange("k", "1", "1", None)), arr(vec![entry("1-0"), entry("1-1")]), "a whole ms");
    assert_eq!(ks.apply(0, &xrange("k", "(1-0", "(3-5", None)), arr(vec![entry("1-1"), entry("2-0")]));
    assert_eq!(ks.apply(0, &xrange("k", "(1", "+", Some(1))), arr(vec![entry("1-1")]));
    assert_eq!(ks.apply(0, &xrange("k", "3", "1", None)), arr(vec![]), "start after end");
    assert_eq!(ks.apply(0, &xrange("k", "-", "+", Some(0))), Reply::Nil, "COUNT 0 is a null array");
    assert_eq!(ks.apply(0, &xrange("k", "-", "+", Some(-3))), Reply::Nil, "a negative COUNT reads as 0");
    assert_eq!(ks.apply(0, &xrange("none", "-", "+", Some(0))), arr(vec![]), "a missing key first");
    assert_eq!(ks.apply(0, &xrange("k", "(-", "+", None)), err(errors::INVALID_STREAM_ID));
    assert_eq!(ks.apply(0, &xrange("k", "x", "y", None)), err(errors::INVALID_STREAM_ID));
    let max = "(18446744073709551615-18446744073709551615";
    assert_eq!(ks.apply(0, &xrange("k", max, "+", None)), err(errors::INVALID_START_ID));
    assert_eq!(ks.apply(0, &xrange("k", "-", "(0-0", None)), err(errors::INVALID_END_ID));
}

#[test]
fn xdel_and_xtrim_remove_entries_but_the_stream_stays() {
    let mut ks = Keyspace::new();
    for id in ["1-0", "2-0", "3-0", "4-0"] {
        ks.apply(0, &xadd("k", id));
    }
    let del = |ids: &[&str]| Cmd::XDel { key: s("k"), ids: ids.iter().map(|i| s(i)).collect() };
    assert_eq!(ks.apply(0, &del(&["1-0", "1-0", "9-0"])), Reply::Int(1));
    assert_eq!(ks.apply(0, &del(&["2-0", "bad"])), err(errors::INVALID_STREAM_ID));
    assert_eq!(ks.apply(0, &Cmd::XLen { key: s("k") }), Reply::Int(3), "nothing deleted on a bad id");
    assert_eq!(ks.apply(0, &del(&[])), err(&errors::arity("xdel")));
    let none = Cmd::XDel { key: s("none"), ids: vec![s("bad")] };
    assert_eq!(ks.apply(0, &none), Reply::Int(0), "a missing key before the ids");
    assert_eq!(ks.apply(0, &Cmd::XTrim { key: s("k"), maxlen: 1 }), Reply::Int(2));
    assert_eq!(ks.apply(0, &xrange("k", "-", "+", None)), arr(vec![entry("4-0")]));
    assert_eq!(ks.apply(0, &Cmd::XTrim { key: s("k"), maxlen: -1 }), err(errors::MAXLEN_NEGATIVE));
    assert_eq!(ks.apply(0, &Cmd::XTrim { key: s("none"), maxlen: 0 }), Reply::Int(0));
    assert_eq!(ks.apply(0, &del(&["4-0"])), Reply::Int(1));
    assert_eq!(ks.apply(0, &Cmd::Exists { keys: vec![s("k")] }), Reply::Int(1), "an empty stream stays");
    assert_eq!(ks.apply(0, &xadd("k", "4-0")), err(errors::XADD_ID_TOO_SMALL), "with its last id");
    assert_eq!(ks.apply(0, &Cmd::Del { keys: vec![s("k")] }), Reply::Int(1));
    assert_eq!(ks.apply(0, &xadd("k", "4-0")), bulk("4-0"));
}

#[test]
fn streams_and_other_types_refuse_each_other() {
    let mut ks = Keyspace::new();
    ks.apply(0, &xadd("k", "1"));
    ks.apply(0, &Cmd::Set { key: s("str"), value: s("v"), condition: None, expiry: None, get: false });
    let wrongtype = err(WRONGTYPE);
    assert_eq!(ks.apply(0, &Cmd::Get { key: s("k") }), wrongtype);
    assert_eq!(ks.apply(0, &Cmd::HGet { key: s("k"), field: s("f") }), wrongtype);
    assert_eq!(ks.apply(0, &Cmd::ZAdd { key: s("k"), members: vec![(1.0, s("m"))] }), wrongtype);
    for cmd in [
        xadd("str", "2"),
        Cmd::XLen { key: s("str") },
        xrange("str", "-", "+", None),
        Cmd::XDel { key: s("str"), ids: vec![s("1")] },
        Cmd::XTrim { key: s("str"), maxlen: 0 },
        create("str", "g", "$", true),
        Cmd::XGroupDestroy { key: s("str"), group: s("g") },
        read("c", None, &[("str", ">")]),
        ack("str", &["1"]),
        Cmd::XPending { key: s("str"), group: s("g"), range: None },
        Cmd::XClaim {
            key: s("str"),
            group: s("g"),
            consumer: s("c"),
            min_idle_ms: 0,
            ids: vec![s("1")],
            just_id: false,
        },
        Cmd::XAutoClaim {
            key: s("str"),
            group: s("g"),
            consumer: s("c"),
            min_idle_ms: 0,
            start: s("0"),
            count: None,
            just_id: false,
        },
    ] {
        assert_eq!(ks.apply(0, &cmd), wrongtype, "{cmd}");
    }
    assert_eq!(ks.apply(0, &Cmd::PExpire { key: s("k"), ms: 100 }), Reply::Int(1), "streams expire");
    assert_eq!(ks.apply(101, &Cmd::XLen { key: s("k") }), Reply::Int(0));
}

#[test]
fn xgroup_create_destroy_and_consumers() {
    let mut ks = Keyspace::new();
    assert_eq!(ks.apply(0, &create("k", "g", "$", false)), err(errors::XGROUP_KEY_MISSING));
    assert_eq!(ks.apply(0, &create("k", "g", "bad", false)), err(errors::XGROUP_KEY_MISSING), "the key first");
    assert_eq!(ks.apply(0, &create("k", "g", "bad", true)), err(errors::INVALID_STREAM_ID));
    assert_eq!(ks.apply(0, &Cmd::Exists { keys: vec![s("k")] }), Reply::Int(0), "nothing made on an error");
    assert_eq!(ks.apply(0, &create("k", "g", "$", true)), Reply::ok(), "MKSTREAM makes an empty stream");
    assert_eq!(ks.apply(0, &Cmd::XLen { key: s("k") }), Reply::Int(0));
    assert_eq!(ks.apply(0, &create("k", "g", "0", false)), err(errors::BUSYGROUP));
    assert_eq!(ks.apply(0, &create("k", "h", "-", false)), err(errors::INVALID_STREAM_ID));
    let consumer = |name: &str, delete: bool| {
        let (key, group, consumer) = (s("k"), s("g"), s(name));
        if delete {
            Cmd::XGroupDelConsumer { key, group, consumer }
        } else {
            Cmd::XGroupCreateConsumer { key, group, consumer }
        }
    };
    assert_eq!(ks.apply(0, &consumer("c", false)), Reply::Int(1));
    assert_eq!(ks.apply(0, &consumer("c", false)), Reply::Int(0), "already there");
    assert_eq!(ks.apply(0, &consumer("x", true)), Reply::Int(0), "not there");
    ks.apply(0, &xadd("k", "1"));
    ks.apply(0, &xadd("k", "2"));
    ks.apply(0, &read("c", None, &[("k", ">")]));
    assert_eq!(ks.apply(0, &consumer("c", true)), Reply::Int(2), "its pending entries go with it");
    let summary = Cmd::XPending { key: s("k"), group: s("g"), range: None };
    assert_eq!(ks.apply(0, &summary), arr(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::Nil]));
    let destroy = |group: &str| Cmd::XGroupDestroy { key: s("k"), group: s(group) };
    assert_eq!(ks.apply(0, &destroy("g")), Reply::Int(1));
    assert_eq!(ks.apply(0, &destroy("g")), Reply::Int(0));
    assert_eq!(
        ks.apply(0, &consumer("c", false)),
        Reply::Error(s("NOGROUP No such consumer group 'g' for key name 'k'"))
    );
    let missing = Cmd::XGroupDestroy { key: s("none"), group: s("g") };
    assert_eq!(ks.apply(0, &missing), err(errors::XGROUP_KEY_MISSING));
}

#[test]
fn xreadgroup_delivers_new_entries_once_per_group() {
    let mut ks = grouped();
    assert_eq!(
        ks.apply(5, &read("c1", Some(2), &[("k", ">")])),
        arr(vec![arr(vec![bulk("k"), arr(vec![entry("1-0"), entry("2-0")])])])
    );
    assert_eq!(ks.apply(6, &read("c2", None, &[("k", ">")])), arr(vec![arr(vec![bulk("k"), arr(vec![entry("3-0")])])]));
    assert_eq!(ks.apply(7, &read("c2", None, &[("k", ">")])), Reply::Nil, "nothing new");
    let block = Cmd::XReadGroup {
        group: s("g"),
        consumer: s("c2"),
        count: None,
        block_ms: Some(100),
        streams: vec![(s("k"), s(">"))],
    };
    assert_eq!(ks.apply(7, &block), Reply::Nil, "BLOCK answers as its timeout would, at once");
    let summary = Cmd::XPending { key: s("k"), group: s("g"), range: None };
    let per_consumer = arr(vec![arr(vec![bulk("c1"), bulk("2")]), arr(vec![bulk("c2"), bulk("1")])]);
    assert_eq!(ks.apply(10, &summary), arr(vec![Reply::Int(3), bulk("1-0"), bulk("3-0"), per_consumer]));
    assert_eq!(
        ks.apply(10, &pending_range("-", "+", 10, None, None)),
        arr(vec![row("1-0", "c1", 5, 1), row("2-0", "c1", 5, 1), row("3-0", "c2", 4, 1)])
    );
}

#[test]
fn xreadgroup_history_redelivers_the_consumers_own_pending_entries() {
    let mut ks = grouped();
    ks.apply(0, &read("c1", None, &[("k", ">")]));
    ks.apply(0, &ack("k", &["2-0"]));
    ks.apply(0, &Cmd::XDel { key: s("k"), ids: vec![s("3-0")] });
    let history = arr(vec![arr(vec![bulk("k"), arr(vec![entry("1-0"), arr(vec![bulk("3-0"), Reply::Nil])])])]);
    assert_eq!(ks.apply(20, &read("c1", None, &[("k", "0")])), history, "a deleted entry: its id and nil");
    assert_eq!(
        ks.apply(20, &read("c1", None, &[("k", "1-0")])),
        arr(vec![arr(vec![bulk("k"), arr(vec![arr(vec![bulk("3-0"), Reply::Nil])])])]),
        "after the given id"
    );
    assert_eq!(
        ks.apply(20, &read("c2", None, &[("k", "0")])),
        arr(vec![arr(vec![bulk("k"), arr(vec![])])]),
        "served, empty"
    );
    assert_eq!(
        ks.apply(30, &pending_range("-", "+", 10, None, None)),
        arr(vec![row("1-0", "c1", 10, 2), row("3-0", "c1", 30, 1)]),
        "a history read counts as a delivery, except of a deleted entry"
    );
    let consumer = Cmd::XGroupCreateConsumer { key: s("k"), group: s("g"), consumer: s("c2") };
    assert_eq!(ks.apply(30, &consumer), Reply::Int(0), "reading created the consumer");
}

#[test]
fn xreadgroup_checks_every_stream_before_serving_any() {
    let mut ks = grouped();
    ks.apply(0, &Cmd::Set { key: s("str"), value: s("v"), condition: None, expiry: None, get: false });
    let nogroup = Reply::Error(s("NOGROUP No such key 'none' or consumer group 'g' in XREADGROUP with GROUP option"));
    assert_eq!(ks.apply(0, &read("c", None, &[("k", ">"), ("none", ">")])), nogroup);
    assert_eq!(ks.apply(0, &read("c", None, &[("k", ">"), ("str", ">")])), err(WRONGTYPE));
    assert_eq!(ks.apply(0, &read("c", None, &[("k", "$")])), err(errors::XREADGROUP_DOLLAR));
    assert_eq!(ks.apply(0, &read("c", None, &[("k", "-")])), err(errors::INVALID_STREAM_ID));
    assert_eq!(ks.apply(0, &read("c", None, &[])), err(&errors::arity("xreadgroup")));
    assert_eq!(ks.apply(0, &read("c", Some(1), &[])), err(errors::SYNTAX));
    let negative = Cmd::XReadGroup {
        group: s("g"),
        consumer: s("c"),
        count: None,
        block_ms: Some(-1),
        streams: vec![(s("k"), s(">"))],
    };
    assert_eq!(ks.apply(0, &negative), err(errors::TIMEOUT_NEGATIVE));
    let summary = Cmd::XPending { key: s("k"), group: s("g"), range: None };
    assert_eq!(ks.apply(0, &summary), arr(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::Nil]), "nothing read");
    let max = "18446744073709551615-18446744073709551615";
    let as_new = ks.clone().apply(0, &read("c", Some(1), &[("k", ">")]));
    assert_eq!(ks.apply(0, &read("c", Some(1), &[("k", max)])), as_new, "the largest id is >");
}

#[test]
fn xack_acknowledges_pending_entries_only() {
    let mut ks = grouped();
    ks.apply(0, &read("c", None, &[("k", ">")]));
    assert_eq!(ks.apply(0, &ack("k", &["1-0", "1-0", "9-0"])), Reply::Int(1));
    assert_eq!(ks.apply(0, &ack("k", &["2-0", "bad"])), err(errors::INVALID_STREAM_ID));
    assert_eq!(ks.apply(0, &ack("k", &["2", "3"])), Reply::Int(2), "nothing was acknowledged before");
    assert_eq!(ks.apply(0, &ack("none", &["bad"])), Reply::Int(0), "a missing key before the ids");
    assert_eq!(ks.apply(0, &ack("k", &[])), err(&errors::arity("xack")));
}

#[test]
fn xpending_extended_filters_by_range_consumer_and_idle_time() {
    let mut ks = grouped();
    ks.apply(0, &read("c1", Some(1), &[("k", ">")]));
    ks.apply(50, &read("c2", None, &[("k", ">")]));
    assert_eq!(
        ks.apply(100, &pending_range("(1-0", "+", 10, None, None)),
        arr(vec![row("2-0", "c2", 50, 1), row("3-0", "c2", 50, 1)])
    );
    assert_eq!(ks.apply(100, &pending_range("-", "+", 1, Some("c2"), None)), arr(vec![row("2-0", "c2", 50, 1)]));
    assert_eq!(ks.apply(100, &pending_range("-", "+", 10, Some("nobody"), None)), arr(vec![]));
    assert_eq!(ks.apply(100, &pending_range("-", "+", 10, None, Some(60))), arr(vec![row("1-0", "c1", 100, 1)]));
    assert_eq!(ks.apply(100, &pending_range("-", "+", -1, None, None)), arr(vec![]), "a negative count reads as 0");
    assert_eq!(ks.apply(100, &pending_range("x", "+", 1, None, None)), err(errors::INVALID_STREAM_ID));
    let missing = Cmd::XPending { key: s("k"), group: s("nope"), range: None };
    assert_eq!(ks.apply(100, &missing), Reply::Error(s("NOGROUP No such key 'k' or consumer group 'nope'")));
}

#[test]
fn xclaim_moves_idle_entries_and_drops_deleted_ones() {
    let mut ks = grouped();
    ks.apply(0, &read("c1", None, &[("k", ">")]));
    assert_eq!(ks.apply(100, &claim("c2", 500, &["1-0"], false)), arr(vec![]), "not idle long enough");
    assert_eq!(ks.apply(1_000, &claim("c2", 500, &["1-0", "9-0"], false)), arr(vec![entry("1-0")]));
    assert_eq!(ks.apply(1_000, &claim("c2", 0, &["2-0"], true)), arr(vec![bulk("2-0")]));
    ks.apply(1_000, &Cmd::XDel { key: s("k"), ids: vec![s("3-0")] });
    assert_eq!(ks.apply(1_000, &claim("c2", 0, &["3-0"], false)), arr(vec![]));
    assert_eq!(
        ks.apply(1_010, &pending_range("-", "+", 10, None, None)),
        arr(vec![row("1-0", "c2", 10, 2), row("2-0", "c2", 10, 1)]),
        "claimed: idle from now, counted unless JUSTID; the deleted entry left the list"
    );
    assert_eq!(
        ks.apply(0, &claim("c2", 0, &["1-0", "abc"], false)),
        Reply::Error(s("ERR Unrecognized XCLAIM option 'abc'"))
    );
    assert_eq!(ks.apply(0, &claim("c2", 0, &[], true)), arr(vec![]));
    assert_eq!(ks.apply(0, &claim("c2", 0, &[], false)), err(&errors::arity("xclaim")));
    let nogroup = Cmd::XClaim {
        key: s("none"),
        group: s("g"),
        consumer: s("c"),
        min_idle_ms: 0,
        ids: vec![s("bad")],
        just_id: false,
    };
    assert_eq!(ks.apply(0, &nogroup), Reply::Error(s("NOGROUP No such key 'none' or consumer group 'g'")));
}

#[test]
fn xautoclaim_scans_with_a_cursor_and_reports_deleted_entries() {
    let mut ks = grouped();
    ks.apply(0, &xadd("k", "4-0"));
    ks.apply(0, &read("c1", None, &[("k", ">")]));
    ks.apply(0, &Cmd::XDel { key: s("k"), ids: vec![s("2-0")] });
    let first = ks.apply(100, &autoclaim("c2", 50, "0", Some(2), false));
    assert_eq!(
        first,
        arr(vec![bulk("3-0"), arr(vec![entry("1-0")]), arr(vec![bulk("2-0")])]),
        "COUNT counts deletions"
    );
    let rest = ks.apply(100, &autoclaim("c2", 50, "3-0", None, true));
    assert_eq!(rest, arr(vec![bulk("0-0"), arr(vec![bulk("3-0"), bulk("4-0")]), arr(vec![])]), "0-0: the end");
    assert_eq!(
        ks.apply(100, &autoclaim("c3", 50, "-", None, false)),
        arr(vec![bulk("0-0"), arr(vec![]), arr(vec![])]),
        "claimed just now"
    );
    assert_eq!(
        ks.apply(100, &pending_range("-", "+", 10, None, None)),
        arr(vec![row("1-0", "c2", 0, 2), row("3-0", "c2", 0, 1), row("4-0", "c2", 0, 1)])
    );
    let consumer = Cmd::XGroupCreateConsumer { key: s("k"), group: s("g"), consumer: s("c3") };
    assert_eq!(ks.apply(100, &consumer), Reply::Int(1), "a consumer that claimed nothing was not created");
    assert_eq!(ks.apply(100, &autoclaim("c2", 0, "0", Some(0), false)), err(errors::XAUTOCLAIM_COUNT));
    assert_eq!(ks.apply(100, &autoclaim("c2", 0, "(+", None, false)), err(errors::INVALID_STREAM_ID));
    let nogroup = Cmd::XAutoClaim {
        key: s("k"),
        group: s("x"),
        consumer: s("c"),
        min_idle_ms: 0,
        start: s("0"),
        count: None,
        just_id: false,
    };
    assert_eq!(ks.apply(100, &nogroup), Reply::Error(s("NOGROUP No such key 'k' or consumer group 'x'")));
}

#[test]
fn xautoclaim_examines_at_most_ten_entries_per_count() {
    let mut ks = Keyspace::new();
    for ms in 1..=12 {
        ks.apply(0, &xadd("k", &ms.to_string()));
    }
    ks.apply(0, &create("k", "g", "0", false));
    ks.apply(0, &read("c1", None, &[("k", ">")]));
    let reply = ks.apply(10, &autoclaim("c2", 1_000, "-", Some(1), false));
    assert_eq!(reply, arr(vec![bulk("11-0"), arr(vec![]), arr(vec![])]), "ten examined, none idle enough");
}

#[test]
fn stream_commands_print_as_redis_argv_and_lose_the_key_prefix() {
    let cmd = Cmd::XReadGroup {
        group: s("g"),
        consumer: s("c"),
        count: Some(10),
        block_ms: Some(5),
        streams: vec![(s("a"), s(">")), (s("b"), s("0"))],
    };
    assert_eq!(cmd.to_string(), "XREADGROUP GROUP g c COUNT 10 BLOCK 5 STREAMS a b > 0");
    let prefixed = cmd.with_key_prefix("p:");
    assert_eq!(prefixed.to_string(), "XREADGROUP GROUP g c COUNT 10 BLOCK 5 STREAMS p:a p:b > 0");
    let mut ks = Keyspace::new();
    ks.apply(0, &xadd("p:a", "1-0"));
    ks.apply(0, &create("p:a", "g", "0", false));
    let reply = ks.apply(0, &prefixed.clone());
    assert_eq!(
        cmd.reply_without_key_prefix("p:", reply),
        Reply::Error(s("NOGROUP No such key 'b' or consumer group 'g' in XREADGROUP with GROUP option"))
    );
    ks.apply(0, &create("p:b", "g", "0", true));
    let reply = ks.apply(0, &prefixed);
    let want = arr(vec![arr(vec![bulk("a"), arr(vec![entry("1-0")])]), arr(vec![bulk("b"), arr(vec![])])]);
    assert_eq!(cmd.reply_without_key_prefix("p:", reply), want);
    let add = Cmd::XAdd { key: s("k"), no_mkstream: true, maxlen: Some(3), id: s("*"), fields: fields(&[("f", "v")]) };
    assert_eq!(add.to_string(), "XADD k NOMKSTREAM MAXLEN = 3 * f v");
    assert_eq!(create("k", "g", "$", true).to_string(), "XGROUP CREATE k g $ MKSTREAM");
    assert_eq!(pending_range("-", "+", 5, Some("c"), Some(100)).to_string(), "XPENDING k g IDLE 100 - + 5 c");
    assert_eq!(autoclaim("c", 10, "0-0", Some(5), true).to_string(), "XAUTOCLAIM k g c 10 0-0 COUNT 5 JUSTID");
}

fn script(name: ScriptName, keys: &[&str], args: &[&str]) -> Cmd {
    Cmd::Script { script: name, keys: keys.iter().map(|k| s(k)).collect(), args: args.iter().map(|a| s(a)).collect() }
}

#[test]
fn mq_promote_moves_due_messages_into_the_stream() {
    let mut ks = Keyspace::new();
    ks.apply(0, &Cmd::ZAdd { key: s("delayed"), members: vec![(100.0, s("m1")), (50.0, s("m2")), (300.0, s("m3"))] });
    let promote = |limit: &str| script(ScriptName::MqPromote, &["delayed", "q"], &[limit]);
    assert_eq!(ks.apply(99, &promote("10")), Reply::Int(1), "due by the server's clock");
    assert_eq!(ks.apply(300, &promote("1")), Reply::Int(1), "at most the limit");
    assert_eq!(ks.apply(300, &promote("10")), Reply::Int(1), "a score equal to now is due");
    assert_eq!(ks.apply(1_000, &promote("10")), Reply::Int(0));
    let msg = |id: &str, m: &str| arr(vec![bulk(id), arr(vec![bulk("msg"), bulk(m)])]);
    assert_eq!(
        ks.apply(1_000, &xrange("q", "-", "+", None)),
        arr(vec![msg("99-0", "m2"), msg("300-0", "m1"), msg("300-1", "m3")]),
        "in due order, ids from the store's clock"
    );
    assert_eq!(ks.apply(1_000, &Cmd::Exists { keys: vec![s("delayed")] }), Reply::Int(0), "the set emptied");
    for limit in ["-1", "1.5", "007", "1234567890123456"] {
        assert_eq!(ks.apply(0, &promote(limit)).error_code(), Some("ERR"), "{limit}");
    }
    let two = script(ScriptName::MqPromote, &["delayed", "q"], &["5", "10"]);
    assert_eq!(ks.apply(0, &two).error_code(), Some("ERR"), "one argument: the limit");
    ks.apply(0, &Cmd::ZAdd { key: s("z"), members: vec![(1.0, s("a"))] });
    ks.apply(0, &Cmd::Set { key: s("str"), value: s("v"), condition: None, expiry: None, get: false });
    let wrong = script(ScriptName::MqPromote, &["z", "str"], &["10"]);
    assert_eq!(ks.apply(10, &wrong), err(WRONGTYPE));
    assert_eq!(
        ks.apply(
            10,
            &Cmd::ZRangeByScore {
                key: s("z"),
                min: ScoreBound::NegInf,
                max: ScoreBound::PosInf,
                with_scores: false,
                limit: None
            }
        ),
        arr(vec![bulk("a")]),
        "still delayed"
    );
}

#[test]
fn mq_dead_letter_moves_a_pending_entry_once() {
    let mut ks = grouped();
    ks.apply(0, &read("c", None, &[("k", ">")]));
    ks.apply(0, &read("c", None, &[("k", "0")]));
    let dead = |id: &str| script(ScriptName::MqDeadLetter, &["k", "dlq"], &["g", id, "boom"]);
    assert_eq!(ks.apply(7_000, &dead("1-0")), bulk("7000-0"));
    assert_eq!(ks.apply(7_000, &dead("1-0")), Reply::Int(0), "not pending any more: nothing written twice");
    ks.apply(7_000, &Cmd::XDel { key: s("k"), ids: vec![s("2-0")] });
    assert_eq!(ks.apply(7_000, &dead("2")), bulk("7000-1"), "a deleted entry, by its millisecond");
    let dlq = arr(vec![
        arr(vec![
            bulk("7000-0"),
            arr(["source", "1-0", "error", "boom", "deliveries", "2", "f", "1-0"].into_iter().map(bulk).collect()),
        ]),
        arr(vec![
            bulk("7000-1"),
            arr(["source", "2-0", "error", "boom", "deliveries", "2"].into_iter().map(bulk).collect()),
        ]),
    ]);
    assert_eq!(ks.apply(7_000, &xrange("dlq", "-", "+", None)), dlq);
    assert_eq!(ks.apply(7_000, &pending_range("-", "+", 10, None, None)), arr(vec![row("3-0", "c", 7_000, 2)]));
    assert_eq!(ks.apply(7_000, &Cmd::XLen { key: s("k") }), Reply::Int(2), "the entry stays in its stream");
    let missing = script(ScriptName::MqDeadLetter, &["k", "dlq"], &["nope", "3-0", "boom"]);
    assert_eq!(ks.apply(7_000, &missing).error_code(), Some("NOGROUP"));
}

#[test]
fn mq_publish_publishes_each_id_once_at_once_or_delayed_by_the_servers_clock() {
    let mut ks = Keyspace::new();
    let batch = |triples: &[&str]| script(ScriptName::MqPublish, &["pub", "q", "delayed"], triples);
    let publish = |id: &str, body: &str, delay: &str| batch(&[id, body, delay]);
    let ints = |v: &[i64]| arr(v.iter().map(|n| Reply::Int(*n)).collect());
    assert_eq!(ks.apply(1_000, &publish("1", "m1", "0")), ints(&[1]));
    assert_eq!(ks.apply(1_001, &publish("1", "other", "0")), ints(&[0]), "an id is published once");
    assert_eq!(ks.apply(1_002, &publish("2", "m2", "250")), ints(&[1]));
    assert_eq!(ks.apply(1_003, &publish("2", "m2", "250")), ints(&[0]), "delayed ones too");
    assert_eq!(
        ks.apply(1_004, &batch(&["5", "m5", "0", "1", "m1", "0", "5", "again", "0", "6", "m6", "10"])),
        ints(&[1, 0, 0, 1]),
        "a batch: each id once, earlier in the same batch too"
    );
    let entry =
        |at: &str, id: &str, body: &str| arr(vec![bulk(at), arr(vec![bulk("id"), bulk(id), bulk("body"), bulk(body)])]);
    assert_eq!(
        ks.apply(1_010, &xrange("q", "-", "+", None)),
        arr(vec![entry("1000-0", "1", "m1"), entry("1004-0", "5", "m5")])
    );
    let scored = Cmd::ZRangeByScore {
        key: s("delayed"),
        min: ScoreBound::NegInf,
        max: ScoreBound::PosInf,
        with_scores: true,
        limit: None,
    };
    assert_eq!(
        ks.apply(1_010, &scored),
        arr(vec![bulk("6|m6"), bulk("1014"), bulk("2|m2"), bulk("1252")]),
        "due at publish time + delay"
    );
    for delay in ["-1", "1.5", "007", "1234567890123456", ""] {
        assert_eq!(ks.apply(0, &publish("3", "m3", delay)).error_code(), Some("ERR"), "{delay:?}");
        let late = batch(&["3", "m3", "0", "4", "m4", delay]);
        assert_eq!(ks.apply(0, &late).error_code(), Some("ERR"), "{delay:?} after a good one");
    }
    for malformed in [batch(&[]), batch(&["3", "m3"]), batch(&["3", "m3", "0", "4"])] {
        assert_eq!(ks.apply(0, &malformed).error_code(), Some("ERR"), "{malformed:?}");
    }
    for id in ["3", "4"] {
        assert_eq!(
            ks.apply(0, &Cmd::HGet { key: s("pub"), field: s(id) }),
            Reply::Nil,
            "a refused batch writes nothing"
        );
    }
    ks.apply(0, &Cmd::Set { key: s("str"), value: s("v"), condition: None, expiry: None, get: false });
    let wrong = script(ScriptName::MqPublish, &["str", "q", "delayed"], &["4", "m4", "0"]);
    assert_eq!(ks.apply(0, &wrong), err(WRONGTYPE));
}

#[test]
fn mq_settle_applies_and_acks_a_batch_once() {
    let mut ks = Keyspace::new();
    ks.apply(0, &Cmd::XGroupCreate { key: s("q"), group: s("g"), id: s("0"), mkstream: true });
    for (id, m) in [("1-0", "7"), ("2-0", "8")] {
        ks.apply(
            0,
            &Cmd::XAdd { key: s("q"), no_mkstream: false, maxlen: None, id: s(id), fields: vec![(s("id"), s(m))] },
        );
    }
    let read = Cmd::XReadGroup {
        group: s("g"),
        consumer: s("c"),
        count: None,
        block_ms: None,
        streams: vec![(s("q"), s(">"))],
    };
    ks.apply(0, &read);
    let settle = |dedup: &str, pairs: &[&str]| {
        let mut args = vec!["g", dedup];
        args.extend(pairs);
        script(ScriptName::MqSettle, &["q", "effects"], &args)
    };
    let ints = |v: &[i64]| arr(v.iter().map(|n| Reply::Int(*n)).collect());
    assert_eq!(ks.apply(1, &settle("1", &["1-0", "7", "2-0", "8"])), ints(&[1, 1, 1, 1]), "applied and acked");
    assert_eq!(ks.apply(2, &settle("1", &["1-0", "7"])), ints(&[0, 0]), "a redelivery: skipped, and no longer pending");
    assert_eq!(ks.apply(3, &settle("0", &["1-0", "7"])), ints(&[2, 0]), "without dedup the effect counts again");
    assert_eq!(ks.apply(3, &settle("1", &[])), arr(vec![]), "an empty batch");
    for bad in
        [settle("2", &["1-0", "7"]), settle("1", &["1-0"]), script(ScriptName::MqSettle, &["q", "effects"], &["g"])]
    {
        assert_eq!(ks.apply(4, &bad).error_code(), Some("ERR"), "{bad:?}");
    }
    assert_eq!(
        ks.apply(4, &Cmd::XPending { key: s("q"), group: s("g"), range: None }),
        arr(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::Nil]),
        "the batch left nothing pending"
    );
}
