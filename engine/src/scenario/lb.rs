//! Scenario `lb` (46.4, exercise 4): open-loop clients with Zipf keys, one or several balancers
//! running one algorithm with active and passive health checks, and backends with a latency
//! distribution, a capacity and a queue; one backend crashes (and comes back later), another may
//! be slowed. Any of the chapter's five algorithms and its `HealthChecker` can replace the fixed
//! ones on the same seed.
//!
//! Judged: `no_route_to_down` (no balancer sends a request to a backend it has marked down),
//! `weighted_shares` (for the weighted algorithms: over every window of [`WINDOW`] picks with
//! the same backends in rotation, no backend strays more than [`SHARE_ERROR_MAX`] picks from its
//! weighted share; promised for smooth weighted round robin, shown for the chapter's weighted
//! random) and `bounded_remap` (for the hashing algorithms: when a backend leaves rotation, the
//! keys that move beyond those that must stay under [`REMAP_EXTRA_MAX_PERMILLE`] of all keys;
//! promised for the fixed ones, shown for the chapter's). Measured ([`LbReport`]): goodput,
//! latency percentiles, the load spread, the requests sent to a dead backend while it was still
//! in rotation, how long it stayed there, and the keys remapped next to the ideal 1/n.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::actor::NodeId;
use crate::balance::backend::{Backend, BackendConfig};
use crate::balance::balancer::{Balancer, BalancerConfig, ProbeMode};
use crate::balance::client::Client;
use crate::balance::health::{HealthConfig, PassiveConfig, SlowStart};
use crate::balance::{AlgorithmKind, LbObs, LbProtocol, Remap, Transition, View, remapped, worst_window_error};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::msg;
use crate::sim::{Fault, Happened, LinkConfig, Ratio, Sim, SimDuration, SimTime};

/// The weighted-share checker's window, in picks.
pub const WINDOW: usize = 100;
/// How far from its weighted share a backend may stray in any window, in picks: smooth weighted
/// round robin's interleaving keeps every backend within one pick of its share at every prefix,
/// so a window (the difference of two prefixes) stays within two.
pub const SHARE_ERROR_MAX: f64 = 2.0;
/// Keys a hashing algorithm may move beyond those that must move when one backend leaves, in
/// thousandths of all keys: jump hash moves none, Maglev's table a few, bounded loads the keys
/// pushed on by a full backend.
pub const REMAP_EXTRA_MAX_PERMILLE: usize = 50;

/// The backends' names, in order: short, so that a timeline and a share link read easily.
const NAMES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

/// How a balancer checks its backends actively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthMode {
    Off,
    /// The chapter's `HealthChecker`: one probe after another, then the interval.
    Chapter,
    /// Every backend on its own jittered schedule, probes concurrent.
    Concurrent,
}

/// Passive checks on real requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassiveMode {
    Off,
    Nginx,
    Envoy,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LbConfig {
    pub algorithm: AlgorithmKind,
    pub backends: u32,
    /// One weight per backend; empty: every weight 1.
    pub weights: Vec<u32>,
    pub balancers: u32,
    pub clients: u32,
    /// Requests a second from all clients together (Poisson arrivals).
    pub rate: u64,
    /// Distinct request keys, drawn Zipf with exponent `zipf` (0: uniform).
    pub keys: u64,
    pub zipf: f64,
    pub duration_ms: u64,
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    /// This share of requests takes `tail_factor` times as long.
    pub tail_percent: u32,
    pub tail_factor: u64,
    /// Requests a backend serves at once, and how many more may wait.
    pub capacity: u32,
    pub queue_max: u32,
    pub fail_percent: u32,
    pub health: HealthMode,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
    pub jitter_ms: u64,
    pub passive: PassiveMode,
    pub max_fails: u32,
    pub fail_timeout_ms: u64,
    pub consecutive_failures: u32,
    pub base_ejection_ms: u64,
    /// 0: a recovered backend gets its full weight at once.
    pub slow_start_ms: u64,
    pub request_timeout_ms: u64,
    /// The backend that crashes (a name, `""` for none), when, and when it restarts (0: never).
    pub crash: String,
    pub crash_at_ms: u64,
    pub restart_at_ms: u64,
    /// The backend slowed (`""` for none), when, and how many times slower.
    pub slow: String,
    pub slow_at_ms: u64,
    pub slow_factor: u32,
}

impl Default for LbConfig {
    fn default() -> Self {
        let health = HealthConfig::default();
        LbConfig {
            algorithm: AlgorithmKind::RoundRobin,
            backends: 4,
            weights: Vec::new(),
            balancers: 1,
            clients: 2,
            rate: 100,
            keys: 1_000,
            zipf: 1.0,
            duration_ms: 90_000,
            latency_min_ms: 2,
            latency_max_ms: 8,
            tail_percent: 1,
            tail_factor: 20,
            capacity: 4,
            queue_max: 64,
            fail_percent: 0,
            health: HealthMode::Concurrent,
            interval_ms: health.interval_ms,
            timeout_ms: health.timeout_ms,
            unhealthy_threshold: health.unhealthy_threshold,
            healthy_threshold: health.healthy_threshold,
            jitter_ms: health.jitter_ms,
            passive: PassiveMode::Nginx,
            max_fails: 1,
            fail_timeout_ms: 10_000,
            consecutive_failures: 5,
            base_ejection_ms: 30_000,
            slow_start_ms: 10_000,
            request_timeout_ms: 1_000,
            crash: "b".into(),
            crash_at_ms: 10_000,
            restart_at_ms: 60_000,
            slow: String::new(),
            slow_at_ms: 0,
            slow_factor: 10,
        }
    }
}

impl Knobs for LbConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("backends", self.backends, 2, 8)?;
        if !self.weights.is_empty() && self.weights.len() != self.backends as usize {
            return Err(ConfigError::out_of_range(
                "weights",
                format!("{} weights", self.weights.len()),
                format!("none, or one for each of the {} backends", self.backends),
            ));
        }
        for w in &self.weights {
            ConfigError::check_range("weights", *w, 1, 100)?;
        }
        ConfigError::check_range("balancers", self.balancers, 1, 4)?;
        ConfigError::check_range("clients", self.clients, 1, 8)?;
        ConfigError::check_range("rate", self.rate, 1, 2_000)?;
        ConfigError::check_range("keys", self.keys, 1, 100_000)?;
        if !(0.0..=2.0).contains(&self.zipf) {
            return Err(ConfigError::out_of_range("zipf", self.zipf, "0 to 2"));
        }
        ConfigError::check_range("duration_ms", self.duration_ms, 1_000, 600_000)?;
        ConfigError::check_range("latency_min_ms", self.latency_min_ms, 1, 10_000)?;
        ConfigError::check_range("latency_max_ms", self.latency_max_ms, self.latency_min_ms, 10_000)?;
        ConfigError::check_range("tail_percent", self.tail_percent, 0, 50)?;
        ConfigError::check_range("tail_factor", self.tail_factor, 1, 1_000)?;
        ConfigError::check_range("capacity", self.capacity, 1, 1_000)?;
        ConfigError::check_range("queue_max", self.queue_max, 0, 10_000)?;
        ConfigError::check_range("fail_percent", self.fail_percent, 0, 100)?;
        ConfigError::check_range("interval_ms", self.interval_ms, 100, 600_000)?;
        ConfigError::check_range("timeout_ms", self.timeout_ms, 1, 600_000)?;
        ConfigError::check_range("unhealthy_threshold", self.unhealthy_threshold, 1, 100)?;
        ConfigError::check_range("healthy_threshold", self.healthy_threshold, 1, 100)?;
        ConfigError::check_range("jitter_ms", self.jitter_ms, 0, self.interval_ms)?;
        ConfigError::check_range("max_fails", self.max_fails, 1, 1_000)?;
        ConfigError::check_range("fail_timeout_ms", self.fail_timeout_ms, 1, 600_000)?;
        ConfigError::check_range("consecutive_failures", self.consecutive_failures, 1, 1_000)?;
        ConfigError::check_range("base_ejection_ms", self.base_ejection_ms, 1, 600_000)?;
        ConfigError::check_range("slow_start_ms", self.slow_start_ms, 0, 600_000)?;
        ConfigError::check_range("request_timeout_ms", self.request_timeout_ms, 1, 600_000)?;
        let names = &NAMES[..self.backends as usize];
        for (field, name) in [("crash", &self.crash), ("slow", &self.slow)] {
            if !name.is_empty() && !names.contains(&name.as_str()) {
                return Err(ConfigError::out_of_range(
                    field,
                    format!("{name:?}"),
                    format!("\"\" or one of {}", names.join(", ")),
                ));
            }
        }
        ConfigError::check_range("crash_at_ms", self.crash_at_ms, 0, self.duration_ms)?;
        if self.restart_at_ms != 0 {
            ConfigError::check_range("restart_at_ms", self.restart_at_ms, self.crash_at_ms + 1, self.duration_ms)?;
        }
        ConfigError::check_range("slow_at_ms", self.slow_at_ms, 0, self.duration_ms)?;
        ConfigError::check_range("slow_factor", self.slow_factor, 1, 1_000)?;
        Ok(())
    }
}

impl LbConfig {
    fn weight(&self, i: usize) -> u32 {
        self.weights.get(i).copied().unwrap_or(1)
    }

    fn balancer(&self) -> BalancerConfig {
        let health = HealthConfig {
            interval_ms: self.interval_ms,
            timeout_ms: self.timeout_ms,
            unhealthy_threshold: self.unhealthy_threshold,
            healthy_threshold: self.healthy_threshold,
            jitter_ms: if self.health == HealthMode::Chapter { 0 } else { self.jitter_ms },
        };
        BalancerConfig {
            algorithm: self.algorithm,
            health: (self.health != HealthMode::Off).then_some(health),
            probe_mode: if self.health == HealthMode::Chapter { ProbeMode::Chapter } else { ProbeMode::Concurrent },
            passive: match self.passive {
                PassiveMode::Off => None,
                PassiveMode::Nginx => {
                    Some(PassiveConfig::Nginx { max_fails: self.max_fails, fail_timeout_ms: self.fail_timeout_ms })
                }
                PassiveMode::Envoy => Some(PassiveConfig::Envoy {
                    consecutive_failures: self.consecutive_failures,
                    base_ejection_ms: self.base_ejection_ms,
                }),
            },
            slow_start: (self.slow_start_ms > 0).then_some(SlowStart { window_ms: self.slow_start_ms }),
            request_timeout_ms: self.request_timeout_ms,
            in_flight_max: 10_000,
        }
    }

    fn backend(&self) -> BackendConfig {
        BackendConfig {
            latency_min_us: self.latency_min_ms * 1_000,
            latency_max_us: self.latency_max_ms * 1_000,
            tail: Ratio::percent(self.tail_percent),
            tail_factor: self.tail_factor,
            capacity: self.capacity,
            queue_max: self.queue_max,
            fail: Ratio::percent(self.fail_percent),
        }
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: LbConfig = setup.config()?;
    let mut sim = setup.sim(LinkConfig { latency_min_us: 200, latency_max_us: 600, ..LinkConfig::default() });
    let backend_cfg = cfg.backend();
    let mut backends = Vec::new();
    for (i, name) in NAMES.iter().take(cfg.backends as usize).enumerate() {
        let id = sim.add_node(*name, move |_| Backend::new(backend_cfg))?;
        backends.push((id, (*name).to_owned(), cfg.weight(i)));
    }
    let mut balancers = Vec::new();
    for i in 1..=cfg.balancers {
        let (bcfg, list) = (cfg.balancer(), backends.clone());
        balancers.push(sim.add_node(format!("lb-{i}"), move |_| Balancer::new(bcfg.clone(), &list))?);
    }
    let per_client = cfg.rate.div_ceil(u64::from(cfg.clients));
    let stop = SimDuration::from_millis(cfg.duration_ms);
    for i in 1..=cfg.clients {
        let (list, keys, zipf) = (balancers.clone(), cfg.keys, cfg.zipf);
        sim.add_node(format!("client-{i}"), move |_| Client::new(list.clone(), per_client, stop, keys, zipf))?;
    }
    if !cfg.crash.is_empty() {
        sim.schedule(SimTime::from_millis(cfg.crash_at_ms), Fault::Crash { node: cfg.crash.clone() });
        if cfg.restart_at_ms > 0 {
            sim.schedule(SimTime::from_millis(cfg.restart_at_ms), Fault::Restart { node: cfg.crash.clone() });
        }
    }
    if !cfg.slow.is_empty() {
        let fault = Fault::Slow { node: cfg.slow.clone(), factor: cfg.slow_factor };
        sim.schedule(SimTime::from_millis(cfg.slow_at_ms), fault);
    }
    let judge = LbJudge {
        algorithm: cfg.algorithm,
        names: backends.iter().map(|(_, n, _)| n.clone()).collect(),
        balancers: (1..=cfg.balancers).map(|i| format!("lb-{i}")).collect(),
        weights: backends.iter().map(|(_, _, w)| *w).collect(),
        keys: cfg.keys,
        slow_start_ms: cfg.slow_start_ms,
        seed: setup.seed(),
    };
    // A little past the last arrival, for the answers still on their way.
    let until = SimTime::from_millis(cfg.duration_ms) + SimDuration::from_millis(cfg.request_timeout_ms + 1_000);
    setup.run(sim, until, judge)
}

#[derive(Clone, Debug)]
struct LbJudge {
    algorithm: AlgorithmKind,
    names: Vec<String>,
    balancers: Vec<String>,
    weights: Vec<u32>,
    keys: u64,
    slow_start_ms: u64,
    seed: u64,
}

/// A balancer's health change as the page's timeline draws it.
#[derive(Clone, Debug, Serialize)]
struct HealthMark {
    at_us: u64,
    balancer: String,
    backend: String,
    to: Transition,
    cause: crate::balance::Cause,
}

/// A probe's result.
#[derive(Clone, Debug, Serialize)]
struct ProbeMark {
    at_us: u64,
    balancer: String,
    backend: String,
    ok: bool,
}

/// A stretch of time a backend's process was down.
#[derive(Clone, Debug, Serialize)]
struct DeadSpan {
    backend: String,
    from_us: u64,
    /// `None` while still down.
    to_us: Option<u64>,
}

/// Everything one pass over the observations yields.
#[derive(Debug, Default)]
struct Analysis {
    routed: Vec<u64>,
    failed: Vec<u64>,
    routed_while_dead: Vec<u64>,
    /// Per backend: latencies of its successful answers (µs) with their end times.
    latencies: Vec<Vec<(u64, u64)>>,
    ok_latencies: Vec<u64>,
    answered: u64,
    failed_total: u64,
    no_backend: u64,
    health: Vec<HealthMark>,
    probes: Vec<ProbeMark>,
    dead: Vec<DeadSpan>,
    /// The first request routed to a backend its balancer had marked down.
    bad_route: Option<BadRoute>,
    /// Per balancer, its picks in stretches with the same backends in rotation at full weight.
    segments: BTreeMap<NodeId, Vec<Segment>>,
    /// Per balancer: which backends it has down now.
    down: BTreeMap<NodeId, Vec<bool>>,
    /// The first backend any balancer took out of rotation.
    first_down: Option<usize>,
    /// The first [`FIRST_PICKS`] picks of the first balancer to route anything.
    first_picks: Vec<usize>,
    first_balancer: Option<NodeId>,
}

/// How many of the first picks the view shows (a burst of the chapter's weighted random is
/// visible in them).
const FIRST_PICKS: usize = 42;

/// A balancer's picks while the same backends were in rotation, at their full weights.
#[derive(Clone, Debug)]
struct Segment {
    up: Vec<bool>,
    picks: Vec<usize>,
}

#[derive(Clone, Debug)]
struct BadRoute {
    balancer: String,
    backend: String,
    id: u64,
    at_us: u64,
    since_us: u64,
}

impl LbJudge {
    fn analyse(&self, sim: &Sim<LbProtocol>) -> Analysis {
        let n = self.names.len();
        let mut a = Analysis {
            routed: vec![0; n],
            failed: vec![0; n],
            routed_while_dead: vec![0; n],
            latencies: vec![Vec::new(); n],
            ..Analysis::default()
        };
        let name = |id: NodeId| sim.node_name(id).unwrap_or_default().to_owned();
        // Backend node ids are 0..n (added first).
        let mut dead_since: Vec<Option<u64>> = vec![None; n];
        let mut down_since: BTreeMap<(NodeId, usize), u64> = BTreeMap::new();
        // When each balancer's current segment may begin (after a slow start runs out).
        let mut segment_from: BTreeMap<NodeId, u64> = BTreeMap::new();
        let mut pending: BTreeMap<(u32, u64), usize> = BTreeMap::new();
        for h in sim.observations_and_crashes() {
            match h {
                Happened::Crashed { node, time } => {
                    if node.index() < n && dead_since[node.index()].is_none() {
                        dead_since[node.index()] = Some(time.as_micros());
                    }
                }
                Happened::Observed(o) => {
                    let t = o.time.as_micros();
                    match &o.obs {
                        LbObs::Started => {
                            let i = o.node.index();
                            if let Some(from) = dead_since.get_mut(i).and_then(Option::take) {
                                a.dead.push(DeadSpan { backend: self.names[i].clone(), from_us: from, to_us: Some(t) });
                            }
                        }
                        LbObs::Routed { client, id, backend } => {
                            let b = *backend as usize;
                            a.routed[b] += 1;
                            if dead_since[b].is_some() {
                                a.routed_while_dead[b] += 1;
                            }
                            pending.insert((*client, *id), b);
                            if *a.first_balancer.get_or_insert(o.node) == o.node && a.first_picks.len() < FIRST_PICKS {
                                a.first_picks.push(b);
                            }
                            let down = a.down.entry(o.node).or_insert_with(|| vec![false; n]);
                            if down[b] && a.bad_route.is_none() {
                                a.bad_route = Some(BadRoute {
                                    balancer: name(o.node),
                                    backend: self.names[b].clone(),
                                    id: *id,
                                    at_us: t,
                                    since_us: down_since.get(&(o.node, b)).copied().unwrap_or(t),
                                });
                            }
                            if t >= segment_from.get(&o.node).copied().unwrap_or(0) {
                                let up = down.iter().map(|d| !d).collect();
                                let segments = a.segments.entry(o.node).or_default();
                                if segments.is_empty() {
                                    segments.push(Segment { up, picks: Vec::new() });
                                }
                                if let Some(s) = segments.last_mut() {
                                    s.picks.push(b);
                                }
                            }
                        }
                        LbObs::NoBackend { .. } => a.no_backend += 1,
                        LbObs::Answered { id, ok, latency_us } => {
                            a.answered += 1;
                            let backend = pending.remove(&(o.node.0, *id));
                            if *ok {
                                a.ok_latencies.push(*latency_us);
                                if let Some(b) = backend {
                                    a.latencies[b].push((t, *latency_us));
                                }
                            } else {
                                a.failed_total += 1;
                                if let Some(b) = backend {
                                    a.failed[b] += 1;
                                }
                            }
                        }
                        LbObs::Health { backend, to, cause } => {
                            let b = *backend as usize;
                            let down = a.down.entry(o.node).or_insert_with(|| vec![false; n]);
                            down[b] = *to == Transition::Down;
                            if *to == Transition::Down {
                                down_since.insert((o.node, b), t);
                                a.first_down.get_or_insert(b);
                            }
                            // A new segment: after a comeback, once its slow start has run out.
                            let from = if *to == Transition::Up { t + self.slow_start_ms * 1_000 } else { t };
                            segment_from.insert(o.node, from);
                            let up = down.iter().map(|d| !d).collect();
                            a.segments.entry(o.node).or_default().push(Segment { up, picks: Vec::new() });
                            a.health.push(HealthMark {
                                at_us: t,
                                balancer: name(o.node),
                                backend: self.names[b].clone(),
                                to: *to,
                                cause: *cause,
                            });
                        }
                        LbObs::Probed { backend, ok } => a.probes.push(ProbeMark {
                            at_us: t,
                            balancer: name(o.node),
                            backend: self.names[*backend as usize].clone(),
                            ok: *ok,
                        }),
                    }
                }
            }
        }
        for (i, since) in dead_since.iter().enumerate() {
            if let Some(from) = since {
                a.dead.push(DeadSpan { backend: self.names[i].clone(), from_us: *from, to_us: None });
            }
        }
        a
    }

    fn is_weighted(&self) -> bool {
        matches!(self.algorithm, AlgorithmKind::SmoothWrr | AlgorithmKind::ChapterWeighted)
    }

    /// The worst window over every balancer's segments: (error, balancer).
    fn worst_share(&self, sim: &Sim<LbProtocol>, a: &Analysis) -> Option<(f64, String)> {
        let mut worst: Option<(f64, String)> = None;
        for (node, segments) in &a.segments {
            for s in segments.iter().filter(|s| s.picks.len() >= WINDOW) {
                // Shares among the backends in rotation during the segment.
                let in_use: Vec<usize> = (0..s.up.len()).filter(|i| s.up[*i]).collect();
                let weights: Vec<u32> = in_use.iter().map(|i| self.weights[*i]).collect();
                let picks: Vec<usize> = s.picks.iter().map(|b| in_use.partition_point(|x| x < b)).collect();
                let error = worst_window_error(&picks, &weights, WINDOW);
                if worst.as_ref().is_none_or(|(e, _)| error > *e) {
                    worst = Some((error, sim.node_name(*node).unwrap_or_default().to_owned()));
                }
            }
        }
        worst
    }

    fn key_names(&self) -> Vec<String> {
        (0..self.keys).map(|k| format!("key-{k}")).collect()
    }

    /// Keys moved when backend `down` left rotation, next to those that had to.
    fn remap(&self, down: usize) -> Remap {
        let pairs: Vec<(&str, u32)> = self.names.iter().map(String::as_str).zip(self.weights.iter().copied()).collect();
        let before = View::new(&pairs);
        let mut after = before.clone();
        after.backends[down].up = false;
        remapped(self.algorithm, &self.key_names(), &before, &after, self.seed)
    }

    fn report(&self, sim: &Sim<LbProtocol>, a: &Analysis) -> LbReport {
        let mut sorted = a.ok_latencies.clone();
        sorted.sort_unstable();
        let total_weight: u64 = self.weights.iter().map(|w| u64::from(*w)).sum();
        let routed_total: u64 = a.routed.iter().sum();
        let spread = if routed_total == 0 {
            0.0
        } else {
            let fair = routed_total as f64 / total_weight as f64;
            a.routed.iter().zip(&self.weights).map(|(r, w)| *r as f64 / f64::from(*w) / fair).fold(0.0, f64::max)
        };
        let seconds = sim.now().as_micros().max(1) as f64 / 1e6;
        // Per dead span and balancer: until that balancer first took the backend out, or the
        // backend came back, or now.
        let dead_in_rotation_ms = a
            .dead
            .iter()
            .flat_map(|d| {
                let end = d.to_us.unwrap_or(sim.now().as_micros());
                self.balancers.iter().map(move |lb| {
                    let out = a.health.iter().find(|h| {
                        h.balancer == *lb
                            && h.backend == d.backend
                            && h.to == Transition::Down
                            && (d.from_us..end).contains(&h.at_us)
                    });
                    out.map_or(end, |h| h.at_us).saturating_sub(d.from_us) / 1_000
                })
            })
            .max();
        LbReport {
            requests: routed_total + a.no_backend,
            answered: a.answered,
            failed: a.failed_total,
            no_backend: a.no_backend,
            goodput_per_s: (a.answered - a.failed_total) as f64 / seconds,
            p50_us: percentile(&sorted, 500),
            p99_us: percentile(&sorted, 990),
            p999_us: percentile(&sorted, 999),
            spread,
            routed: a.routed.clone(),
            routed_while_dead: a.routed_while_dead.iter().sum(),
            dead_in_rotation_ms,
            remap: self.algorithm.is_keyed().then(|| a.first_down.map(|b| self.remap(b))).flatten(),
            ideal_remap_fraction: 1.0 / self.names.len() as f64,
        }
    }
}

/// The nearest-rank percentile `per_mille`/1000 of sorted values.
fn percentile(sorted: &[u64], per_mille: usize) -> Option<u64> {
    let n = sorted.len();
    (n > 0).then(|| sorted[(n * per_mille).div_ceil(1_000).clamp(1, n) - 1])
}

/// What a run measured, per algorithm on the same seed (46.4, item 4).
#[derive(Clone, Debug, Serialize)]
pub struct LbReport {
    pub requests: u64,
    pub answered: u64,
    pub failed: u64,
    pub no_backend: u64,
    /// Successful answers a second.
    pub goodput_per_s: f64,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub p999_us: Option<u64>,
    /// The busiest backend's requests per unit of weight over the fair share (1: even).
    pub spread: f64,
    /// Requests each backend was sent.
    pub routed: Vec<u64>,
    /// Requests sent to a backend whose process was down: each failed.
    pub routed_while_dead: u64,
    /// The longest a dead backend stayed in some balancer's rotation.
    pub dead_in_rotation_ms: Option<u64>,
    /// For a hashing algorithm, once a backend has left rotation: the keys that moved.
    pub remap: Option<Remap>,
    pub ideal_remap_fraction: f64,
}

impl Judge<LbProtocol> for LbJudge {
    fn verdicts(&self, sim: &Sim<LbProtocol>) -> Vec<Verdict> {
        let a = self.analyse(sim);
        let mut out = Vec::new();
        let routed: u64 = a.routed.iter().sum();
        out.push(match &a.bad_route {
            None => Verdict::holds("no_route_to_down", msg!("lb.routed_up", routed = routed)),
            Some(b) => Verdict::fails(
                "no_route_to_down",
                msg!(
                    "lb.routed_down",
                    balancer = b.balancer.clone(),
                    id = b.id,
                    backend = b.backend.clone(),
                    at = SimTime::from_micros(b.at_us),
                    since = SimDuration::from_micros(b.at_us - b.since_us),
                ),
            )
            .at(b.at_us),
        });
        if self.is_weighted() {
            let bound = format!("{SHARE_ERROR_MAX}");
            let v = match self.worst_share(sim, &a) {
                None => Verdict::holds("weighted_shares", msg!("lb.shares_short", window = WINDOW)),
                Some((error, balancer)) => {
                    let error_text = format!("{error:.2}");
                    if error <= SHARE_ERROR_MAX {
                        Verdict::holds(
                            "weighted_shares",
                            msg!("lb.shares_within", window = WINDOW, error = error_text, bound = bound),
                        )
                    } else {
                        Verdict::fails(
                            "weighted_shares",
                            msg!(
                                "lb.shares_burst",
                                window = WINDOW,
                                balancer = balancer,
                                error = error_text,
                                bound = bound
                            ),
                        )
                    }
                }
            };
            out.push(if self.algorithm == AlgorithmKind::SmoothWrr { v } else { v.unpromised() });
        }
        if self.algorithm.is_keyed() {
            let v = match a.first_down {
                None => Verdict::holds("bounded_remap", msg!("lb.remap_none")),
                Some(b) => {
                    let r = self.remap(b);
                    let bound = r.forced + r.keys * REMAP_EXTRA_MAX_PERMILLE / 1_000;
                    let args = (self.names[b].clone(), r.moved, r.keys, r.forced, bound);
                    if r.moved <= bound {
                        Verdict::holds(
                            "bounded_remap",
                            msg!(
                                "lb.remap_within",
                                backend = args.0,
                                moved = args.1,
                                keys = args.2,
                                forced = args.3,
                                bound = args.4
                            ),
                        )
                    } else {
                        Verdict::fails(
                            "bounded_remap",
                            msg!(
                                "lb.remap_over",
                                backend = args.0,
                                moved = args.1,
                                keys = args.2,
                                forced = args.3,
                                bound = args.4
                            ),
                        )
                    }
                }
            };
            let chapter = matches!(self.algorithm, AlgorithmKind::ChapterIpHash | AlgorithmKind::ChapterConsistent);
            out.push(if chapter { v.unpromised() } else { v });
        }
        out
    }

    fn summary(&self, sim: &Sim<LbProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let report = self.report(sim, &self.analyse(sim));
        match serde_json::to_value(report) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }

    /// The 46.4 view's data: each backend's traffic and recent latency, the health timeline
    /// (probes, transitions, when processes were down) and the run's measurements.
    fn view(&self, sim: &Sim<LbProtocol>) -> serde_json::Value {
        let a = self.analyse(sim);
        let now = sim.now().as_micros();
        let recent = |b: usize| {
            let mut v: Vec<u64> = a.latencies[b]
                .iter()
                .rev()
                .take_while(|(t, _)| now.saturating_sub(*t) <= RECENT_US)
                .map(|(_, l)| *l)
                .collect();
            v.sort_unstable();
            percentile(&v, 500)
        };
        let backends: Vec<serde_json::Value> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let down_at: Vec<&str> =
                    a.down.iter().filter(|(_, d)| d[i]).map(|(n, _)| sim.node_name(*n).unwrap_or_default()).collect();
                serde_json::json!({
                    "name": name,
                    "weight": self.weights[i],
                    "routed": a.routed[i],
                    "failed": a.failed[i],
                    "routed_while_dead": a.routed_while_dead[i],
                    "recent_p50_us": recent(i),
                    "down_at": down_at,
                })
            })
            .collect();
        serde_json::json!({
            "algorithm": self.algorithm,
            "balancers": self.balancers,
            "backends": backends,
            "health": a.health,
            "probes": a.probes,
            "dead": a.dead,
            "first_picks": a.first_picks.iter().map(|b| &self.names[*b]).collect::<Vec<_>>(),
            "report": self.report(sim, &a),
        })
    }
}

/// The window of a backend's recent latency in the view.
const RECENT_US: u64 = 2_000_000;
