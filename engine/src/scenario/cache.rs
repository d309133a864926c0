//! Scenario `cache` (46.3, exercise 3): application servers in front of a cache and a slow
//! database, with one of the chapter's patterns and any of its protections (see
//! [`PatternConfig`]). Judged: reads stay fresh (no read returns a row replaced longer ago than
//! twice the slowest database answer; promised for cache-aside with the versioned fix and for
//! write-through, as long as the cache does not crash) and no
//! acknowledged write is missing from the database (promised except for write-behind). Measured:
//! hit ratio, database load over time and its peak, penetration, stale reads, lost writes.

use crate::msg;
use std::collections::BTreeMap;

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::cache::app::{App, Wiring};
use crate::cache::database::Database;
use crate::cache::service::CacheService;
use crate::cache::world::{CacheObs, CacheProtocol, Fix, Pattern, PatternConfig, Source};
use crate::check::Verdict;
use crate::sim::{Fault, LinkConfig, Sim, SimDuration, SimTime};
use crate::store::{StoreConfig, StoreNode};

/// Width of the buckets of the database-load and expiry series.
pub const BUCKET_MS: u64 = 100;

/// How long after traffic stops the run goes on, for late flushes and loads.
const TAIL_MS: u64 = 2_000;

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: PatternConfig = setup.config()?;
    let mut sim = setup.sim(LinkConfig::default());
    let (lo, hi) = (cfg.db_latency_min_ms * 1_000, cfg.db_latency_max_ms * 1_000);
    let keys = cfg.keys;
    let db = sim.add_node("db", move |d| Database::new(keys, lo, hi, d))?;
    let cache = if cfg.pattern == Pattern::CacheAside {
        sim.add_node("cache", move |d| StoreNode::new(StoreConfig { persistent: false }, d))?
    } else {
        let (pattern, ttl, flush, capacity) =
            (cfg.pattern, SimDuration::from_millis(cfg.ttl_ms), SimDuration::from_millis(cfg.flush_ms), cfg.capacity);
        sim.add_node("cache", move |_| CacheService::new(pattern, db, ttl, flush, capacity))?
    };
    for index in 0..cfg.apps {
        let (c, wiring) = (cfg.clone(), Wiring { index, db, cache, prefix: "" });
        sim.add_node(format!("app{index}"), move |d| App::new(c.clone(), wiring, d))?;
    }
    if cfg.crash_cache_at_ms > 0 {
        let at = SimTime::from_millis(cfg.crash_cache_at_ms);
        sim.schedule(at, Fault::Crash { node: "cache".into() });
        sim.schedule(at.saturating_add(SimDuration::from_secs(1)), Fault::Restart { node: "cache".into() });
    }
    let judge = CacheJudge {
        // Fills never land over newer rows with the versioned fix, and in the write-through
        // service; a crash of a cache without persistence forgets the tombstones, so not then.
        fresh_promised: cfg.crash_cache_at_ms == 0
            && (cfg.pattern == Pattern::WriteThrough
                || cfg.pattern == Pattern::CacheAside && cfg.fix == Fix::Versioned),
        durable_promised: cfg.pattern != Pattern::WriteBehind,
        keys: cfg.keys,
        windows: Windows::of(&cfg),
    };
    setup.run(sim, SimTime::from_millis(cfg.duration_ms + TAIL_MS), judge)
}

#[derive(Clone)]
struct CacheJudge {
    fresh_promised: bool,
    durable_promised: bool,
    keys: u64,
    windows: Windows,
}

/// The time windows the report judges by, from the database's latency.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    /// A read is stale "late" when it began this long after a newer row was committed: by then
    /// the writer's delete has long landed (twice the slowest answer, plus the network), so only
    /// a stale fill explains it.
    pub late_us: u64,
    /// Loads of one key within this long of the first are one miss wave (they overlap).
    pub wave_us: u64,
}

impl Windows {
    pub fn of(cfg: &PatternConfig) -> Windows {
        let slowest = cfg.db_latency_max_ms * 1_000;
        Windows { late_us: 2 * slowest + 20_000, wave_us: slowest + 10_000 }
    }
}

/// Everything the judge measures, in one pass over the observations.
#[derive(Debug, Default)]
pub struct CacheReport {
    pub reads: u64,
    pub by_source: BTreeMap<Source, u64>,
    pub db_loads: u64,
    pub db_loads_absent: u64,
    /// Database loads per [`BUCKET_MS`] bucket.
    pub db_series: Vec<u64>,
    /// Fills per bucket of the time they expire at.
    pub expiry_series: Vec<u64>,
    pub stale_reads: u64,
    pub late_stale_reads: u64,
    /// Late stale reads per bucket of the time they began.
    pub late_stale_series: Vec<u64>,
    pub writes_acked: u64,
    /// Acknowledged writes that never reached the database and that no later commit of their
    /// key replaced (write-behind keeps only a key's last write: the earlier ones are superseded,
    /// not lost).
    pub writes_lost: u64,
    pub early_refreshes: u64,
    /// The most loads of one key within one miss wave.
    pub max_loads_per_wave: u64,
}

impl CacheReport {
    pub fn from_observations(obs: &[crate::sim::Observed<CacheObs>], windows: Windows) -> CacheReport {
        let mut r = CacheReport::default();
        // Per key: commit times by write id, in commit order.
        let mut commits: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
        let mut acked: Vec<(u64, u64, u64)> = Vec::new();
        let mut waves: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let bucket = |t: u64| usize::try_from(t / (BUCKET_MS * 1_000)).unwrap_or(usize::MAX);
        let bump = |series: &mut Vec<u64>, i: usize| {
            if i < 1 << 20 {
                if series.len() <= i {
                    series.resize(i + 1, 0);
                }
                series[i] += 1;
            }
        };
        for o in obs {
            let t = o.time.as_micros();
            match o.obs {
                CacheObs::DbLoad { key, found } => {
                    r.db_loads += 1;
                    r.db_loads_absent += u64::from(!found);
                    bump(&mut r.db_series, bucket(t));
                    // (first load's time, loads) of the key's current wave.
                    let wave = waves.entry(key).or_insert((t, 0));
                    if t - wave.0 > windows.wave_us {
                        *wave = (t, 0);
                    }
                    wave.1 += 1;
                    r.max_loads_per_wave = r.max_loads_per_wave.max(wave.1);
                }
                CacheObs::Filled { ttl_ms, .. } => bump(&mut r.expiry_series, bucket(t + ttl_ms * 1_000)),
                CacheObs::DbCommit { key, write, .. } => commits.entry(key).or_default().push((write, t)),
                CacheObs::WriteAcked { key, write } => {
                    r.writes_acked += 1;
                    acked.push((key, write, t));
                }
                CacheObs::EarlyRefresh { .. } => r.early_refreshes += 1,
                CacheObs::Read { .. }
                | CacheObs::DbScan { .. }
                | CacheObs::Flushed { .. }
                | CacheObs::Unanswered { .. } => {}
            }
        }
        for o in obs {
            let CacheObs::Read { key, write, source, latency_us } = o.obs else { continue };
            r.reads += 1;
            *r.by_source.entry(source).or_default() += 1;
            let Some(write) = write else { continue };
            let started = o.time.as_micros().saturating_sub(latency_us);
            let history = commits.get(&key).map_or(&[][..], Vec::as_slice);
            // The initial rows (write 0) come before every commit.
            let position =
                if write == 0 { Some(0) } else { history.iter().position(|&(w, _)| w == write).map(|i| i + 1) };
            let Some(position) = position else { continue };
            if let Some(&(_, replaced_at)) = history.get(position)
                && replaced_at < started
            {
                r.stale_reads += 1;
                if started - replaced_at > windows.late_us {
                    r.late_stale_reads += 1;
                    bump(&mut r.late_stale_series, bucket(started));
                }
            }
        }
        r.writes_lost = acked
            .iter()
            .filter(|&&(key, write, acked_at)| {
                let history = commits.get(&key).map_or(&[][..], Vec::as_slice);
                !history.iter().any(|&(w, at)| w == write || at > acked_at)
            })
            .count() as u64;
        r
    }

    pub fn hit_ratio(&self) -> f64 {
        let asked = self.reads - self.by_source.get(&Source::Filter).copied().unwrap_or(0);
        let hits =
            [Source::Cache, Source::Null].iter().map(|s| self.by_source.get(s).copied().unwrap_or(0)).sum::<u64>();
        if asked == 0 { 0.0 } else { hits as f64 / asked as f64 }
    }

    pub fn db_peak(&self) -> u64 {
        self.db_series.iter().copied().max().unwrap_or(0)
    }
}

impl Judge<CacheProtocol> for CacheJudge {
    fn verdicts(&self, sim: &Sim<CacheProtocol>) -> Vec<Verdict> {
        let r = CacheReport::from_observations(sim.observations(), self.windows);
        let mut fresh = if r.late_stale_reads == 0 {
            Verdict::holds(
                "fresh_reads",
                msg!("cache.fresh", reads = r.reads, stale = r.stale_reads, late_ms = self.windows.late_us / 1_000),
            )
        } else {
            Verdict::fails(
                "fresh_reads",
                msg!(
                    "cache.stale_fill",
                    late = r.late_stale_reads,
                    reads = r.reads,
                    late_ms = self.windows.late_us / 1_000
                ),
            )
        };
        fresh.promised = self.fresh_promised;
        let mut durable = if r.writes_lost == 0 {
            Verdict::holds("no_lost_writes", msg!("cache.durable", acked = r.writes_acked))
        } else {
            Verdict::fails("no_lost_writes", msg!("cache.lost", lost = r.writes_lost))
        };
        durable.promised = self.durable_promised;
        vec![fresh, durable]
    }

    fn summary(&self, sim: &Sim<CacheProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let r = CacheReport::from_observations(sim.observations(), self.windows);
        let mut s = serde_json::Map::new();
        s.insert("reads".into(), r.reads.into());
        s.insert("hit_ratio".into(), r.hit_ratio().into());
        for (source, n) in &r.by_source {
            s.insert(
                format!("reads_{}", serde_json::to_value(source).unwrap_or_default().as_str().unwrap_or("")),
                (*n).into(),
            );
        }
        s.insert("db_loads".into(), r.db_loads.into());
        s.insert("db_loads_absent".into(), r.db_loads_absent.into());
        s.insert("db_peak_per_bucket".into(), r.db_peak().into());
        s.insert("bucket_ms".into(), BUCKET_MS.into());
        s.insert("db_series".into(), r.db_series.clone().into());
        s.insert("expiry_series".into(), r.expiry_series.clone().into());
        s.insert("late_stale_series".into(), r.late_stale_series.clone().into());
        s.insert("stale_reads".into(), r.stale_reads.into());
        s.insert("late_stale_reads".into(), r.late_stale_reads.into());
        s.insert("writes_acked".into(), r.writes_acked.into());
        s.insert("writes_lost".into(), r.writes_lost.into());
        s.insert("early_refreshes".into(), r.early_refreshes.into());
        s.insert("max_loads_per_wave".into(), r.max_loads_per_wave.into());
        s.insert("keys".into(), self.keys.into());
        s
    }
}
