//! Named scripts: each is a Lua text (sent to a real Redis with `EVALSHA`) and its Rust twin
//! (run by the simulated store). The two must agree reply for reply; the differential tests hold
//! them to it. Lua runs atomically in Redis, and the twin runs inside one `apply`, so both are
//! atomic with respect to other commands.

use serde::{Deserialize, Serialize};

use super::cmd::Reply;
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
}

impl ScriptName {
    pub const ALL: [ScriptName; 2] = [ScriptName::CompareAndDelete, ScriptName::CompareAndPExpire];

    pub fn as_str(self) -> &'static str {
        match self {
            ScriptName::CompareAndDelete => "compare_and_delete",
            ScriptName::CompareAndPExpire => "compare_and_pexpire",
        }
    }

    /// The Lua text a real Redis runs.
    pub fn lua(self) -> &'static str {
        match self {
            ScriptName::CompareAndDelete => include_str!("scripts/compare_and_delete.lua"),
            ScriptName::CompareAndPExpire => include_str!("scripts/compare_and_pexpire.lua"),
        }
    }

    /// `(keys, args)` counts the script expects.
    fn arity(self) -> (usize, usize) {
        match self {
            ScriptName::CompareAndDelete => (1, 1),
            ScriptName::CompareAndPExpire => (1, 2),
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
