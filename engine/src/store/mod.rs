//! A Redis-semantics store (design.md, rule 4): an in-memory keyspace driven by [`Cmd`] values
//! that answer [`Reply`] values, served inside the simulation by the [`StoreNode`] actor and,
//! natively, replaced by a real Redis that receives the very same commands.
//!
//! Supported: `GET`, `SET` (`NX`/`XX`/`EX`/`PX`/`GET`), `DEL`, `EXISTS`, `PEXPIRE`, `PTTL`,
//! `INCR`/`INCRBY`, `HSET`/`HGET`/`HDEL`/`HGETALL`/`HINCRBY`, `ZADD`/`ZRANGEBYSCORE`/`ZREM`
//! and the named scripts of [`ScriptName`].

mod cmd;
mod errors;
mod keyspace;
mod node;
mod number;
mod scripts;
pub mod workload;

#[cfg(test)]
mod tests;

pub use cmd::{Cmd, Reply, ScoreBound, SetCondition, SetExpiry};
pub use errors::{HASH_NOT_AN_INTEGER, NOT_AN_INTEGER, OVERFLOW, WRONGTYPE};
pub use keyspace::Keyspace;
pub use node::{CarriesStore, StoreConfig, StoreMsg, StoreNode};
pub use number::{format_score, parse_i64};
pub use scripts::ScriptName;
