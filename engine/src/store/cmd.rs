//! Commands and replies: the only language components use to talk to a store, simulated or
//! real (design.md, rule 4). They mirror Redis's argv and RESP2 replies one to one, so that a
//! `Cmd` can be sent to a real server unchanged and its reply compared with the simulated one.

use serde::{Deserialize, Serialize};

use super::scripts::ScriptName;

/// `SET`'s existence condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetCondition {
    /// Only set a key that does not exist.
    Nx,
    /// Only set a key that exists.
    Xx,
}

/// `SET`'s expiry option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetExpiry {
    /// Seconds.
    Ex(i64),
    /// Milliseconds.
    Px(i64),
}

/// One end of a `ZRANGEBYSCORE` interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreBound {
    NegInf,
    PosInf,
    Inclusive(f64),
    Exclusive(f64),
}

/// The range form of `XPENDING key group [[IDLE ms] start end count [consumer]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XPendingRange {
    /// Only entries idle for at least this long (`IDLE`); `None` leaves the option out.
    pub min_idle_ms: Option<i64>,
    pub start: String,
    pub end: String,
    pub count: i64,
    /// Only this consumer's entries.
    pub consumer: Option<String>,
}

/// A Redis command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Cmd {
    Get {
        key: String,
    },
    Set {
        key: String,
        value: String,
        condition: Option<SetCondition>,
        expiry: Option<SetExpiry>,
        get: bool,
    },
    Del {
        keys: Vec<String>,
    },
    Exists {
        keys: Vec<String>,
    },
    PExpire {
        key: String,
        ms: i64,
    },
    PTtl {
        key: String,
    },
    Incr {
        key: String,
    },
    IncrBy {
        key: String,
        delta: i64,
    },
    HSet {
        key: String,
        fields: Vec<(String, String)>,
    },
    /// `HSETNX`: the field set only if it is absent; 1 set, 0 present already. A dedup record's
    /// test-and-set in one command (46.2's idempotent consumer).
    HSetNx {
        key: String,
        field: String,
        value: String,
    },
    HGet {
        key: String,
        field: String,
    },
    HDel {
        key: String,
        fields: Vec<String>,
    },
    HGetAll {
        key: String,
    },
    HIncrBy {
        key: String,
        field: String,
        delta: i64,
    },
    ZAdd {
        key: String,
        members: Vec<(f64, String)>,
    },
    ZRangeByScore {
        key: String,
        min: ScoreBound,
        max: ScoreBound,
        with_scores: bool,
        limit: Option<(i64, i64)>,
    },
    ZRem {
        key: String,
        members: Vec<String>,
    },
    /// `XADD key [NOMKSTREAM] [MAXLEN = n] id field value ...`; `id` is `*`, `ms`, `ms-*` or
    /// `ms-seq`, exactly as Redis reads it. Only exact trimming: `MAXLEN ~` trims whole
    /// listpack nodes of 100 entries, so on a small stream it would trim nothing at all. An id
    /// spelled like an option (`MAXLEN`, `MINID`, `LIMIT`, `NOMKSTREAM`) is read by Redis as that
    /// option and by the simulated store as an invalid id: callers pass ids.
    XAdd {
        key: String,
        no_mkstream: bool,
        maxlen: Option<i64>,
        id: String,
        fields: Vec<(String, String)>,
    },
    XLen {
        key: String,
    },
    /// `XRANGE key start end [COUNT n]`; `start`/`end` may be `-`, `+` or `(`-exclusive.
    XRange {
        key: String,
        start: String,
        end: String,
        count: Option<i64>,
    },
    XDel {
        key: String,
        ids: Vec<String>,
    },
    /// `XTRIM key MAXLEN = n`.
    XTrim {
        key: String,
        maxlen: i64,
    },
    /// `XGROUP CREATE key group id|$ [MKSTREAM]`.
    XGroupCreate {
        key: String,
        group: String,
        id: String,
        mkstream: bool,
    },
    XGroupDestroy {
        key: String,
        group: String,
    },
    XGroupCreateConsumer {
        key: String,
        group: String,
        consumer: String,
    },
    XGroupDelConsumer {
        key: String,
        group: String,
        consumer: String,
    },
    /// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] STREAMS key ... id ...`, one
    /// `(key, id)` pair per stream; `id` is `>` or an explicit id. The simulated store never
    /// blocks: with nothing to deliver it answers at once what Redis answers when the timeout
    /// expires (a nil reply), because a store actor answers each request when it arrives.
    /// Natively, a blocked command holds up the connection it was sent on (replies come in
    /// order), so a blocking consumer wants a connection of its own, and a `BLOCK` shorter than
    /// the connection's response timeout.
    XReadGroup {
        group: String,
        consumer: String,
        count: Option<i64>,
        block_ms: Option<i64>,
        streams: Vec<(String, String)>,
    },
    XAck {
        key: String,
        group: String,
        ids: Vec<String>,
    },
    /// `XPENDING key group` (the summary) or, with `range`, the extended form.
    XPending {
        key: String,
        group: String,
        range: Option<XPendingRange>,
    },
    /// `XCLAIM key group consumer min-idle-time id ... [JUSTID]`. As in Redis, the ids end at
    /// the first argument that is not one and the rest are options; of the options only
    /// `JUSTID` is modelled, so a non-id spelled `FORCE`, `IDLE`, `TIME`, `RETRYCOUNT` or
    /// `LASTID` is an unrecognized option to the simulated store and an option to Redis.
    XClaim {
        key: String,
        group: String,
        consumer: String,
        min_idle_ms: i64,
        ids: Vec<String>,
        just_id: bool,
    },
    /// `XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]`.
    XAutoClaim {
        key: String,
        group: String,
        consumer: String,
        min_idle_ms: i64,
        start: String,
        count: Option<i64>,
        just_id: bool,
    },
    /// A named script; natively sent as `EVALSHA` of its Lua text.
    Script {
        script: ScriptName,
        keys: Vec<String>,
        args: Vec<String>,
    },
}

/// A RESP2 reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", content = "value", rename_all = "snake_case")]
pub enum Reply {
    Nil,
    /// A simple string such as `OK`.
    Status(String),
    Int(i64),
    Bulk(String),
    Array(Vec<Reply>),
    /// An error reply; the text starts with its code (`ERR`, `WRONGTYPE`, ...).
    Error(String),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status("OK".to_owned())
    }
    pub fn err(text: &str) -> Reply {
        Reply::Error(text.to_owned())
    }
    /// The error's code, e.g. `WRONGTYPE`; `None` for other replies.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => e.split_whitespace().next(),
            _ => None,
        }
    }
}

impl Cmd {
    /// The command's name, as Redis spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Cmd::Get { .. } => "GET",
            Cmd::Set { .. } => "SET",
            Cmd::Del { .. } => "DEL",
            Cmd::Exists { .. } => "EXISTS",
            Cmd::PExpire { .. } => "PEXPIRE",
            Cmd::PTtl { .. } => "PTTL",
            Cmd::Incr { .. } => "INCR",
            Cmd::IncrBy { .. } => "INCRBY",
            Cmd::HSet { .. } => "HSET",
            Cmd::HSetNx { .. } => "HSETNX",
            Cmd::HGet { .. } => "HGET",
            Cmd::HDel { .. } => "HDEL",
            Cmd::HGetAll { .. } => "HGETALL",
            Cmd::HIncrBy { .. } => "HINCRBY",
            Cmd::ZAdd { .. } => "ZADD",
            Cmd::ZRangeByScore { .. } => "ZRANGEBYSCORE",
            Cmd::ZRem { .. } => "ZREM",
            Cmd::XAdd { .. } => "XADD",
            Cmd::XLen { .. } => "XLEN",
            Cmd::XRange { .. } => "XRANGE",
            Cmd::XDel { .. } => "XDEL",
            Cmd::XTrim { .. } => "XTRIM",
            Cmd::XGroupCreate { .. }
            | Cmd::XGroupDestroy { .. }
            | Cmd::XGroupCreateConsumer { .. }
            | Cmd::XGroupDelConsumer { .. } => "XGROUP",
            Cmd::XReadGroup { .. } => "XREADGROUP",
            Cmd::XAck { .. } => "XACK",
            Cmd::XPending { .. } => "XPENDING",
            Cmd::XClaim { .. } => "XCLAIM",
            Cmd::XAutoClaim { .. } => "XAUTOCLAIM",
            Cmd::Script { .. } => "EVALSHA",
        }
    }

    /// The same command with every key prefixed: how the native runner keeps all it writes
    /// under one namespace (`distlab:{run}:`) that it can delete at exit. A few replies name a
    /// key; [`Cmd::reply_without_key_prefix`] takes the prefix back out of them.
    pub fn with_key_prefix(&self, prefix: &str) -> Cmd {
        let mut cmd = self.clone();
        for key in cmd.keys_mut() {
            key.insert_str(0, prefix);
        }
        cmd
    }

    /// The reply that this command (unprefixed) would have had, given the reply to its
    /// [`Cmd::with_key_prefix`] form: `XREADGROUP` answers with each stream's key, and the
    /// stream commands' `NOGROUP` errors quote the key (`No such key '<key>' ...`).
    pub fn reply_without_key_prefix(&self, prefix: &str, reply: Reply) -> Reply {
        match (self, reply) {
            (_, Reply::Error(e)) if e.starts_with("NOGROUP ") => Reply::Error(e.replace(&format!("'{prefix}"), "'")),
            (Cmd::XReadGroup { .. }, Reply::Array(streams)) => Reply::Array(
                streams
                    .into_iter()
                    .map(|stream| match stream {
                        Reply::Array(mut pair) => {
                            if let Some(Reply::Bulk(key)) = pair.first_mut()
                                && let Some(own) = key.strip_prefix(prefix)
                            {
                                *key = own.to_owned();
                            }
                            Reply::Array(pair)
                        }
                        other => other,
                    })
                    .collect(),
            ),
            (_, reply) => reply,
        }
    }

    /// Every key the command touches, in argument order.
    fn keys_mut(&mut self) -> Vec<&mut String> {
        match self {
            Cmd::Del { keys } | Cmd::Exists { keys } | Cmd::Script { keys, .. } => keys.iter_mut().collect(),
            Cmd::XReadGroup { streams, .. } => streams.iter_mut().map(|(key, _)| key).collect(),
            Cmd::Get { key }
            | Cmd::Set { key, .. }
            | Cmd::PExpire { key, .. }
            | Cmd::PTtl { key }
            | Cmd::Incr { key }
            | Cmd::IncrBy { key, .. }
            | Cmd::HSet { key, .. }
            | Cmd::HSetNx { key, .. }
            | Cmd::HGet { key, .. }
            | Cmd::HDel { key, .. }
            | Cmd::HGetAll { key }
            | Cmd::HIncrBy { key, .. }
            | Cmd::ZAdd { key, .. }
            | Cmd::ZRangeByScore { key, .. }
            | Cmd::ZRem { key, .. }
            | Cmd::XAdd { key, .. }
            | Cmd::XLen { key }
            | Cmd::XRange { key, .. }
            | Cmd::XDel { key, .. }
            | Cmd::XTrim { key, .. }
            | Cmd::XGroupCreate { key, .. }
            | Cmd::XGroupDestroy { key, .. }
            | Cmd::XGroupCreateConsumer { key, .. }
            | Cmd::XGroupDelConsumer { key, .. }
            | Cmd::XAck { key, .. }
            | Cmd::XPending { key, .. }
            | Cmd::XClaim { key, .. }
            | Cmd::XAutoClaim { key, .. } => vec![key],
        }
    }

    /// The arguments after the command name, exactly as they would go to Redis (for a script:
    /// its name stands where the SHA will, followed by the key count, keys and arguments).
    pub fn args(&self) -> Vec<String> {
        let s = |v: &str| v.to_owned();
        match self {
            Cmd::Get { key } | Cmd::PTtl { key } | Cmd::Incr { key } | Cmd::HGetAll { key } => {
                vec![s(key)]
            }
            Cmd::Set { key, value, condition, expiry, get } => {
                let mut a = vec![s(key), s(value)];
                match condition {
                    Some(SetCondition::Nx) => a.push(s("NX")),
                    Some(SetCondition::Xx) => a.push(s("XX")),
                    None => {}
                }
                if *get {
                    a.push(s("GET"));
                }
                match expiry {
                    Some(SetExpiry::Ex(secs)) => a.extend([s("EX"), secs.to_string()]),
                    Some(SetExpiry::Px(ms)) => a.extend([s("PX"), ms.to_string()]),
                    None => {}
                }
                a
            }
            Cmd::Del { keys } | Cmd::Exists { keys } => keys.clone(),
            Cmd::PExpire { key, ms } => vec![s(key), ms.to_string()],
            Cmd::IncrBy { key, delta } => vec![s(key), delta.to_string()],
            Cmd::HSet { key, fields } => {
                let mut a = vec![s(key)];
                a.extend(fields.iter().flat_map(|(f, v)| [s(f), s(v)]));
                a
            }
            Cmd::HSetNx { key, field, value } => vec![s(key), s(field), s(value)],
            Cmd::HGet { key, field } => vec![s(key), s(field)],
            Cmd::HDel { key, fields } => std::iter::once(s(key)).chain(fields.iter().cloned()).collect(),
            Cmd::HIncrBy { key, field, delta } => vec![s(key), s(field), delta.to_string()],
            Cmd::ZAdd { key, members } => {
                let mut a = vec![s(key)];
                a.extend(members.iter().flat_map(|(score, m)| [score_arg(*score), s(m)]));
                a
            }
            Cmd::ZRangeByScore { key, min, max, with_scores, limit } => {
                let mut a = vec![s(key), bound_arg(*min), bound_arg(*max)];
                if *with_scores {
                    a.push(s("WITHSCORES"));
                }
                if let Some((offset, count)) = limit {
                    a.extend([s("LIMIT"), offset.to_string(), count.to_string()]);
                }
                a
            }
            Cmd::ZRem { key, members } => std::iter::once(s(key)).chain(members.iter().cloned()).collect(),
            Cmd::XAdd { .. }
            | Cmd::XLen { .. }
            | Cmd::XRange { .. }
            | Cmd::XDel { .. }
            | Cmd::XTrim { .. }
            | Cmd::XGroupCreate { .. }
            | Cmd::XGroupDestroy { .. }
            | Cmd::XGroupCreateConsumer { .. }
            | Cmd::XGroupDelConsumer { .. }
            | Cmd::XReadGroup { .. }
            | Cmd::XAck { .. }
            | Cmd::XPending { .. }
            | Cmd::XClaim { .. }
            | Cmd::XAutoClaim { .. } => self.stream_args(),
            Cmd::Script { script, keys, args } => {
                let mut a = vec![s(script.as_str()), keys.len().to_string()];
                a.extend(keys.iter().cloned());
                a.extend(args.iter().cloned());
                a
            }
        }
    }
}

impl Cmd {
    /// [`Cmd::args`] of the stream commands (it sends only those here).
    fn stream_args(&self) -> Vec<String> {
        let s = |v: &str| v.to_owned();
        let pairs = |a: &mut Vec<String>, fields: &[(String, String)]| {
            a.extend(fields.iter().flat_map(|(f, v)| [s(f), s(v)]));
        };
        match self {
            Cmd::XAdd { key, no_mkstream, maxlen, id, fields } => {
                let mut a = vec![s(key)];
                if *no_mkstream {
                    a.push(s("NOMKSTREAM"));
                }
                if let Some(n) = maxlen {
                    a.extend([s("MAXLEN"), s("="), n.to_string()]);
                }
                a.push(s(id));
                pairs(&mut a, fields);
                a
            }
            Cmd::XLen { key } => vec![s(key)],
            Cmd::XRange { key, start, end, count } => {
                let mut a = vec![s(key), s(start), s(end)];
                if let Some(n) = count {
                    a.extend([s("COUNT"), n.to_string()]);
                }
                a
            }
            Cmd::XDel { key, ids } => std::iter::once(s(key)).chain(ids.iter().cloned()).collect(),
            Cmd::XTrim { key, maxlen } => vec![s(key), s("MAXLEN"), s("="), maxlen.to_string()],
            Cmd::XGroupCreate { key, group, id, mkstream } => {
                let mut a = vec![s("CREATE"), s(key), s(group), s(id)];
                if *mkstream {
                    a.push(s("MKSTREAM"));
                }
                a
            }
            Cmd::XGroupDestroy { key, group } => vec![s("DESTROY"), s(key), s(group)],
            Cmd::XGroupCreateConsumer { key, group, consumer } => {
                vec![s("CREATECONSUMER"), s(key), s(group), s(consumer)]
            }
            Cmd::XGroupDelConsumer { key, group, consumer } => vec![s("DELCONSUMER"), s(key), s(group), s(consumer)],
            Cmd::XReadGroup { group, consumer, count, block_ms, streams } => {
                let mut a = vec![s("GROUP"), s(group), s(consumer)];
                if let Some(n) = count {
                    a.extend([s("COUNT"), n.to_string()]);
                }
                if let Some(ms) = block_ms {
                    a.extend([s("BLOCK"), ms.to_string()]);
                }
                a.push(s("STREAMS"));
                a.extend(streams.iter().map(|(key, _)| s(key)));
                a.extend(streams.iter().map(|(_, id)| s(id)));
                a
            }
            Cmd::XAck { key, group, ids } => [s(key), s(group)].into_iter().chain(ids.iter().cloned()).collect(),
            Cmd::XPending { key, group, range } => {
                let mut a = vec![s(key), s(group)];
                if let Some(r) = range {
                    if let Some(ms) = r.min_idle_ms {
                        a.extend([s("IDLE"), ms.to_string()]);
                    }
                    a.extend([s(&r.start), s(&r.end), r.count.to_string()]);
                    a.extend(r.consumer.iter().cloned());
                }
                a
            }
            Cmd::XClaim { key, group, consumer, min_idle_ms, ids, just_id } => {
                let mut a = vec![s(key), s(group), s(consumer), min_idle_ms.to_string()];
                a.extend(ids.iter().cloned());
                if *just_id {
                    a.push(s("JUSTID"));
                }
                a
            }
            Cmd::XAutoClaim { key, group, consumer, min_idle_ms, start, count, just_id } => {
                let mut a = vec![s(key), s(group), s(consumer), min_idle_ms.to_string(), s(start)];
                if let Some(n) = count {
                    a.extend([s("COUNT"), n.to_string()]);
                }
                if *just_id {
                    a.push(s("JUSTID"));
                }
                a
            }
            _ => unreachable!("{} is not a stream command", self.name()),
        }
    }
}

/// A score as Redis parses it back exactly: Rust prints the shortest string that round-trips.
fn score_arg(score: f64) -> String {
    if score.is_infinite() {
        return if score > 0.0 { "+inf".to_owned() } else { "-inf".to_owned() };
    }
    score.to_string()
}

fn bound_arg(bound: ScoreBound) -> String {
    match bound {
        ScoreBound::NegInf => "-inf".to_owned(),
        ScoreBound::PosInf => "+inf".to_owned(),
        ScoreBound::Inclusive(v) => score_arg(v),
        ScoreBound::Exclusive(v) => format!("({}", score_arg(v)),
    }
}

/// `SET key value ...` as Redis would print it, for traces and logs.
impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())?;
        for a in self.args() {
            if a.is_empty() || a.contains(char::is_whitespace) {
                write!(f, " {a:?}")?;
            } else {
                write!(f, " {a}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_print_as_redis_argv() {
        let set = Cmd::Set {
            key: "lock".into(),
            value: "token 1".into(),
            condition: Some(SetCondition::Nx),
            expiry: Some(SetExpiry::Px(30_000)),
            get: false,
        };
        assert_eq!(set.to_string(), r#"SET lock "token 1" NX PX 30000"#);
        let z = Cmd::ZRangeByScore {
            key: "z".into(),
            min: ScoreBound::Exclusive(1.5),
            max: ScoreBound::PosInf,
            with_scores: true,
            limit: Some((0, 10)),
        };
        assert_eq!(z.to_string(), "ZRANGEBYSCORE z (1.5 +inf WITHSCORES LIMIT 0 10");
        let script =
            Cmd::Script { script: ScriptName::CompareAndDelete, keys: vec!["lock".into()], args: vec!["t1".into()] };
        assert_eq!(script.to_string(), "EVALSHA compare_and_delete 1 lock t1");
        let prefixed = script.with_key_prefix("distlab:r1:");
        assert_eq!(prefixed.to_string(), "EVALSHA compare_and_delete 1 distlab:r1:lock t1");
        let del = Cmd::Del { keys: vec!["a".into(), "b".into()] }.with_key_prefix("p:");
        assert_eq!(del.to_string(), "DEL p:a p:b");
        let hset = Cmd::HSet { key: "h".into(), fields: vec![("f".into(), "v".into())] }.with_key_prefix("p:");
        assert_eq!(hset.to_string(), "HSET p:h f v", "fields are not keys");
        assert_eq!(set.with_key_prefix("p:").to_string(), r#"SET p:lock "token 1" NX PX 30000"#);
    }
}
