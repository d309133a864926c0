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
            Cmd::HGet { .. } => "HGET",
            Cmd::HDel { .. } => "HDEL",
            Cmd::HGetAll { .. } => "HGETALL",
            Cmd::HIncrBy { .. } => "HINCRBY",
            Cmd::ZAdd { .. } => "ZADD",
            Cmd::ZRangeByScore { .. } => "ZRANGEBYSCORE",
            Cmd::ZRem { .. } => "ZREM",
            Cmd::Script { .. } => "EVALSHA",
        }
    }

    /// The same command with every key prefixed: how the native runner keeps all it writes
    /// under one namespace (`distlab:{run}:`) that it can delete at exit. No reply of these
    /// commands contains a key name, so replies need no rewriting.
    pub fn with_key_prefix(&self, prefix: &str) -> Cmd {
        let mut cmd = self.clone();
        for key in cmd.keys_mut() {
            key.insert_str(0, prefix);
        }
        cmd
    }

    /// Every key the command touches, in argument order.
    fn keys_mut(&mut self) -> Vec<&mut String> {
        match self {
            Cmd::Del { keys } | Cmd::Exists { keys } | Cmd::Script { keys, .. } => keys.iter_mut().collect(),
            Cmd::Get { key }
            | Cmd::Set { key, .. }
            | Cmd::PExpire { key, .. }
            | Cmd::PTtl { key }
            | Cmd::Incr { key }
            | Cmd::IncrBy { key, .. }
            | Cmd::HSet { key, .. }
            | Cmd::HGet { key, .. }
            | Cmd::HDel { key, .. }
            | Cmd::HGetAll { key }
            | Cmd::HIncrBy { key, .. }
            | Cmd::ZAdd { key, .. }
            | Cmd::ZRangeByScore { key, .. }
            | Cmd::ZRem { key, .. } => vec![key],
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
            Cmd::Script { script, keys, args } => {
                let mut a = vec![s(script.as_str()), keys.len().to_string()];
                a.extend(keys.iter().cloned());
                a.extend(args.iter().cloned());
                a
            }
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
