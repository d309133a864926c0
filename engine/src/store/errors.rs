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

pub const SYNTAX: &str = "ERR syntax error";
pub const INVALID_STREAM_ID: &str = "ERR Invalid stream ID specified as stream command argument";
pub const XADD_ID_ZERO: &str = "ERR The ID specified in XADD must be greater than 0-0";
pub const XADD_ID_TOO_SMALL: &str = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
pub const STREAM_EXHAUSTED: &str = "ERR The stream has exhausted the last possible ID, unable to add more items";
/// What `XADD key ms-*` answers when `ms` is the last id's and its sequence is at its maximum:
/// Redis reports the failed append with its fallback text (`errno` is not `EDOM` there).
pub const ELEMENTS_TOO_LARGE: &str = "ERR Elements are too large to be stored";
pub const MAXLEN_NEGATIVE: &str = "ERR The MAXLEN argument must be >= 0.";
pub const INVALID_START_ID: &str = "ERR invalid start ID for the interval";
pub const INVALID_END_ID: &str = "ERR invalid end ID for the interval";
pub const XGROUP_KEY_MISSING: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
pub const BUSYGROUP: &str = "BUSYGROUP Consumer Group name already exists";
pub const XREADGROUP_DOLLAR: &str = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const XAUTOCLAIM_COUNT: &str = "ERR COUNT must be > 0";

/// `XREADGROUP` on a missing key or group.
pub fn nogroup_readgroup(key: &str, group: &str) -> String {
    format!("NOGROUP No such key '{key}' or consumer group '{group}' in XREADGROUP with GROUP option")
}

/// `XPENDING`, `XCLAIM` and `XAUTOCLAIM` on a missing key or group.
pub fn nogroup(key: &str, group: &str) -> String {
    format!("NOGROUP No such key '{key}' or consumer group '{group}'")
}

/// `XGROUP CREATECONSUMER`/`DELCONSUMER` on a missing group.
pub fn nogroup_xgroup(group: &str, key: &str) -> String {
    format!("NOGROUP No such consumer group '{group}' for key name '{key}'")
}

pub fn unrecognized_xclaim_option(option: &str) -> String {
    format!("ERR Unrecognized XCLAIM option '{option}'")
}
