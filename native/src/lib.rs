//! The native face of distlab, as a library shared by the `distlab` binary and the tests:
//! private redis-servers ([`server`]), targets and their checks ([`target`]), the store backends
//! that execute the engine's commands on Redis or in memory ([`backend`], [`reply`]), the
//! real-time actor driver ([`driver`]), message queues on Redis Streams ([`mq`]), sagas on Redis
//! ([`saga`]), the HTTP reverse proxy around the engine's balancer ([`proxy`]) and the backends
//! it can start ([`http_backend`]), the benchmark harness ([`bench`]), distributed IDs on the system clock and Redis ([`ids`]), consistent hashing over real servers ([`shard`]) and
//! memory bounds for long work ([`memory`]).

pub mod backend;
pub mod bench;
pub mod driver;
pub mod http_backend;
pub mod ids;
pub mod memory;
pub mod mq;
pub mod proxy;
pub mod reply;
pub mod saga;
pub mod server;
pub mod shard;
pub mod target;
