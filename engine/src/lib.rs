//! distlab's engine: the deterministic, I/O-free core shared by the browser lab (through
//! WebAssembly), the native runner (through tokio and real Redis) and the tests.
//!
//! Architecture Invariant: nothing in this crate reads a wall clock, the OS's randomness, the
//! environment or a file, and nothing prints. Time arrives as [`sim::SimTime`], randomness from
//! the simulation's one seeded [`sim::Rng`]. `clippy.toml` in this crate enforces it.
//!
//! Layout: [`sim`] is the simulator, [`actor`] the model every component is written in,
//! [`store`] a Redis-semantics keyspace served by an actor, [`hashing`] consistent hashing,
//! [`replication`] the replicated data types and the replicated store, [`coord`] failure
//! detection, election and locks, [`cache`] eviction policies and the caching patterns, [`txn`]
//! distributed transactions, [`id`] distributed IDs, [`mq`] message queues, [`balance`] load balancing, [`resilience`] rate limiting,
//! breakers, retries and failover, [`workers`] a server's workers and queue, [`check`] the property checkers, [`config`] the one reader of
//! scenario configurations, and [`scenario`] the catalogue of runnable worlds.

pub mod actor;
pub mod balance;
pub mod cache;
pub mod check;
pub mod config;
pub mod coord;
pub mod hashing;
pub mod id;
pub mod mq;
pub mod replication;
pub mod resilience;
pub mod scenario;
pub mod sim;
pub mod store;
pub mod txn;
pub mod workers;

pub use actor::{Actor, Ctx, Effect, NoTimer, NodeId, Protocol, Timer, TimerId};
pub use config::ConfigError;
