//! A Redis-semantics store (design.md, rule 4): an in-memory keyspace driven by [`Cmd`] values
//! that answer [`Reply`] values, served inside the simulation by the [`StoreNode`] actor and,
//! natively, replaced by a real Redis that receives the very same commands.
//!
//! Supported: `GET`, `SET` (`NX`/`XX`/`EX`/`PX`/`GET`), `DEL`, `EXISTS`, `PEXPIRE`, `PTTL`,
//! `INCR`/`INCRBY`, `HSET`/`HGET`/`HDEL`/`HGETALL`/`HINCRBY`, `ZADD`/`ZRANGEBYSCORE`/`ZREM`,
//! the streams and consumer groups that the message queue of 46.2 runs on natively (`XADD`,
//! `XLEN`, `XRANGE`, `XDEL`, `XTRIM`, `XGROUP CREATE`/`DESTROY`/`CREATECONSUMER`/`DELCONSUMER`,
//! `XREADGROUP`, `XACK`, `XPENDING`, `XCLAIM`, `XAUTOCLAIM`) and the named scripts of
//! [`ScriptName`].

mod cmd;
mod errors;
mod keyspace;
mod node;
mod number;
mod scripts;
mod stream_id;
pub mod workload;

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

pub use cmd::{Cmd, Reply, ScoreBound, SetCondition, SetExpiry, XPendingRange};
pub use errors::{HASH_NOT_AN_INTEGER, NOT_AN_INTEGER, OVERFLOW, WRONGTYPE};
pub use keyspace::Keyspace;
pub use node::{CarriesStore, StoreConfig, StoreMsg, StoreNode, StoreTraffic};
pub use number::{format_score, parse_i64};
pub use scripts::ScriptName;
pub use stream_id::StreamId;
