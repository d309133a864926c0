//! Redis's error texts, word for word, so that simulated and real replies compare equal.

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
pub const HASH_NOT_AN_INTEGER: &str = "ERR hash value is not an integer";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NOT_A_FLOAT: &str = "ERR value is not a valid float";
pub const MIN_MAX_NOT_FLOAT: &str = "ERR min or max is not a float";

pub fn arity(command: &str) -> String {
    format!("ERR wrong number of arguments for '{command}' command")
}

pub fn invalid_expire(command: &str) -> String {
    format!("ERR invalid expire time in '{command}' command")
}
