//! A cache service that loads and writes on the application's behalf (46.3): read-through (it
//! loads on a miss; writes go to the database and invalidate), write-through (a write updates the
//! database, then the cache, and is acknowledged after both) and write-behind (a write is
//! acknowledged once cached; dirty rows are flushed in batches). Its memory is volatile: a crash
//! loses the cache, and with write-behind every acknowledged write not yet flushed.

use std::collections::BTreeMap;

use super::world::{CacheMsg, CacheObs, CacheProtocol, Pattern, Row};
use super::{Lru, Policy};
use crate::actor::{Actor, Ctx, NodeId};
use crate::sim::{SimDuration, SimTime};

crate::timers! {
    /// The cache service's one timer.
    pub enum ServiceTimer {
        /// Write-behind: time to flush the dirty rows to the database.
        Flush = 0,
    }
}

#[derive(Clone, Copy, Debug)]
struct Cached {
    row: Row,
    expires: SimTime,
}

/// What a database answer is for.
#[derive(Clone, Debug)]
enum DbWait {
    Load {
        key: u64,
    },
    /// A client's write (read-through and write-through), to acknowledge once committed.
    Write {
        to: NodeId,
        req: u64,
        key: u64,
        write: u64,
    },
    Flush,
}

#[derive(Clone, Debug)]
pub struct CacheService {
    pattern: Pattern,
    db: NodeId,
    ttl: SimDuration,
    flush: SimDuration,
    entries: BTreeMap<u64, Cached>,
    lru: Lru,
    /// Readers waiting for a key's load: one load per key at a time.
    loading: BTreeMap<u64, Vec<(NodeId, u64)>>,
    /// Write-behind: rows acknowledged but not yet flushed, by key. They answer reads before
    /// anything else (an evicted or expired entry must not bring back the database's older row).
    dirty: BTreeMap<u64, Row>,
    db_waits: BTreeMap<u64, DbWait>,
    /// The highest version cached so far per key, remembered past eviction and expiry: answers
    /// from the database can come back out of order, and an older one must not be cached over it.
    newest: BTreeMap<u64, u64>,
    next_req: u64,
    hits: u64,
    misses: u64,
}

impl CacheService {
    pub fn new(pattern: Pattern, db: NodeId, ttl: SimDuration, flush: SimDuration, capacity: usize) -> Self {
        CacheService {
            pattern,
            db,
            ttl,
            flush,
            entries: BTreeMap::new(),
            lru: Lru::new(capacity),
            loading: BTreeMap::new(),
            dirty: BTreeMap::new(),
            db_waits: BTreeMap::new(),
            newest: BTreeMap::new(),
            next_req: 0,
            hits: 0,
            misses: 0,
        }
    }

    fn db(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, msg: impl FnOnce(u64) -> CacheMsg, wait: DbWait) {
        self.next_req += 1;
        self.db_waits.insert(self.next_req, wait);
        ctx.send(self.db, msg(self.next_req));
    }

    fn fresh(&self, key: u64, now: SimTime) -> Option<Row> {
        self.entries.get(&key).filter(|c| now < c.expires).map(|c| c.row)
    }

    /// Caches a row the database answered with, unless a newer version was cached before.
    fn put_answer(&mut self, now: SimTime, key: u64, row: Row) {
        let newest = self.newest.entry(key).or_default();
        if row.version >= *newest {
            *newest = row.version;
            self.put(now, key, row);
        }
    }

    /// Caches `row` for `key`, evicting the least recently used row if full.
    fn put(&mut self, now: SimTime, key: u64, row: Row) {
        let mut evicted = Vec::new();
        self.lru.access_weighted(key, 1, &mut evicted);
        for old in evicted {
            self.entries.remove(&old);
        }
        self.entries.insert(key, Cached { row, expires: now.saturating_add(self.ttl) });
    }

    fn get(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, from: NodeId, req: u64, key: u64) {
        if let Some(row) = self.dirty.get(&key).copied().or_else(|| self.fresh(key, ctx.now())) {
            self.hits += 1;
            self.lru.access(key);
            ctx.send(from, CacheMsg::Value { req, key, row: Some(row), hit: true });
            return;
        }
        self.misses += 1;
        let waiting = self.loading.entry(key).or_default();
        waiting.push((from, req));
        if waiting.len() == 1 {
            self.db(ctx, |req| CacheMsg::DbGet { req, key }, DbWait::Load { key });
        }
    }

    fn put_request(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, from: NodeId, req: u64, key: u64, write: u64) {
        if self.pattern == Pattern::WriteBehind {
            let version = self.entries.get(&key).map_or(0, |c| c.row.version);
            let row = Row { version, write };
            self.put(ctx.now(), key, row);
            self.dirty.insert(key, row);
            ctx.send(from, CacheMsg::Ack { req, key, committed: false });
            return;
        }
        self.db(
            ctx,
            |r| CacheMsg::DbPut { req: r, rows: vec![(key, write)] },
            DbWait::Write { to: from, req, key, write },
        );
    }

    fn db_answer(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, req: u64, row: Option<Row>, versions: &[(u64, u64)]) {
        match self.db_waits.remove(&req) {
            Some(DbWait::Load { key }) => {
                // The database read the row when the load arrived and answered later: a write
                // cached meanwhile (write-through) is newer, and so is a write-behind row not yet
                // flushed. Neither is overwritten.
                let row = match self.dirty.get(&key) {
                    Some(&dirty) => Some(dirty),
                    None => {
                        if let Some(loaded) = row {
                            self.put_answer(ctx.now(), key, loaded);
                        }
                        self.fresh(key, ctx.now()).or(row)
                    }
                };
                for (to, req) in self.loading.remove(&key).unwrap_or_default() {
                    ctx.send(to, CacheMsg::Value { req, key, row, hit: false });
                }
            }
            Some(DbWait::Write { to, req, key, write }) => {
                let version = versions.iter().find(|(k, _)| *k == key).map_or(0, |&(_, v)| v);
                // Acknowledgements may come back out of order: a newer version cached stays.
                if self.pattern == Pattern::WriteThrough {
                    self.put_answer(ctx.now(), key, Row { version, write });
                } else if self.entries.remove(&key).is_some() {
                    self.lru.remove(key);
                }
                ctx.send(to, CacheMsg::Ack { req, key, committed: true });
            }
            Some(DbWait::Flush) | None => {}
        }
    }
}

impl Actor<CacheProtocol> for CacheService {
    type Durable = ();
    type Timer = ServiceTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CacheProtocol>) {
        if self.pattern == Pattern::WriteBehind {
            ctx.set_timer(ServiceTimer::Flush, self.flush);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, from: NodeId, msg: CacheMsg) {
        match msg {
            CacheMsg::Get { req, key } => self.get(ctx, from, req, key),
            CacheMsg::Put { req, key, write } => self.put_request(ctx, from, req, key, write),
            CacheMsg::DbRow { req, row, .. } => self.db_answer(ctx, req, row, &[]),
            CacheMsg::DbAck { req, versions } => self.db_answer(ctx, req, None, &versions),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, timer: ServiceTimer) {
        if timer != ServiceTimer::Flush {
            return;
        }
        if !self.dirty.is_empty() {
            let rows: Vec<(u64, u64)> =
                std::mem::take(&mut self.dirty).into_iter().map(|(k, r)| (k, r.write)).collect();
            ctx.observe(CacheObs::Flushed { rows: rows.len() as u64 });
            self.db(ctx, |req| CacheMsg::DbPut { req, rows }, DbWait::Flush);
        }
        ctx.set_timer(ServiceTimer::Flush, self.flush);
    }

    fn durable(&self) {}

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "pattern": self.pattern,
            "rows": self.entries.len(),
            "dirty": self.dirty.len(),
            "hits": self.hits,
            "misses": self.misses,
            "keys": self.entries.keys().take(100).collect::<Vec<_>>(),
        })
    }
}
