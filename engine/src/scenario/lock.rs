//! Scenarios `lock` and `lock-kleppmann` (46.7.1, exercise 1): clients taking a lock on a store to
//! write to a protected resource, judged at the resource.
//!
//! `lock` runs a seeded storm: clients paused past their lease (GC pauses), the store's clock
//! jumping forward (its keys expire early), clients cut off from the store, crashed clients and
//! store restarts. `lock-kleppmann` tells Martin Kleppmann's story step by step: client c0 takes
//! the lock and pauses mid-write for twice the lease; c1 takes the expired lock and writes; c0
//! wakes up and sends its write. Without fencing the resource accepts it and the checker reports
//! the stale write; with fencing the resource rejects it. `rw-lock` runs Redisson's reentrant
//! read-write lock: writers that take their lock twice per hold, and readers sharing it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::NodeId;
use crate::check::Verdict;
use crate::check::mutex::{self, AcceptedWrite, Belief, Hold};
use crate::config::{ConfigError, Knobs};
use crate::coord::lock::{LockClient, LockClientConfig, LockMode, LockOptions, ZkClientConfig};
use crate::coord::resource::ProtectedResource;
use crate::coord::zk::CoordService;
use crate::coord::{LockObs, LockProtocol};
use crate::sim::{Fault, Happened, LinkConfig, Ratio, Rng, Sim, SimDuration, SimTime};
use crate::store::{StoreConfig, StoreNode};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockConfig {
    pub clients: u32,
    /// 1 for a plain lock; more (5 by default for `redlock`) for Redlock over independent stores.
    pub stores: u32,
    pub lease_ms: u64,
    pub wait_ms: u64,
    pub retry_ms: u64,
    pub watchdog: bool,
    pub fencing: bool,
    /// Writes per hold, each computed for `compute_ms` before it is sent.
    pub writes: u32,
    pub compute_ms: u64,
    pub think_ms: u64,
    pub store_persistent: bool,
    pub duration_ms: u64,
    pub loss_percent: u32,
    pub pauses: bool,
    pub clock_jumps: bool,
    pub partitions: bool,
    pub crashes: bool,
    pub store_restarts: bool,
    /// Extra clients, after the writers, that take the read side of a read-write lock.
    pub readers: u32,
    /// Extra acquisitions of its own lock each hold makes (reentrancy).
    pub reentry: u32,
    /// When above 0, client i starts its first round at 1 ms + i × this (a scripted story knows
    /// who takes the lock first); otherwise after a random think time.
    pub stagger_ms: u64,
}

impl Default for LockConfig {
    fn default() -> Self {
        LockConfig {
            clients: 3,
            stores: 1,
            lease_ms: 2_000,
            wait_ms: 3_000,
            retry_ms: 100,
            watchdog: true,
            fencing: true,
            writes: 3,
            compute_ms: 100,
            think_ms: 500,
            store_persistent: true,
            duration_ms: 30_000,
            loss_percent: 1,
            pauses: true,
            clock_jumps: true,
            partitions: true,
            crashes: true,
            store_restarts: true,
            readers: 0,
            reentry: 0,
            stagger_ms: 0,
        }
    }
}

impl Knobs for LockConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("clients", self.clients, 1, 10)?;
        ConfigError::check_range("stores", self.stores, 1, 9)?;
        if self.stores > 1 && self.fencing {
            return Err(ConfigError::out_of_range(
                "fencing",
                true,
                "false with several stores (Redlock): tokens from independent counters cannot be compared",
            ));
        }
        if self.stores > 1 && self.watchdog {
            return Err(ConfigError::out_of_range("watchdog", true, "false with several stores (Redlock)"));
        }
        ConfigError::check_range("lease_ms", self.lease_ms, 10, 600_000)?;
        ConfigError::check_range("wait_ms", self.wait_ms, 0, 600_000)?;
        ConfigError::check_range("retry_ms", self.retry_ms, 1, 60_000)?;
        ConfigError::check_range("writes", self.writes, 1, 1_000)?;
        ConfigError::check_range("compute_ms", self.compute_ms, 0, 600_000)?;
        ConfigError::check_range("think_ms", self.think_ms, 1, 600_000)?;
        ConfigError::check_range("duration_ms", self.duration_ms, 1, 3_600_000)?;
        ConfigError::check_range("loss_percent", self.loss_percent, 0, 50)?;
        ConfigError::check_range("readers", self.readers, 0, 10)?;
        ConfigError::check_range("reentry", self.reentry, 0, 10)?;
        ConfigError::check_range("stagger_ms", self.stagger_ms, 0, 600_000)?;
        if self.read_write() && self.stores > 1 {
            return Err(ConfigError::out_of_range("stores", self.stores, "1 with readers or reentry"));
        }
        if self.read_write() && self.fencing {
            return Err(ConfigError::out_of_range(
                "fencing",
                true,
                "false with readers or reentry (the read-write lock has no fencing counter)",
            ));
        }
        Ok(())
    }
}

impl LockConfig {
    /// Readers or reentrancy need the read-write lock (a hash) instead of the plain one.
    fn read_write(&self) -> bool {
        self.readers > 0 || self.reentry > 0
    }

    /// Writers first (`c0`, ...), then readers.
    fn mode(&self, client: u32) -> LockMode {
        match (self.read_write(), client < self.clients) {
            (false, _) => LockMode::Plain,
            (true, true) => LockMode::Write,
            (true, false) => LockMode::Read,
        }
    }

    fn client(
        &self,
        mode: LockMode,
        stores: Vec<NodeId>,
        resource: NodeId,
        first_round_after: Option<SimDuration>,
    ) -> LockClientConfig {
        LockClientConfig {
            stores,
            resource,
            key: "{lock}".to_owned(),
            options: LockOptions {
                lease: SimDuration::from_millis(self.lease_ms),
                wait: SimDuration::from_millis(self.wait_ms),
                retry: SimDuration::from_millis(self.retry_ms),
            },
            watchdog: self.watchdog,
            fencing: self.fencing,
            writes: self.writes,
            compute: SimDuration::from_millis(self.compute_ms),
            think: SimDuration::from_millis(self.think_ms),
            first_round_after,
            zookeeper: None,
            mode,
            reentry: self.reentry,
        }
    }
}

const STORE: &str = "redis";

/// The store names: `redis` alone, or `redis0`, `redis1`, ... for Redlock.
fn store_name(cfg: &LockConfig, i: u32) -> String {
    if cfg.stores == 1 { STORE.to_owned() } else { format!("{STORE}{i}") }
}
const RESOURCE: &str = "resource";

fn client_name(i: u32) -> String {
    format!("c{i}")
}

/// Schedules the seeded storm of faults (aimed at `service` when given); returns how many.
fn schedule_storm(sim: &mut Sim<LockProtocol>, cfg: &LockConfig, seed: u64, service: Option<&str>) -> usize {
    let mut rng = Rng::new(seed).fork();
    let faults = storm(cfg, &mut rng, service);
    let count = faults.len();
    for (at, fault) in faults {
        sim.schedule(at, fault);
    }
    count
}

/// An empty lock world: a LAN of 0.5–3 ms with the configured loss.
fn lock_sim(setup: &Setup, cfg: &LockConfig) -> Sim<LockProtocol> {
    setup.sim(LinkConfig {
        latency_min_us: 500,
        latency_max_us: 3_000,
        loss: Ratio::percent(cfg.loss_percent),
        ..LinkConfig::default()
    })
}

/// The store, the resource and the clients (`first_round_after[i]` for client i, if given).
fn world(
    setup: &Setup,
    cfg: &LockConfig,
    first_round_after: &[Option<SimDuration>],
) -> Result<Sim<LockProtocol>, ScenarioError> {
    let mut sim = lock_sim(setup, cfg);
    let persistent = cfg.store_persistent;
    let mut stores = Vec::new();
    for i in 0..cfg.stores {
        stores.push(sim.add_node(store_name(cfg, i), move |d| StoreNode::new(StoreConfig { persistent }, d))?);
    }
    let fencing = cfg.fencing;
    let resource = sim.add_node(RESOURCE, move |d| ProtectedResource::new(fencing, d))?;
    let mut scripted = first_round_after.iter().copied();
    for i in 0..cfg.clients + cfg.readers {
        let staggered = (cfg.stagger_ms > 0).then(|| SimDuration::from_millis(1 + u64::from(i) * cfg.stagger_ms));
        let first = scripted.next().flatten().or(staggered);
        let client = cfg.client(cfg.mode(i), stores.clone(), resource, first);
        sim.add_node(client_name(i), move |d| LockClient::new(client.clone(), d))?;
    }
    Ok(sim)
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: LockConfig = setup.config()?;
    let mut sim = world(&setup, &cfg, &[])?;
    schedule_storm(&mut sim, &cfg, setup.seed(), None);
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), LockJudge::default())
}

/// Redisson's reentrant read-write lock: two writers that take their lock twice per hold (so each
/// release but the last leaves it held) and three readers sharing it. Its own defaults have no
/// faults and no loss: then the clients' beliefs are promised never to conflict (a writer alone,
/// or readers together); turn faults on to watch the leases break that, unpromised.
pub(super) fn build_rw(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: LockConfig = setup.config_over(serde_json::json!({
        "clients": 2, "readers": 3, "reentry": 1, "fencing": false, "loss_percent": 0, "duration_ms": 20000,
        "pauses": false, "clock_jumps": false, "partitions": false, "crashes": false, "store_restarts": false,
    }))?;
    ConfigError::check_range("stores", cfg.stores, 1, 1)?;
    let mut sim = world(&setup, &cfg, &[])?;
    let faults = schedule_storm(&mut sim, &cfg, setup.seed(), None);
    let judge = LockJudge { beliefs_promised: faults == 0 && cfg.loss_percent == 0 };
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), judge)
}

/// Exercise 1 of the chapter as four scripted steps, each one fault against two clients (c0 takes
/// the lock first, c1 half a second later), with no other faults and no loss:
/// 1. c0 crashes while holding: the lock frees only when its lease runs out.
/// 2. c0 works for three leases: the watchdog renews it, and c1 waits its turn.
/// 3. c0 pauses for two leases: c1 gets the lock, c0 wakes and writes; fencing decides.
/// 4. the store restarts without persistence: the lock and the fencing counter are lost; the new
///    tokens restart below the resource's highest, so the resource refuses the newcomers.
///
/// `"fencing"` (default true) and the other lock knobs may be overridden for any step.
pub(super) fn build_exercise1(mut setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let step = match setup.take("step") {
        None => 1,
        Some(v) => match v.as_u64().filter(|s| (1..=4).contains(s)) {
            Some(s) => s,
            None => return Err(ConfigError::out_of_range("step", v, "1..=4").into()),
        },
    };
    let mut defaults = serde_json::json!({
        "clients": 2, "stagger_ms": 500, "lease_ms": 2000, "wait_ms": 10000, "watchdog": true, "fencing": true,
        "think_ms": 60000, "loss_percent": 0, "duration_ms": 8000,
        "pauses": false, "clock_jumps": false, "partitions": false, "crashes": false, "store_restarts": false,
    });
    let step_defaults = match step {
        1 => serde_json::json!({ "writes": 5, "compute_ms": 300 }),
        2 => serde_json::json!({ "writes": 10, "compute_ms": 600, "duration_ms": 14000 }),
        3 => serde_json::json!({ "writes": 2, "compute_ms": 300 }),
        _ => serde_json::json!({ "writes": 3, "compute_ms": 200, "stagger_ms": 100, "think_ms": 50,
            "store_persistent": false }),
    };
    if let (Some(d), Some(s)) = (defaults.as_object_mut(), step_defaults.as_object()) {
        d.extend(s.clone());
    }
    let cfg: LockConfig = setup.config_over(defaults)?;
    ConfigError::check_range("clients", cfg.clients, 2, 2)?;
    ConfigError::check_range("stores", cfg.stores, 1, 1)?;
    let mut sim = world(&setup, &cfg, &[])?;
    let lease_us = cfg.lease_ms * 1_000;
    match step {
        1 => sim.schedule(SimTime::from_millis(500), Fault::Crash { node: client_name(0) }),
        2 => {}
        3 => sim.schedule(SimTime::from_millis(100), Fault::Pause { node: client_name(0), duration_us: 2 * lease_us }),
        _ => {
            sim.schedule(SimTime::from_millis(2_000), Fault::Crash { node: STORE.to_owned() });
            sim.schedule(SimTime::from_millis(2_100), Fault::Restart { node: STORE.to_owned() });
        }
    }
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), LockJudge::default())
}

/// The Kleppmann story. Its own defaults: two clients, a 1 s lease, no watchdog (it would not help
/// either: the renewal is paused too), fencing off; set `"fencing": true` to see the rescue.
pub(super) fn build_kleppmann(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: LockConfig = setup.config_over(serde_json::json!({
        "clients": 2, "lease_ms": 1000, "watchdog": false, "fencing": false, "writes": 2, "compute_ms": 300,
        "think_ms": 60000, "duration_ms": 5000, "loss_percent": 0,
    }))?;
    ConfigError::check_range("clients", cfg.clients, 2, 2)?;
    let starts = [Some(SimDuration::from_millis(1)), Some(SimDuration::from_millis(500))];
    let mut sim = world(&setup, &cfg, &starts)?;
    let pause_us = 2 * cfg.lease_ms * 1_000;
    sim.schedule(SimTime::from_millis(100), Fault::Pause { node: client_name(0), duration_us: pause_us });
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), LockJudge::default())
}

/// Redlock over independent stores. Its own defaults: five stores, no fencing, no watchdog (the
/// same storm as `lock`). With `"story": "clock-jump"` it tells Kleppmann's second story instead:
/// c0 reaches only redis0–2 and takes the lock there; redis2's clock jumps past the lease, so the
/// key expires there; c1 reaches only redis2–4 and takes the lock there too. Two majorities, two
/// holders.
pub(super) fn build_redlock(mut setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let clock_jump = match setup.take("story") {
        None => false,
        Some(v) if v == "clock-jump" => true,
        Some(v) => {
            let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            return Err(ConfigError::out_of_range("story", value, "\"clock-jump\"").into());
        }
    };
    let defaults = if clock_jump {
        serde_json::json!({ "stores": 5, "fencing": false, "watchdog": false, "clients": 2, "lease_ms": 1000,
            "writes": 4, "compute_ms": 200, "think_ms": 60000, "duration_ms": 5000, "loss_percent": 0 })
    } else {
        serde_json::json!({ "stores": 5, "fencing": false, "watchdog": false })
    };
    let cfg: LockConfig = setup.config_over(defaults)?;
    ConfigError::check_range("stores", cfg.stores, 2, 9)?;
    let default_until = SimTime::from_millis(cfg.duration_ms);
    if !clock_jump {
        let mut sim = world(&setup, &cfg, &[])?;
        schedule_storm(&mut sim, &cfg, setup.seed(), None);
        return setup.run(sim, default_until, LockJudge::default());
    }
    ConfigError::check_range("stores", cfg.stores, 5, 5)?;
    ConfigError::check_range("clients", cfg.clients, 2, 2)?;
    let starts = [Some(SimDuration::from_millis(1)), Some(SimDuration::from_millis(200))];
    let mut sim = world(&setup, &cfg, &starts)?;
    let now = SimTime::ZERO;
    for (client, unreachable) in [("c0", ["redis3", "redis4"]), ("c1", ["redis0", "redis1"])] {
        for store in unreachable {
            sim.schedule(now, Fault::Cut { from: client.to_owned(), to: store.to_owned() });
            sim.schedule(now, Fault::Cut { from: store.to_owned(), to: client.to_owned() });
        }
    }
    let jump_us = i64::try_from(2 * cfg.lease_ms * 1_000).expect("lease_ms is validated to at most 600,000");
    sim.schedule(SimTime::from_millis(100), Fault::ClockJump { node: "redis2".to_owned(), delta_us: jump_us });
    setup.run(sim, default_until, LockJudge::default())
}

/// The ZooKeeper recipe: the same clients and storm, with a coordination service `zk` (sessions
/// of `lease_ms`) instead of a store. The node's sequence number is the fencing token.
pub(super) fn build_zk(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: LockConfig = setup.config_over(serde_json::json!({ "watchdog": false }))?;
    ConfigError::check_range("stores", cfg.stores, 1, 1)?;
    ConfigError::check_range("readers", cfg.readers, 0, 0)?;
    ConfigError::check_range("reentry", cfg.reentry, 0, 0)?;
    if cfg.watchdog {
        return Err(
            ConfigError::out_of_range("watchdog", true, "false with ZooKeeper (the session is the lease)").into()
        );
    }
    let mut sim = lock_sim(&setup, &cfg);
    let session_timeout = SimDuration::from_millis(cfg.lease_ms);
    let service = sim.add_node("zk", move |d| CoordService::new(session_timeout, d))?;
    let fencing = cfg.fencing;
    let resource = sim.add_node(RESOURCE, move |d| ProtectedResource::new(fencing, d))?;
    for i in 0..cfg.clients {
        let mut client = cfg.client(LockMode::Plain, Vec::new(), resource, None);
        client.zookeeper = Some(ZkClientConfig { service, session_timeout });
        sim.add_node(client_name(i), move |d| LockClient::new(client.clone(), d))?;
    }
    schedule_storm(&mut sim, &cfg, setup.seed(), Some("zk"));
    setup.run(sim, SimTime::from_millis(cfg.duration_ms), LockJudge::default())
}

/// One fault every 300–1500 ms over the first 80% of the run, then calm; the store faults aimed
/// at `service` when given (the coordination service).
fn storm(cfg: &LockConfig, rng: &mut Rng, service: Option<&str>) -> Vec<(SimTime, Fault)> {
    let lease = cfg.lease_ms;
    let end = cfg.duration_ms * 4 / 5;
    let kinds: Vec<u8> =
        [(cfg.pauses, 0), (cfg.clock_jumps, 1), (cfg.partitions, 2), (cfg.crashes, 3), (cfg.store_restarts, 4)]
            .into_iter()
            .filter_map(|(on, k)| on.then_some(k))
            .collect();
    let mut out = Vec::new();
    let mut down_until = vec![0u64; usize::try_from(cfg.clients).unwrap_or(0)];
    let mut store_down_until = 0u64;
    let mut t = rng.between(300, 1_500);
    while t < end && !kinds.is_empty() {
        let at = SimTime::from_millis(t);
        let c = rng.below(u64::from(cfg.clients));
        let ci = usize::try_from(c).unwrap_or(0);
        let client = client_name(u32::try_from(c).unwrap_or(0));
        let kind = rng.pick(&kinds).copied().unwrap_or(0);
        // One store: no draw, so that single-store runs keep their fault schedules.
        let store = if let Some(service) = service {
            service.to_owned()
        } else if cfg.stores == 1 {
            STORE.to_owned()
        } else {
            store_name(cfg, u32::try_from(rng.below(u64::from(cfg.stores))).unwrap_or(0))
        };
        match kind {
            0 if down_until[ci] <= t => {
                let duration_us = rng.between(lease / 2, lease * 5 / 2) * 1_000;
                out.push((at, Fault::Pause { node: client, duration_us }));
            }
            1 => {
                let delta_us = i64::try_from(rng.between(lease / 2, lease * 3 / 2) * 1_000).unwrap_or(0);
                out.push((at, Fault::ClockJump { node: store.clone(), delta_us }));
            }
            2 => {
                let back = at + SimDuration::from_millis(rng.between(lease / 2, lease * 2));
                for (from, to) in [(client.clone(), store.clone()), (store.clone(), client.clone())] {
                    out.push((at, Fault::Cut { from: from.clone(), to: to.clone() }));
                    out.push((back, Fault::Repair { from, to }));
                }
            }
            3 if down_until[ci] <= t => {
                let back = t + rng.between(200, 2_000);
                down_until[ci] = back;
                out.push((at, Fault::Crash { node: client.clone() }));
                out.push((SimTime::from_millis(back), Fault::Restart { node: client }));
            }
            4 if store_down_until <= t => {
                let back = t + rng.between(100, 500);
                store_down_until = back;
                out.push((at, Fault::Crash { node: store.clone() }));
                out.push((SimTime::from_millis(back), Fault::Restart { node: store }));
            }
            _ => {}
        }
        t += rng.between(300, 1_500);
    }
    out
}

/// The most read holds believed at one moment.
fn readers_at_once_max(beliefs: &[Belief]) -> usize {
    let mut edges: Vec<(SimTime, i64)> =
        beliefs.iter().filter(|b| b.shared).flat_map(|b| [(b.start, 1), (b.end, -1)]).collect();
    edges.sort(); // at a tie, an end (-1) comes before a start
    let (mut now, mut max) = (0i64, 0i64);
    for (_, d) in edges {
        now += d;
        max = max.max(now);
    }
    usize::try_from(max).unwrap_or(0)
}

/// `beliefs_promised`: a run without faults, where even the clients' beliefs must never conflict.
#[derive(Clone, Default)]
struct LockJudge {
    beliefs_promised: bool,
}

/// Why a client stopped believing it held the lock (the page labels each hold with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum HoldEnd {
    Superseded,
    Released,
    RenewalFailed,
    LeaseExpired,
    Crashed,
    /// Still believed at the end of the run so far.
    Open,
}

/// One hold as the page draws it: from the grant until the belief ended.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HeldSpan {
    belief: Belief,
    token: Option<u64>,
    end: HoldEnd,
}

/// A write the resource answered, accepted or not.
#[derive(serde::Serialize)]
struct WriteSeen {
    client: String,
    time_us: u64,
    token: Option<u64>,
    accepted: bool,
}

type OpenBeliefs = BTreeMap<NodeId, (u64, SimTime, bool, Option<u64>)>;

impl LockJudge {
    /// The run's holds (each with why it ended), the grant times and the accepted writes: one
    /// walk over observations and crashes in trace order, so that a crash ends a belief.
    fn spans(sim: &Sim<LockProtocol>) -> (BTreeMap<Hold, SimTime>, Vec<AcceptedWrite>, Vec<HeldSpan>) {
        let mut granted = BTreeMap::new();
        let mut writes = Vec::new();
        let mut open: OpenBeliefs = BTreeMap::new();
        let mut spans = Vec::new();
        let mut close = |open: &mut OpenBeliefs, node: NodeId, end: SimTime, why: HoldEnd| {
            if let Some((grant, start, shared, token)) = open.remove(&node) {
                spans.push(HeldSpan { belief: Belief { hold: (node, grant), start, end, shared }, token, end: why });
            }
        };
        for happened in sim.observations_and_crashes() {
            let o = match happened {
                Happened::Observed(o) => o,
                Happened::Crashed { node, time } => {
                    close(&mut open, node, time, HoldEnd::Crashed);
                    continue;
                }
            };
            match o.obs {
                LockObs::Acquired { grant, shared, token, .. } => {
                    granted.insert((o.node, grant), o.time);
                    close(&mut open, o.node, o.time, HoldEnd::Superseded);
                    open.insert(o.node, (grant, o.time, shared, token));
                }
                LockObs::Unlocking { .. } => close(&mut open, o.node, o.time, HoldEnd::Released),
                LockObs::RenewalFailed { .. } => close(&mut open, o.node, o.time, HoldEnd::RenewalFailed),
                LockObs::LeaseExpired { .. } => close(&mut open, o.node, o.time, HoldEnd::LeaseExpired),
                LockObs::WriteAccepted { client, grant, token } => {
                    writes.push(AcceptedWrite { time: o.time, hold: (client, grant), token });
                }
                LockObs::GaveUp
                | LockObs::Released { .. }
                | LockObs::WriteRejected { .. }
                | LockObs::Reentered { .. }
                | LockObs::StillHeld { .. } => {}
            }
        }
        let ids: Vec<NodeId> = open.keys().copied().collect();
        for id in ids {
            close(&mut open, id, sim.now(), HoldEnd::Open);
        }
        (granted, writes, spans)
    }

    fn history(sim: &Sim<LockProtocol>) -> (BTreeMap<Hold, SimTime>, Vec<AcceptedWrite>, Vec<Belief>) {
        let (granted, writes, spans) = Self::spans(sim);
        (granted, writes, spans.into_iter().map(|s| s.belief).collect())
    }
}

impl Judge<LockProtocol> for LockJudge {
    /// The lock timeline (46.7.1): every hold with its token and why it ended (`to_us` null while
    /// still believed), and every write the resource answered.
    fn view(&self, sim: &Sim<LockProtocol>) -> serde_json::Value {
        let names = |n: NodeId| sim.node_name(n).unwrap_or("?").to_owned();
        let (_, _, spans) = Self::spans(sim);
        let holds: Vec<serde_json::Value> = spans
            .iter()
            .map(|s| {
                serde_json::json!({
                    "client": names(s.belief.hold.0),
                    "grant": s.belief.hold.1,
                    "token": s.token,
                    "shared": s.belief.shared,
                    "from_us": s.belief.start.as_micros(),
                    "to_us": (s.end != HoldEnd::Open).then(|| s.belief.end.as_micros()),
                    "end": s.end,
                })
            })
            .collect();
        let writes: Vec<WriteSeen> = sim
            .observations()
            .iter()
            .filter_map(|o| match o.obs {
                LockObs::WriteAccepted { client, token, .. } => Some((client, token, true, o.time)),
                LockObs::WriteRejected { client, token, .. } => Some((client, token, false, o.time)),
                _ => None,
            })
            .map(|(client, token, accepted, t)| WriteSeen {
                client: names(client),
                time_us: t.as_micros(),
                token,
                accepted,
            })
            .collect();
        serde_json::json!({ "holds": holds, "writes": writes })
    }

    fn verdicts(&self, sim: &Sim<LockProtocol>) -> Vec<Verdict> {
        let (granted, writes, beliefs) = Self::history(sim);
        let names = |n: NodeId| sim.node_name(n).unwrap_or("?").to_owned();
        let belief = mutex::belief_safety(&beliefs, names);
        vec![
            mutex::resource_safety(&granted, &writes, names),
            if self.beliefs_promised { belief } else { belief.unpromised() },
        ]
    }

    fn summary(&self, sim: &Sim<LockProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let count = |f: fn(&LockObs) -> bool| sim.observations().iter().filter(|o| f(&o.obs)).count();
        let mut s = serde_json::Map::new();
        s.insert("holds".into(), count(|o| matches!(o, LockObs::Acquired { .. })).into());
        s.insert("writes_accepted".into(), count(|o| matches!(o, LockObs::WriteAccepted { .. })).into());
        s.insert("writes_rejected".into(), count(|o| matches!(o, LockObs::WriteRejected { .. })).into());
        s.insert("renewal_failures".into(), count(|o| matches!(o, LockObs::RenewalFailed { .. })).into());
        s.insert("leases_expired".into(), count(|o| matches!(o, LockObs::LeaseExpired { .. })).into());
        s.insert("gave_up".into(), count(|o| matches!(o, LockObs::GaveUp)).into());
        if sim
            .observations()
            .iter()
            .any(|o| matches!(o.obs, LockObs::Reentered { .. } | LockObs::Acquired { shared: true, .. }))
        {
            s.insert("reentered".into(), count(|o| matches!(o, LockObs::Reentered { .. })).into());
            s.insert("released_still_held".into(), count(|o| matches!(o, LockObs::StillHeld { .. })).into());
            let (_, _, beliefs) = Self::history(sim);
            s.insert("readers_at_once_max".into(), readers_at_once_max(&beliefs).into());
        }
        let faults = sim.faults_applied();
        s.insert("faults_applied".into(), faults.into());
        s
    }
}
