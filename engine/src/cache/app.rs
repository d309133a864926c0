//! An application server using a cache (46.3): its own seeded workload of reads and writes, and
//! the chapter's patterns and protections as message exchanges with the cache and the database.
//!
//! Cache-aside read: `GET cache:<key>`; on a miss, load the row and `SET` it with a lifetime.
//! Cache-aside write: update the database, then delete the cached key, and with
//! [`Fix::DoubleDelete`] delete it again later, or with [`Fix::Versioned`] leave a tombstone of
//! the new version that older fills cannot overwrite. The protections (46.3): a Bloom filter of
//! the existing keys and null caching (penetration), lifetime jitter and warm-up (avalanche),
//! single-flight inside this server, a `SET NX` mutex across servers and XFetch early refresh
//! (breakdown). With the other patterns the server only sends `Get`/`Put` to the cache service.

use std::collections::BTreeMap;

use super::BloomFilter;
use super::workload::Zipf;
use super::world::{
    CacheMsg, CacheObs, CacheProtocol, Entry, Fix, Pattern, PatternConfig, Row, Source, cache_key, lock_key,
};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::sim::{SimDuration, SimTime};
use crate::store::{Cmd, Reply, ScriptName, SetCondition, SetExpiry, StoreMsg};

/// An application server's timers. (Small numbers: the page reads timer ids from the trace as
/// JavaScript numbers.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppTimer {
    /// The workload's next request.
    Tick,
    /// The sweep over store requests that were never answered (the cache crashed with them).
    Sweep,
    /// Something the server does later: the entry of that number in its `later` table.
    Later(u64),
}

impl Timer for AppTimer {
    fn id(self) -> TimerId {
        match self {
            AppTimer::Tick => TimerId(0),
            AppTimer::Sweep => TimerId(1),
            AppTimer::Later(n) => TimerId(n),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(match id.0 {
            0 => AppTimer::Tick,
            1 => AppTimer::Sweep,
            n => AppTimer::Later(n),
        })
    }
}

/// Where the server sends what.
#[derive(Clone, Copy, Debug)]
pub struct Wiring {
    /// Its index among the application servers (names its writes and its lock owner).
    pub index: u32,
    pub db: NodeId,
    /// The store (cache-aside) or the cache service (the other patterns).
    pub cache: NodeId,
    /// Put before every cache and mutex key.
    pub prefix: &'static str,
}

/// Why an operation exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    /// The server's workload: in a closed loop, its end makes room for the next.
    Workload,
    /// One of the burst's reads.
    Burst,
    /// A background refresh (XFetch): it answers nobody.
    Refresh,
}

#[derive(Clone, Debug)]
struct Op {
    key: u64,
    started: SimTime,
    kind: OpKind,
}

/// What a store reply answers.
#[derive(Clone, Copy, Debug)]
enum StoreWait {
    /// The first `GET` of a read.
    Get {
        op: u64,
    },
    /// A `GET` by a reader polling while another holds the key's mutex.
    Poll {
        op: u64,
    },
    Lock {
        op: u64,
    },
    /// The `GET` after taking the mutex: the previous holder may have filled the key already.
    Recheck {
        op: u64,
    },
    /// A single-flight fill: until it is answered, a miss on its key may be a `GET` the store
    /// answered before the fill landed, and takes the loaded row instead of loading again.
    Filled {
        key: u64,
    },
    /// Other fills, deletes, unlocks: nothing waits on them.
    Nothing,
}

#[derive(Clone, Copy, Debug)]
enum DbWait {
    /// A load, sent at `sent` (XFetch's δ is what it takes).
    Load {
        op: u64,
        locked: bool,
        sent: SimTime,
    },
    Write {
        op: u64,
        write: u64,
    },
    Scan {
        started: SimTime,
    },
}

#[derive(Clone, Copy, Debug)]
enum Later {
    Poll {
        op: u64,
    },
    SecondDelete {
        key: u64,
    },
    Burst,
    /// The closed loop's requests that finished at once, paced to the next millisecond.
    Replenish,
}

/// One in-flight load and the reads waiting for it.
#[derive(Clone, Debug, Default)]
struct Flight {
    followers: Vec<u64>,
    polls: u32,
}

#[derive(Clone, Debug)]
pub struct App {
    cfg: PatternConfig,
    wiring: Wiring,
    incarnation: u64,
    zipf: Zipf,
    bloom: Option<BloomFilter>,
    next_req: u64,
    next_op: u64,
    next_write: u64,
    next_timer: u64,
    ops: BTreeMap<u64, Op>,
    /// Flights by leading op.
    flights: BTreeMap<u64, Flight>,
    /// With single-flight: the leading op of each key's flight.
    flying: BTreeMap<u64, u64>,
    /// With single-flight: rows loaded whose fill the store has not answered yet, with the fill's
    /// request.
    filling: BTreeMap<u64, (Option<u64>, u64)>,
    /// Store requests waiting for their answer, and when they were sent.
    store_waits: BTreeMap<u64, (StoreWait, SimTime)>,
    db_waits: BTreeMap<u64, DbWait>,
    /// Requests to the cache service: the op, and the write it carries (0 for a read).
    service_waits: BTreeMap<u64, (u64, u64)>,
    later: BTreeMap<u64, Later>,
    /// Closed loop: requests owed, whether they are being sent, and whether a pacing timer is set.
    owed: u64,
    replenishing: bool,
    paced: bool,
    reads: u64,
    hits: u64,
    loads: u64,
}

impl App {
    /// `incarnation` is what survived a crash: it keeps write ids unique across restarts.
    pub fn new(cfg: PatternConfig, wiring: Wiring, incarnation: Option<u64>) -> Self {
        // Validated configurations have at least one key, so the filter always builds.
        let bloom = if cfg.bloom { BloomFilter::new(cfg.keys, 0.01).ok() } else { None }.map(|mut filter| {
            (0..cfg.keys).for_each(|k| filter.insert(k));
            filter
        });
        App {
            zipf: Zipf::new(cfg.keys, cfg.zipf_s),
            bloom,
            cfg,
            wiring,
            incarnation: incarnation.map_or(0, |i| i + 1),
            next_req: 0,
            next_op: 0,
            next_write: 0,
            next_timer: 1,
            ops: BTreeMap::new(),
            flights: BTreeMap::new(),
            flying: BTreeMap::new(),
            filling: BTreeMap::new(),
            store_waits: BTreeMap::new(),
            db_waits: BTreeMap::new(),
            service_waits: BTreeMap::new(),
            later: BTreeMap::new(),
            owed: 0,
            replenishing: false,
            paced: false,
            reads: 0,
            hits: 0,
            loads: 0,
        }
    }

    fn store(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, cmd: Cmd, wait: StoreWait) {
        self.next_req += 1;
        if !matches!(wait, StoreWait::Nothing) {
            self.store_waits.insert(self.next_req, (wait, ctx.now()));
        }
        ctx.send(self.wiring.cache, StoreMsg::Request { req: self.next_req, cmd }.into());
    }

    fn db(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, msg: impl FnOnce(u64) -> CacheMsg, wait: DbWait) {
        self.next_req += 1;
        self.db_waits.insert(self.next_req, wait);
        ctx.send(self.wiring.db, msg(self.next_req));
    }

    fn after(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, delay: SimDuration, what: Later) {
        self.next_timer += 1;
        self.later.insert(self.next_timer, what);
        ctx.set_timer(AppTimer::Later(self.next_timer), delay);
    }

    fn interval(&self) -> SimDuration {
        SimDuration::from_micros(1_000_000 / self.cfg.rate_per_s.max(1))
    }

    /// A fill's lifetime: `ttl_ms`, spread by the jitter.
    fn lifetime_ms(&self, ctx: &mut Ctx<'_, CacheProtocol>) -> u64 {
        let spread = self.cfg.ttl_ms * u64::from(self.cfg.jitter_percent) / 100;
        if spread == 0 { self.cfg.ttl_ms } else { self.cfg.ttl_ms - spread + ctx.rng().below(2 * spread + 1) }
    }

    fn new_op(&mut self, ctx: &Ctx<'_, CacheProtocol>, key: u64, kind: OpKind) -> u64 {
        self.next_op += 1;
        self.ops.insert(self.next_op, Op { key, started: ctx.now(), kind });
        self.next_op
    }

    fn read(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, key: u64, kind: OpKind) {
        let op = self.new_op(ctx, key, kind);
        if self.cfg.pattern != Pattern::CacheAside {
            self.next_req += 1;
            self.service_waits.insert(self.next_req, (op, 0));
            ctx.send(self.wiring.cache, CacheMsg::Get { req: self.next_req, key });
            return;
        }
        if let Some(bloom) = &self.bloom
            && !bloom.might_contain(key)
        {
            self.finish(ctx, op, None, Source::Filter);
            return;
        }
        self.store(ctx, Cmd::Get { key: cache_key(self.wiring.prefix, key) }, StoreWait::Get { op });
    }

    fn write(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, key: u64) {
        self.next_write += 1;
        // Unique per run, and below 2^53 so that the page's numbers hold it exactly.
        let write = (u64::from(self.wiring.index) + 1) << 40 | self.incarnation << 28 | self.next_write;
        let op = self.new_op(ctx, key, OpKind::Workload);
        if self.cfg.pattern != Pattern::CacheAside {
            self.next_req += 1;
            self.service_waits.insert(self.next_req, (op, write));
            ctx.send(self.wiring.cache, CacheMsg::Put { req: self.next_req, key, write });
            return;
        }
        self.db(ctx, |req| CacheMsg::DbPut { req, rows: vec![(key, write)] }, DbWait::Write { op, write });
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, write: Option<u64>, source: Source) {
        let Some(o) = self.ops.remove(&op) else { return };
        if o.kind == OpKind::Refresh {
            return;
        }
        self.reads += 1;
        if matches!(source, Source::Cache | Source::Null) {
            self.hits += 1;
        }
        let latency_us = ctx.now().saturating_since(o.started).as_micros();
        ctx.observe(CacheObs::Read { key: o.key, write, source, latency_us });
        if o.kind == OpKind::Workload {
            self.replenish(ctx);
        }
    }

    /// Ends a flight: its leader gets `source`, the reads that waited on it get [`Source::Waited`].
    fn land(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, write: Option<u64>, source: Source) {
        let key = self.ops.get(&op).map(|o| o.key);
        if let Some(key) = key
            && self.flying.get(&key) == Some(&op)
        {
            self.flying.remove(&key);
        }
        let flight = self.flights.remove(&op).unwrap_or_default();
        self.finish(ctx, op, write, source);
        for follower in flight.followers {
            self.finish(ctx, follower, write, Source::Waited);
        }
    }

    /// A read found the key in the cache (or found it missing).
    fn cached(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, reply: &Reply) {
        let entry = match reply {
            Reply::Bulk(v) => Entry::parse(v),
            _ => None,
        };
        match entry {
            Some(Entry::Value { write, expires_us, delta_us }) => {
                let key = self.ops.get(&op).map(|o| o.key);
                self.finish(ctx, op, Some(write), Source::Cache);
                if let Some(key) = key
                    && self.cfg.xfetch_beta > 0.0
                {
                    self.maybe_refresh_early(ctx, key, expires_us, delta_us);
                }
            }
            Some(Entry::Null) => self.finish(ctx, op, None, Source::Null),
            Some(Entry::Tombstone) | None => self.miss(ctx, op),
        }
    }

    /// XFetch (Vattani et al., 2015): refresh when `now − δ·β·ln(u) ≥ expiry`, u uniform in (0, 1],
    /// so the closer the expiry and the longer the recomputation δ, the likelier a refresh.
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "microsecond times far below 2^52"
    )]
    fn maybe_refresh_early(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, key: u64, expires_us: u64, delta_us: u64) {
        let u = (ctx.rng().below(1 << 53) + 1) as f64 / (1u64 << 53) as f64;
        let gap = -(delta_us as f64) * self.cfg.xfetch_beta * libm::log(u);
        // One refresh per key at a time, with or without single-flight for misses.
        if ctx.now().as_micros() + gap as u64 >= expires_us && !self.flying.contains_key(&key) {
            ctx.observe(CacheObs::EarlyRefresh { key });
            let op = self.new_op(ctx, key, OpKind::Refresh);
            self.flying.insert(key, op);
            self.flights.insert(op, Flight::default());
            self.load(ctx, op, key, false);
        }
    }

    fn miss(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64) {
        self.miss_with(ctx, op, self.cfg.mutex);
    }

    /// A miss, loading through the mutex or not (not when the cache itself did not answer).
    fn miss_with(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, mutex: bool) {
        let Some(key) = self.ops.get(&op).map(|o| o.key) else { return };
        if self.cfg.single_flight {
            if let Some(&(write, _)) = self.filling.get(&key) {
                self.finish(ctx, op, write, Source::Waited);
                return;
            }
            if let Some(&leader) = self.flying.get(&key) {
                self.flights.entry(leader).or_default().followers.push(op);
                return;
            }
            self.flying.insert(key, op);
        }
        self.flights.insert(op, Flight::default());
        if mutex {
            self.lock(ctx, op, key);
        } else {
            self.load(ctx, op, key, false);
        }
    }

    fn lock(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, key: u64) {
        let cmd = Cmd::Set {
            key: lock_key(self.wiring.prefix, key),
            value: self.owner(op),
            condition: Some(SetCondition::Nx),
            expiry: Some(SetExpiry::Px(i64::try_from(self.cfg.mutex_lock_ms).unwrap_or(i64::MAX))),
            get: false,
        };
        self.store(ctx, cmd, StoreWait::Lock { op });
    }

    fn owner(&self, op: u64) -> String {
        format!("app{}:{}:{op}", self.wiring.index, self.incarnation)
    }

    fn load(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, key: u64, locked: bool) {
        self.loads += 1;
        let sent = ctx.now();
        self.db(ctx, |req| CacheMsg::DbGet { req, key }, DbWait::Load { op, locked, sent });
    }

    fn loaded(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, wait: (u64, bool, SimTime), key: u64, row: Option<Row>) {
        let (op, locked, sent) = wait;
        match row {
            Some(row) => {
                let delta_us = ctx.now().saturating_since(sent).as_micros();
                self.fill(ctx, key, row, delta_us, StoreWait::Filled { key });
            }
            None if self.cfg.null_ttl_ms > 0 => {
                let ms = self.cfg.null_ttl_ms;
                let cmd = set_px(cache_key(self.wiring.prefix, key), format!("0:{}", Entry::Null.payload()), ms);
                self.store(ctx, cmd, StoreWait::Filled { key });
                ctx.observe(CacheObs::Filled { key, ttl_ms: ms });
            }
            None => {}
        }
        if self.cfg.single_flight && (row.is_some() || self.cfg.null_ttl_ms > 0) {
            self.filling.insert(key, (row.map(|r| r.write), self.next_req));
        }
        if locked {
            self.unlock(ctx, op, key);
        }
        self.land(ctx, op, row.map(|r| r.write), Source::Db);
    }

    /// Puts a loaded row in the cache; with the versioned fix only over something older.
    fn fill(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, key: u64, row: Row, delta_us: u64, wait: StoreWait) {
        let ms = self.lifetime_ms(ctx);
        let entry = Entry::Value { write: row.write, expires_us: ctx.now().as_micros() + ms * 1_000, delta_us };
        let rank = row.version * 2 + 1;
        let cmd = if self.cfg.fix == Fix::Versioned {
            set_if_newer(cache_key(self.wiring.prefix, key), rank, entry, ms)
        } else {
            set_px(cache_key(self.wiring.prefix, key), format!("{rank}:{}", entry.payload()), ms)
        };
        self.store(ctx, cmd, wait);
        ctx.observe(CacheObs::Filled { key, ttl_ms: ms });
    }

    fn written(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, write: u64, versions: &[(u64, u64)]) {
        let Some(o) = self.ops.remove(&op) else { return };
        let key = o.key;
        self.filling.remove(&key);
        let version = versions.iter().find(|(k, _)| *k == key).map_or(0, |&(_, v)| v);
        match self.cfg.fix {
            Fix::None => {
                self.store(ctx, Cmd::Del { keys: vec![cache_key(self.wiring.prefix, key)] }, StoreWait::Nothing)
            }
            Fix::DoubleDelete => {
                self.store(ctx, Cmd::Del { keys: vec![cache_key(self.wiring.prefix, key)] }, StoreWait::Nothing);
                self.after(ctx, SimDuration::from_millis(self.cfg.double_delete_ms), Later::SecondDelete { key });
            }
            Fix::Versioned => {
                let cmd =
                    set_if_newer(cache_key(self.wiring.prefix, key), version * 2, Entry::Tombstone, self.cfg.ttl_ms);
                self.store(ctx, cmd, StoreWait::Nothing);
            }
        }
        ctx.observe(CacheObs::WriteAcked { key, write });
        self.replenish(ctx);
    }

    fn locked(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, reply: &Reply) {
        let Some(key) = self.ops.get(&op).map(|o| o.key) else { return };
        if matches!(reply, Reply::Status(_)) {
            self.store(ctx, Cmd::Get { key: cache_key(self.wiring.prefix, key) }, StoreWait::Recheck { op });
        } else {
            self.after(ctx, SimDuration::from_millis(self.cfg.mutex_retry_ms), Later::Poll { op });
        }
    }

    /// Double-checked locking: with the mutex held, load only if the key is still missing.
    fn rechecked(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, reply: &Reply) {
        let Some(key) = self.ops.get(&op).map(|o| o.key) else { return };
        let found = match reply {
            Reply::Bulk(v) => Entry::parse(v),
            _ => None,
        };
        match found {
            Some(Entry::Value { write, .. }) => {
                self.unlock(ctx, op, key);
                self.land(ctx, op, Some(write), Source::Waited);
            }
            Some(Entry::Null) => {
                self.unlock(ctx, op, key);
                self.land(ctx, op, None, Source::Waited);
            }
            Some(Entry::Tombstone) | None => self.load(ctx, op, key, true),
        }
    }

    fn unlock(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, key: u64) {
        let cmd = Cmd::Script {
            script: ScriptName::CompareAndDelete,
            keys: vec![lock_key(self.wiring.prefix, key)],
            args: vec![self.owner(op)],
        };
        self.store(ctx, cmd, StoreWait::Nothing);
    }

    /// A reader waiting on another server's mutex looks at the cache again.
    fn polled(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, op: u64, reply: &Reply) {
        let entry = match reply {
            Reply::Bulk(v) => Entry::parse(v),
            _ => None,
        };
        match entry {
            Some(Entry::Value { write, .. }) => self.land(ctx, op, Some(write), Source::Waited),
            Some(Entry::Null) => self.land(ctx, op, None, Source::Waited),
            Some(Entry::Tombstone) | None => {
                let Some(key) = self.ops.get(&op).map(|o| o.key) else { return };
                let flight = self.flights.entry(op).or_default();
                flight.polls += 1;
                if flight.polls >= self.cfg.mutex_tries {
                    self.load(ctx, op, key, false);
                } else {
                    self.lock(ctx, op, key);
                }
            }
        }
    }

    /// Store requests unanswered for `request_timeout_ms` are given up (a crashed cache never
    /// answers): a read loads from the database without the cache's help, a poll counts as a
    /// miss, a fill no longer stands in for the cache.
    fn sweep(&mut self, ctx: &mut Ctx<'_, CacheProtocol>) {
        let timeout = SimDuration::from_millis(self.cfg.request_timeout_ms);
        let now = ctx.now();
        let expired: Vec<(u64, StoreWait)> = self
            .store_waits
            .iter()
            .filter(|(_, (_, sent))| sent.saturating_add(timeout) <= now)
            .map(|(&req, &(wait, _))| (req, wait))
            .collect();
        if !expired.is_empty() {
            ctx.observe(CacheObs::Unanswered { requests: expired.len() as u64 });
        }
        for (req, wait) in expired {
            self.store_waits.remove(&req);
            match wait {
                StoreWait::Get { op } => self.miss_with(ctx, op, false),
                StoreWait::Poll { op } => self.polled(ctx, op, &Reply::Nil),
                StoreWait::Lock { op } | StoreWait::Recheck { op } => {
                    if let Some(key) = self.ops.get(&op).map(|o| o.key) {
                        self.load(ctx, op, key, false);
                    }
                }
                StoreWait::Filled { key } => {
                    if self.filling.get(&key).is_some_and(|&(_, fill)| fill == req) {
                        self.filling.remove(&key);
                    }
                }
                StoreWait::Nothing => {}
            }
        }
        if !self.store_waits.is_empty() || now < SimTime::from_millis(self.cfg.duration_ms) {
            ctx.set_timer(AppTimer::Sweep, timeout);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx<'_, CacheProtocol>) {
        if self.cfg.closed_loop > 0 {
            self.owed += u64::from(self.cfg.closed_loop);
            self.drain(ctx);
        } else if self.request(ctx) {
            ctx.set_timer(AppTimer::Tick, self.interval());
        }
    }

    /// In a closed loop, a finished request makes room for the next.
    fn replenish(&mut self, ctx: &mut Ctx<'_, CacheProtocol>) {
        if self.cfg.closed_loop > 0 {
            self.owed += 1;
            self.drain(ctx);
        }
    }

    /// Sends the requests owed. A request may finish at once (a read the Bloom filter refuses)
    /// and owe another: at most `closed_loop` go out per instant, the rest a millisecond later, so
    /// that a loop of instant answers paces itself instead of never letting time pass.
    fn drain(&mut self, ctx: &mut Ctx<'_, CacheProtocol>) {
        if self.replenishing {
            return;
        }
        self.replenishing = true;
        let mut sent = 0;
        while self.owed > 0 && sent < self.cfg.closed_loop {
            self.owed -= 1;
            sent += 1;
            if !self.request(ctx) {
                self.owed = 0;
            }
        }
        self.replenishing = false;
        if self.owed > 0 && !self.paced {
            self.paced = true;
            self.after(ctx, SimDuration::from_millis(1), Later::Replenish);
        }
    }

    /// One request of the workload; false once the traffic is over.
    fn request(&mut self, ctx: &mut Ctx<'_, CacheProtocol>) -> bool {
        if ctx.now() >= SimTime::from_millis(self.cfg.duration_ms) {
            return false;
        }
        let key = self.zipf.sample(ctx.rng());
        if ctx.rng().below(100) < u64::from(self.cfg.write_percent) {
            self.write(ctx, key);
        } else if self.cfg.absent_percent > 0 && ctx.rng().below(100) < u64::from(self.cfg.absent_percent) {
            self.read(ctx, self.cfg.keys + key, OpKind::Workload);
        } else {
            self.read(ctx, key, OpKind::Workload);
        }
        true
    }
}

fn set_px(key: String, value: String, ms: u64) -> Cmd {
    Cmd::Set {
        key,
        value,
        condition: None,
        expiry: Some(SetExpiry::Px(i64::try_from(ms).unwrap_or(i64::MAX))),
        get: false,
    }
}

fn set_if_newer(key: String, rank: u64, entry: Entry, ms: u64) -> Cmd {
    Cmd::Script {
        script: ScriptName::SetIfNewer,
        keys: vec![key],
        args: vec![rank.to_string(), entry.payload(), ms.to_string()],
    }
}

impl Actor<CacheProtocol> for App {
    type Durable = u64;
    type Timer = AppTimer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CacheProtocol>) {
        if self.cfg.warmup && self.wiring.index == 0 && self.incarnation == 0 {
            let started = ctx.now();
            self.db(ctx, |req| CacheMsg::DbScan { req }, DbWait::Scan { started });
        }
        if self.cfg.rate_per_s > 0 || self.cfg.closed_loop > 0 {
            let start = SimTime::from_millis(self.cfg.start_ms).saturating_since(ctx.now());
            // Servers start a little apart, so that their requests do not all fall on one instant.
            let offset = ctx.rng().below(self.interval().as_micros().max(1));
            ctx.set_timer(AppTimer::Tick, SimDuration::from_micros(start.as_micros() + offset));
        }
        if self.cfg.request_timeout_ms > 0 {
            ctx.set_timer(AppTimer::Sweep, SimDuration::from_millis(self.cfg.request_timeout_ms));
        }
        if self.cfg.burst > 0 && self.incarnation == 0 {
            let at = SimTime::from_millis(self.cfg.burst_at_ms).saturating_since(ctx.now());
            self.after(ctx, at, Later::Burst);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, _from: NodeId, msg: CacheMsg) {
        match msg {
            CacheMsg::Store { msg: StoreMsg::Reply { req, reply } } => {
                match self.store_waits.remove(&req).map(|(w, _)| w) {
                    Some(StoreWait::Get { op }) => self.cached(ctx, op, &reply),
                    Some(StoreWait::Poll { op }) => self.polled(ctx, op, &reply),
                    Some(StoreWait::Lock { op }) => self.locked(ctx, op, &reply),
                    Some(StoreWait::Recheck { op }) => self.rechecked(ctx, op, &reply),
                    Some(StoreWait::Filled { key }) => {
                        if self.filling.get(&key).is_some_and(|&(_, fill)| fill == req) {
                            self.filling.remove(&key);
                        }
                    }
                    Some(StoreWait::Nothing) | None => {}
                }
            }
            CacheMsg::DbRow { req, key, row } => {
                if let Some(DbWait::Load { op, locked, sent }) = self.db_waits.remove(&req) {
                    self.loaded(ctx, (op, locked, sent), key, row);
                }
            }
            CacheMsg::DbAck { req, versions } => {
                if let Some(DbWait::Write { op, write }) = self.db_waits.remove(&req) {
                    self.written(ctx, op, write, &versions);
                }
            }
            CacheMsg::DbRows { req, rows } => {
                if let Some(DbWait::Scan { started }) = self.db_waits.remove(&req) {
                    // XFetch's δ for warmed rows: what loading them took.
                    let delta_us = ctx.now().saturating_since(started).as_micros();
                    for (key, row) in rows {
                        self.fill(ctx, key, row, delta_us, StoreWait::Nothing);
                    }
                }
            }
            CacheMsg::Value { req, row, hit, .. } => {
                if let Some((op, _)) = self.service_waits.remove(&req) {
                    self.finish(ctx, op, row.map(|r| r.write), if hit { Source::Cache } else { Source::Db });
                }
            }
            CacheMsg::Ack { req, key, .. } => {
                if let Some((op, write)) = self.service_waits.remove(&req)
                    && self.ops.remove(&op).is_some()
                {
                    ctx.observe(CacheObs::WriteAcked { key, write });
                    self.replenish(ctx);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, timer: AppTimer) {
        let later = match timer {
            AppTimer::Tick => return self.tick(ctx),
            AppTimer::Sweep => return self.sweep(ctx),
            AppTimer::Later(n) => n,
        };
        match self.later.remove(&later) {
            Some(Later::Poll { op }) => {
                let Some(key) = self.ops.get(&op).map(|o| o.key) else { return };
                self.store(ctx, Cmd::Get { key: cache_key(self.wiring.prefix, key) }, StoreWait::Poll { op });
            }
            Some(Later::Replenish) => {
                self.paced = false;
                self.drain(ctx);
            }
            Some(Later::SecondDelete { key }) => {
                self.store(ctx, Cmd::Del { keys: vec![cache_key(self.wiring.prefix, key)] }, StoreWait::Nothing);
            }
            Some(Later::Burst) => {
                for _ in 0..self.cfg.burst {
                    self.read(ctx, 0, OpKind::Burst);
                }
            }
            None => {}
        }
    }

    fn durable(&self) -> u64 {
        self.incarnation
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "reads": self.reads,
            "hits": self.hits,
            "loads": self.loads,
            "in_flight": self.ops.len(),
            "flights": self.flights.len(),
        })
    }
}
