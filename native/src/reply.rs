//! Translation between the engine's `Cmd`/`Reply` and the `redis` crate's commands and values,
//! so that a command means the same thing in the simulator and on a real server.

use distlab_engine::store::{Cmd, Reply};
use redis::{RedisError, Value};

/// The `redis` command for any non-script `Cmd` (scripts go through `redis::Script`).
pub fn to_redis_cmd(cmd: &Cmd) -> redis::Cmd {
    let mut c = redis::cmd(cmd.name());
    for a in cmd.args() {
        c.arg(a);
    }
    c
}

/// A RESP2 value as the engine's `Reply`.
pub fn from_value(value: Value) -> Reply {
    match value {
        Value::Nil => Reply::Nil,
        Value::Int(i) => Reply::Int(i),
        Value::BulkString(b) => Reply::Bulk(String::from_utf8_lossy(&b).into_owned()),
        Value::Array(items) | Value::Set(items) => Reply::Array(items.into_iter().map(from_value).collect()),
        Value::Map(pairs) => {
            Reply::Array(pairs.into_iter().flat_map(|(k, v)| [from_value(k), from_value(v)]).collect())
        }
        Value::SimpleString(s) => Reply::Status(s),
        Value::Okay => Reply::ok(),
        Value::ServerError(e) => Reply::Error(error_text(e.code(), e.details())),
        Value::Double(d) => Reply::Bulk(distlab_engine::store::format_score(d)),
        Value::Boolean(b) => Reply::Int(i64::from(b)),
        Value::VerbatimString { text, .. } => Reply::Bulk(text),
        Value::Attribute { data, .. } => from_value(*data),
        other => Reply::Error(format!("ERR distlab cannot represent the reply {other:?}")),
    }
}

/// A server's error reply (`WRONGTYPE ...`, `ERR ...`) as the engine's `Reply::Error`; `None`
/// when the error did not come from the server (I/O, protocol, client).
pub fn from_server_error(e: &RedisError) -> Option<Reply> {
    e.code().map(|code| Reply::Error(error_text(code, e.detail())))
}

fn error_text(code: &str, detail: Option<&str>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!("{code} {d}"),
        _ => code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distlab_engine::store::{SetCondition, SetExpiry};

    #[test]
    fn commands_become_redis_argv() {
        let cmd = Cmd::Set {
            key: "k".into(),
            value: "v".into(),
            condition: Some(SetCondition::Xx),
            expiry: Some(SetExpiry::Px(5)),
            get: true,
        };
        let packed = String::from_utf8(to_redis_cmd(&cmd).get_packed_command()).unwrap();
        assert_eq!(packed, "*7\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nXX\r\n$3\r\nGET\r\n$2\r\nPX\r\n$1\r\n5\r\n");
    }

    #[test]
    fn values_become_replies() {
        assert_eq!(from_value(Value::Okay), Reply::ok());
        assert_eq!(from_value(Value::Nil), Reply::Nil);
        assert_eq!(
            from_value(Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::Int(3)])),
            Reply::Array(vec![Reply::Bulk("a".into()), Reply::Int(3)])
        );
        assert_eq!(from_value(Value::SimpleString("PONG".into())), Reply::Status("PONG".into()));
    }
}
