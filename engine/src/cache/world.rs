//! The cache-pattern world (46.3): application servers, a cache (a Redis-like store, or a cache
//! service that loads and writes on their behalf) and a slow database, all actors. What the
//! chapter shows as a few lines of `get`/`set` becomes messages that can interleave, which is
//! where its patterns break: a slow read that fills the cache after a write invalidated it
//! (cache-aside), writes acknowledged before they reach the database (write-behind), a thousand
//! readers missing the same hot key at once (breakdown), every key expiring in the same second
//! (avalanche), and reads of keys that do not exist going straight to the database (penetration).

use serde::{Deserialize, Serialize};

use crate::actor::Protocol;
use crate::config::{ConfigError, Knobs};
use crate::store::{CarriesStore, StoreMsg};

/// The cache world's protocol.
#[derive(Debug)]
pub struct CacheProtocol;

impl Protocol for CacheProtocol {
    type Msg = CacheMsg;
    type Obs = CacheObs;
}

/// A database row: its version (1 for the initial rows, +1 per committed write) and the write
/// that produced it (0 for the initial rows). Write ids are unique per run, so a read can be
/// traced back to the write it saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub version: u64,
    pub write: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CacheMsg {
    Store {
        msg: StoreMsg,
    },
    /// Read one row (a cache miss's load).
    DbGet {
        req: u64,
        key: u64,
    },
    /// Read every row (a warm-up's batch load).
    DbScan {
        req: u64,
    },
    /// Commit writes, one per `(key, write)`, in order (one for a client's write, a batch for a
    /// write-behind flush).
    DbPut {
        req: u64,
        rows: Vec<(u64, u64)>,
    },
    DbRow {
        req: u64,
        key: u64,
        row: Option<Row>,
    },
    DbRows {
        req: u64,
        rows: Vec<(u64, Row)>,
    },
    /// The versions the committed rows got, in the order of the `DbPut`.
    DbAck {
        req: u64,
        versions: Vec<(u64, u64)>,
    },
    /// A read sent to the cache service (read-through and its kin).
    Get {
        req: u64,
        key: u64,
    },
    /// A write sent to the cache service.
    Put {
        req: u64,
        key: u64,
        write: u64,
    },
    /// The service's answer to a `Get`; `hit` when it came from the service's memory.
    Value {
        req: u64,
        key: u64,
        row: Option<Row>,
        hit: bool,
    },
    /// The service's answer to a `Put`: the write is durable (`committed`) or only cached.
    Ack {
        req: u64,
        key: u64,
        committed: bool,
    },
}

impl From<StoreMsg> for CacheMsg {
    fn from(msg: StoreMsg) -> Self {
        CacheMsg::Store { msg }
    }
}

impl CarriesStore for CacheMsg {
    fn as_store(&self) -> Option<&StoreMsg> {
        match self {
            CacheMsg::Store { msg } => Some(msg),
            _ => None,
        }
    }
}

/// Where a read's answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A cached value.
    Cache,
    /// A cached "no such row" (null caching against penetration).
    Null,
    /// The Bloom filter said the key cannot exist; nothing was asked.
    Filter,
    /// This read loaded the row from the database itself.
    Db,
    /// Another read's load answered it (single-flight), or it found the value that the mutex
    /// holder put in the cache.
    Waited,
}

/// What the actors report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CacheObs {
    /// A read finished: the write it saw (`None`: no such row), where from, and how long it took
    /// on the reader's clock.
    Read { key: u64, write: Option<u64>, source: Source, latency_us: u64 },
    /// A write was acknowledged to its client.
    WriteAcked { key: u64, write: u64 },
    /// The application put a value (or a null) in the cache, to expire in `ttl_ms`.
    Filled { key: u64, ttl_ms: u64 },
    /// XFetch decided to refresh `key` before it expires.
    EarlyRefresh { key: u64 },
    /// The database served a load.
    DbLoad { key: u64, found: bool },
    /// The database served a warm-up scan of `rows` rows.
    DbScan { rows: u64 },
    /// The database committed a write.
    DbCommit { key: u64, version: u64, write: u64 },
    /// The write-behind service flushed `rows` dirty rows.
    Flushed { rows: u64 },
    /// An application server gave up on `requests` store requests that were never answered.
    Unanswered { requests: u64 },
}

/// How the application uses the cache (46.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// The application reads the cache, loads from the database on a miss and fills the cache;
    /// a write updates the database, then deletes the cached key.
    CacheAside,
    /// The cache service loads on a miss; writes go to the database and invalidate.
    ReadThrough,
    /// The cache service loads on a miss; a write updates the database, then the cache, and is
    /// acknowledged after both.
    WriteThrough,
    /// The cache service acknowledges a write once cached and flushes dirty rows in batches.
    WriteBehind,
}

/// The cache-aside write's defence against the stale-fill race.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fix {
    /// Update the database, delete the key (the chapter's order).
    None,
    /// Delete again `double_delete_ms` later, after any slow fill should have landed.
    DoubleDelete,
    /// Fills and deletes carry the row's version: a write leaves a tombstone of its version and a
    /// fill only lands over something older (the `set_if_newer` script).
    Versioned,
}

/// Everything a cache world is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatternConfig {
    pub pattern: Pattern,
    pub fix: Fix,
    pub double_delete_ms: u64,
    /// Application servers; each runs its own workload.
    pub apps: u32,
    /// Requests per second per application server (0: none but the burst).
    pub rate_per_s: u64,
    /// Instead of a rate: requests each server keeps in flight, sending the next as one finishes
    /// (a closed loop, for benchmarks; 0: use `rate_per_s`).
    pub closed_loop: u32,
    pub write_percent: u32,
    /// Reads of keys that do not exist (penetration traffic).
    pub absent_percent: u32,
    /// Rows in the database: keys `0..keys`.
    pub keys: u64,
    pub zipf_s: f64,
    pub ttl_ms: u64,
    /// Each fill's lifetime is drawn from `ttl_ms ± jitter_percent %`.
    pub jitter_percent: u32,
    /// The first application server loads every row into the cache before traffic starts.
    pub warmup: bool,
    /// Traffic starts here, after the warm-up.
    pub start_ms: u64,
    /// Cache "no such row" for this long (0: never).
    pub null_ttl_ms: u64,
    /// A Bloom filter of the existing keys (1% false positives) in front of the cache.
    pub bloom: bool,
    /// Concurrent misses on one key in one application server share one load.
    pub single_flight: bool,
    /// A miss takes `SET lock:<key> NX PX` before loading; the others poll the cache.
    pub mutex: bool,
    pub mutex_lock_ms: u64,
    pub mutex_retry_ms: u64,
    /// Polls before a waiting reader gives up on the lock holder and loads by itself.
    pub mutex_tries: u32,
    /// XFetch's β (0: off): refresh early with probability rising as expiry nears.
    pub xfetch_beta: f64,
    /// At `burst_at_ms`, each application server reads key 0 this many times at once.
    pub burst: u32,
    pub burst_at_ms: u64,
    pub db_latency_min_ms: u64,
    pub db_latency_max_ms: u64,
    /// The cache service's capacity in rows.
    pub capacity: usize,
    /// How often the write-behind service flushes.
    pub flush_ms: u64,
    /// Crash the cache (or cache service) at this time (0: never), restarting it 1 s later.
    pub crash_cache_at_ms: u64,
    /// How long an application server waits for the cache to answer before it goes on without
    /// it (0: forever).
    pub request_timeout_ms: u64,
    /// Traffic stops here; the run ends 2 s later, so that late flushes and loads land.
    pub duration_ms: u64,
}

impl Default for PatternConfig {
    fn default() -> Self {
        PatternConfig {
            pattern: Pattern::CacheAside,
            fix: Fix::None,
            double_delete_ms: 200,
            apps: 2,
            rate_per_s: 200,
            closed_loop: 0,
            write_percent: 10,
            absent_percent: 0,
            keys: 200,
            zipf_s: 0.9,
            ttl_ms: 5_000,
            jitter_percent: 0,
            warmup: false,
            start_ms: 0,
            null_ttl_ms: 0,
            bloom: false,
            single_flight: false,
            mutex: false,
            mutex_lock_ms: 1_000,
            mutex_retry_ms: 20,
            mutex_tries: 50,
            xfetch_beta: 0.0,
            burst: 0,
            burst_at_ms: 1_000,
            db_latency_min_ms: 5,
            db_latency_max_ms: 80,
            capacity: 1_000,
            flush_ms: 1_000,
            crash_cache_at_ms: 0,
            request_timeout_ms: 1_000,
            duration_ms: 20_000,
        }
    }
}

/// Rows the database may hold (a warm-up scan sends them all in one message).
pub const KEYS_MAX: u64 = 100_000;

impl Knobs for PatternConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("apps", self.apps, 1, 64)?;
        ConfigError::check_range("rate_per_s", self.rate_per_s, 0, 100_000)?;
        ConfigError::check_range("closed_loop", self.closed_loop, 0, 10_000)?;
        ConfigError::check_range("write_percent", self.write_percent, 0, 100)?;
        ConfigError::check_range("absent_percent", self.absent_percent, 0, 100)?;
        ConfigError::check_range("keys", self.keys, 1, KEYS_MAX)?;
        if !(0.0..=5.0).contains(&self.zipf_s) {
            return Err(ConfigError::out_of_range("zipf_s", self.zipf_s, "0..=5"));
        }
        ConfigError::check_range("ttl_ms", self.ttl_ms, 1, 86_400_000)?;
        ConfigError::check_range("jitter_percent", self.jitter_percent, 0, 90)?;
        ConfigError::check_range("null_ttl_ms", self.null_ttl_ms, 0, 86_400_000)?;
        ConfigError::check_range("double_delete_ms", self.double_delete_ms, 1, 60_000)?;
        ConfigError::check_range("mutex_lock_ms", self.mutex_lock_ms, 1, 600_000)?;
        ConfigError::check_range("mutex_retry_ms", self.mutex_retry_ms, 1, 60_000)?;
        ConfigError::check_range("mutex_tries", self.mutex_tries, 1, 10_000)?;
        if !(0.0..=10.0).contains(&self.xfetch_beta) {
            return Err(ConfigError::out_of_range("xfetch_beta", self.xfetch_beta, "0..=10"));
        }
        ConfigError::check_range("burst", self.burst, 0, 100_000)?;
        ConfigError::check_range("db_latency_max_ms", self.db_latency_max_ms, 1, 60_000)?;
        ConfigError::check_range("db_latency_min_ms", self.db_latency_min_ms, 0, self.db_latency_max_ms)?;
        ConfigError::check_range("capacity", self.capacity, 1, 10_000_000)?;
        ConfigError::check_range("flush_ms", self.flush_ms, 1, 600_000)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1, 3_600_000)?;
        ConfigError::check_range("start_ms", self.start_ms, 0, self.duration_ms)?;
        ConfigError::check_range("burst_at_ms", self.burst_at_ms, 0, self.duration_ms)?;
        ConfigError::check_range("crash_cache_at_ms", self.crash_cache_at_ms, 0, self.duration_ms)?;
        ConfigError::check_range("request_timeout_ms", self.request_timeout_ms, 0, 600_000)?;
        let aside_only = self.fix != Fix::None
            || self.mutex
            || self.bloom
            || self.null_ttl_ms > 0
            || self.xfetch_beta > 0.0
            || self.warmup
            || self.jitter_percent > 0
            || self.single_flight;
        if self.pattern != Pattern::CacheAside && aside_only {
            return Err(ConfigError::out_of_range(
                "pattern",
                serde_json::to_value(self.pattern).unwrap_or_default(),
                "cache-aside when fix, mutex, bloom, null_ttl_ms, xfetch_beta, warmup, jitter_percent or single_flight is set (the cache service loads and fills by itself)",
            ));
        }
        Ok(())
    }
}

/// The cache key of row `key`, and of its mutex, under `prefix` (benchmarks give each pattern its
/// own).
pub fn cache_key(prefix: &str, key: u64) -> String {
    format!("{prefix}cache:{key}")
}

pub fn lock_key(prefix: &str, key: u64) -> String {
    format!("{prefix}lock:{key}")
}

/// A cached entry as the application stores it: `"<rank>:<payload>"`, where the rank orders
/// entries for the versioned fix (a row of version v fills at rank 2v + 1, the tombstone a write of
/// version v leaves sits at 2v, a null at 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Value { write: u64, expires_us: u64, delta_us: u64 },
    Null,
    Tombstone,
}

impl Entry {
    pub fn payload(self) -> String {
        match self {
            Entry::Value { write, expires_us, delta_us } => format!("v:{write}:{expires_us}:{delta_us}"),
            Entry::Null => "null".to_owned(),
            Entry::Tombstone => "tomb".to_owned(),
        }
    }

    /// Reads `"<rank>:<payload>"`; anything else is no entry.
    pub fn parse(stored: &str) -> Option<Entry> {
        let (_rank, payload) = stored.split_once(':')?;
        match payload {
            "null" => Some(Entry::Null),
            "tomb" => Some(Entry::Tombstone),
            _ => {
                let mut parts = payload.strip_prefix("v:")?.split(':').map(str::parse::<u64>);
                let (Some(Ok(write)), Some(Ok(expires_us)), Some(Ok(delta_us)), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return None;
                };
                Some(Entry::Value { write, expires_us, delta_us })
            }
        }
    }
}
