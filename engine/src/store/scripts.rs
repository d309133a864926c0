//! Named scripts: each is a Lua text (sent to a real Redis with `EVALSHA`) and its Rust twin
//! (run by the simulated store). The two must agree reply for reply; the differential tests hold
//! them to it. Lua runs atomically in Redis, and the twin runs inside one `apply`, so both are
//! atomic with respect to other commands.

use serde::{Deserialize, Serialize};

use super::cmd::{Cmd, Reply, SetCondition, SetExpiry};
use super::keyspace::Keyspace;
use super::{errors, number};

/// The scripts the store knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptName {
    /// `KEYS[1]`, `ARGV[1] = expected`: delete the key only if it holds `expected`.
    CompareAndDelete,
    /// `KEYS[1]`, `ARGV[1] = expected`, `ARGV[2] = ms`: `PEXPIRE` only if it holds `expected`.
    CompareAndPExpire,
    /// `KEYS[1] = lock`, `KEYS[2] = counter`, `ARGV[1] = owner`, `ARGV[2] = lease ms`: `SET NX PX`
    /// and, if it set, the fencing token `INCR counter`; 0 when the lock is held.
    AcquireFenced,
}

impl ScriptName {
    pub const ALL: [ScriptName; 3] =
        [ScriptName::CompareAndDelete, ScriptName::CompareAndPExpire, ScriptName::AcquireFenced];

    pub fn as_str(self) -> &'static str {
        match self {
            ScriptName::CompareAndDelete => "compare_and_delete",
            ScriptName::CompareAndPExpire => "compare_and_pexpire",
            ScriptName::AcquireFenced => "acquire_fenced",
        }
    }

    /// The Lua text a real Redis runs.
    pub fn lua(self) -> &'static str {
        match self {
            ScriptName::CompareAndDelete => include_str!("scripts/compare_and_delete.lua"),
            ScriptName::CompareAndPExpire => include_str!("scripts/compare_and_pexpire.lua"),
            ScriptName::AcquireFenced => include_str!("scripts/acquire_fenced.lua"),
        }
    }

    /// `(keys, args)` counts the script expects.
    fn arity(self) -> (usize, usize) {
        match self {
            ScriptName::CompareAndDelete => (1, 1),
            ScriptName::CompareAndPExpire => (1, 2),
            ScriptName::AcquireFenced => (2, 2),
        }
    }

    /// The Rust twin of [`ScriptName::lua`].
    pub(crate) fn run(self, ks: &mut Keyspace, now_ms: i64, keys: &[String], args: &[String]) -> Reply {
        if (keys.len(), args.len()) != self.arity() {
            let (k, a) = self.arity();
            return Reply::Error(format!(
                "ERR script {} takes {k} key(s) and {a} argument(s), got {} and {}",
                self.as_str(),
                keys.len(),
                args.len()
            ));
        }
        if self == ScriptName::AcquireFenced {
            return acquire_fenced(ks, now_ms, &keys[0], &keys[1], &args[0], &args[1]);
        }
        let key = &keys[0];
        let holds_expected = match ks.get(now_ms, key) {
            Reply::Bulk(v) => v == args[0],
            Reply::Nil => false,
            err => return err,
        };
        match self {
            ScriptName::CompareAndDelete if holds_expected => ks.del(now_ms, std::slice::from_ref(key)),
            ScriptName::CompareAndPExpire if holds_expected => match number::parse_i64(&args[1]) {
                Some(ms) => ks.pexpire(now_ms, key, ms),
                None => Reply::err(errors::NOT_AN_INTEGER),
            },
            _ => Reply::Int(0),
        }
    }
}

/// The twin of `acquire_fenced.lua`: the `SET` with its argument checks, then `INCR`.
fn acquire_fenced(ks: &mut Keyspace, now_ms: i64, lock: &str, counter: &str, owner: &str, lease: &str) -> Reply {
    let Some(lease_ms) = number::parse_i64(lease) else {
        return Reply::err(errors::NOT_AN_INTEGER);
    };
    let set = Cmd::Set {
        key: lock.to_owned(),
        value: owner.to_owned(),
        condition: Some(SetCondition::Nx),
        expiry: Some(SetExpiry::Px(lease_ms)),
        get: false,
    };
    match ks.apply(now_ms, &set) {
        Reply::Status(_) => match ks.apply(now_ms, &Cmd::Incr { key: counter.to_owned() }) {
            Reply::Int(token) => Reply::Int(through_lua_number(token)),
            other => other,
        },
        Reply::Nil => Reply::Int(0),
        err => err,
    }
}

/// A Lua number is a double, and Redis turns a script's number back into an integer reply with
/// C's `(long long)` cast: integers beyond 2^53 lose precision, and 2^63 (the double nearest to
/// `i64::MAX`) becomes `i64::MIN`, as x86 converts an out-of-range double. The differential tests
/// caught the difference; no lock will ever see such a token, but the twin must answer as Redis.
#[expect(clippy::cast_possible_truncation, reason = "C's double to long long conversion, on purpose")]
fn through_lua_number(v: i64) -> i64 {
    let d = v as f64;
    if d >= 9_223_372_036_854_775_808.0 { i64::MIN } else { d as i64 }
}

#[cfg(test)]
mod tests {
    use super::through_lua_number;

    #[test]
    fn script_integers_pass_through_a_double() {
        assert_eq!(through_lua_number(42), 42);
        assert_eq!(through_lua_number(9_007_199_254_740_993), 9_007_199_254_740_992, "2^53 + 1 rounds");
        assert_eq!(through_lua_number(i64::MIN + 1), i64::MIN);
        assert_eq!(through_lua_number(i64::MAX - 2), i64::MIN, "rounds to 2^63, which x86 turns into i64::MIN");
    }
}
