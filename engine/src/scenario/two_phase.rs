//! Scenario `2pc` (46.7.3): a coordinator runs orders over the inventory, payment and shipping
//! services with two-phase commit. Judged, once every actor is back up: atomicity (no order
//! committed at one service and aborted at another, none left half-done) and conservation (each
//! service's counters keep their total, and the three agree on how many orders were done).
//! Measured: how long participants were blocked in doubt, holding their locks.
//!
//! `crash_coordinator_at_ms` with `coordinator_down_ms` crashes the coordinator (for instance
//! while it collects votes) and restarts it later: the participants that voted yes stay blocked
//! for the whole outage, which is 2PC's price; with `coordinators` above 1 the others keep
//! starting orders, and the blocked services refuse them. A crash before the votes costs less: the
//! participants that did the work give up after `prepare_timeout_ms`. `fail_order` and
//! `fail_step` make one step of one order fail (that service votes no).

use crate::msg;
use serde::{Deserialize, Serialize};

use super::orders::{self, OrderKnobs};
use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::sim::{Fault, LinkConfig, Sim, SimDuration, SimTime};
use crate::txn::two_phase::{Coordinator, Schedule, Service, ServiceSettings, Vote};
use crate::txn::{Refusal, ServiceKind, TwoPhaseObs, TwoPhaseProtocol};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TwoPhaseConfig {
    /// The orders (stock doubles as the shipping slots).
    #[serde(flatten)]
    pub order: OrderKnobs,
    pub work_min_ms: u64,
    pub work_max_ms: u64,
    pub vote_timeout_ms: u64,
    /// How long a participant that did the work waits for the prepare before aborting alone.
    pub prepare_timeout_ms: u64,
    /// Coordinators starting orders side by side (each `orders` of them), `coordinator` first.
    pub coordinators: u64,
    /// Crash the coordinator at this time (0: never) and restart it `coordinator_down_ms` later.
    pub crash_coordinator_at_ms: u64,
    pub coordinator_down_ms: u64,
}

impl Default for TwoPhaseConfig {
    fn default() -> Self {
        TwoPhaseConfig {
            order: OrderKnobs::default(),
            work_min_ms: 5,
            work_max_ms: 50,
            vote_timeout_ms: 1_000,
            prepare_timeout_ms: 1_000,
            coordinators: 1,
            crash_coordinator_at_ms: 0,
            coordinator_down_ms: 5_000,
        }
    }
}

impl Knobs for TwoPhaseConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_range("coordinators", self.coordinators, 1, 4)?;
        self.order.validate(self.order.orders * self.coordinators)?;
        ConfigError::check_range("work_max_ms", self.work_max_ms, 0, 60_000)?;
        ConfigError::check_range("work_min_ms", self.work_min_ms, 0, self.work_max_ms)?;
        ConfigError::check_range("vote_timeout_ms", self.vote_timeout_ms, 1, 600_000)?;
        ConfigError::check_range("prepare_timeout_ms", self.prepare_timeout_ms, 1, 600_000)?;
        ConfigError::check_range("coordinator_down_ms", self.coordinator_down_ms, 1, 600_000)?;
        Ok(())
    }
}

impl TwoPhaseConfig {
    /// When the orders are over and every retry has had time to land.
    pub fn end(&self) -> SimTime {
        let orders = self.order.orders * self.order.interval_ms;
        let outage =
            if self.crash_coordinator_at_ms > 0 { self.crash_coordinator_at_ms + self.coordinator_down_ms } else { 0 };
        SimTime::from_millis(orders.max(outage) + self.vote_timeout_ms + 5_000)
    }

    fn initial(&self, kind: ServiceKind) -> i64 {
        self.order.initial(kind, self.order.stock)
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: TwoPhaseConfig = setup.config()?;
    let mut sim = setup.sim(LinkConfig::default());
    let services = orders::SERVICES.to_vec();
    let (price, interval, timeout) =
        (cfg.order.price, cfg.order.interval(), SimDuration::from_millis(cfg.vote_timeout_ms));
    let coordinator = |index: u64| {
        let list = services.clone();
        let schedule = Schedule {
            orders: cfg.order.orders,
            interval,
            first: SimDuration::from_micros(interval.as_micros() + index * interval.as_micros() / cfg.coordinators),
            index,
            count: cfg.coordinators,
        };
        move |d| Coordinator::new(list.clone(), price, schedule, timeout, d)
    };
    sim.add_node("coordinator", coordinator(0))?;
    orders::add_services(&mut sim, |kind| {
        let initial = cfg.initial(kind);
        let settings = ServiceSettings {
            work_us: (cfg.work_min_ms * 1_000, cfg.work_max_ms * 1_000),
            prepare_timeout: SimDuration::from_millis(cfg.prepare_timeout_ms),
            refuses: cfg.order.refused_at(kind),
        };
        move |d| Service::new(kind, initial, settings, d)
    })?;
    for index in 1..cfg.coordinators {
        sim.add_node(format!("coordinator-{}", index + 1), coordinator(index))?;
    }
    if cfg.crash_coordinator_at_ms > 0 {
        let at = SimTime::from_millis(cfg.crash_coordinator_at_ms);
        sim.schedule(at, Fault::Crash { node: "coordinator".into() });
        let back = at.saturating_add(SimDuration::from_millis(cfg.coordinator_down_ms));
        sim.schedule(back, Fault::Restart { node: "coordinator".into() });
    }
    let until = cfg.end();
    setup.run(sim, until, TwoPhaseJudge { cfg })
}

#[derive(Clone)]
struct TwoPhaseJudge {
    cfg: TwoPhaseConfig,
}

/// What the services hold now, and what the participants went through.
#[derive(Debug, Default)]
pub struct TwoPhaseReport {
    /// Orders committed at some service and aborted at another.
    pub split: Vec<u64>,
    /// Orders some service is still in doubt about.
    pub in_doubt: std::collections::BTreeSet<u64>,
    /// (service, order) pairs in doubt: each holds that service's lock.
    pub in_doubt_participants: u64,
    /// Services whose counters no longer add up to their initial total.
    pub unbalanced: Vec<&'static str>,
    /// Orders done, per service.
    pub done: Vec<(ServiceKind, i64)>,
    pub committed: u64,
    pub aborted: u64,
    /// Orders refused because another order held the lock, and work given up before a vote.
    pub refused_locked: u64,
    pub timed_out: u64,
    pub blocked_max_us: u64,
    pub blocked_total_us: u64,
    /// Services that are down now (nothing can be judged about them).
    pub down: Vec<&'static str>,
}

impl TwoPhaseReport {
    pub fn of(sim: &Sim<TwoPhaseProtocol>, cfg: &TwoPhaseConfig) -> TwoPhaseReport {
        let mut r = TwoPhaseReport::default();
        let mut outcomes: std::collections::BTreeMap<u64, (bool, bool)> = std::collections::BTreeMap::new();
        for kind in ServiceKind::ALL {
            let service = sim.node_id(kind.name()).and_then(|id| sim.actor::<Service>(id));
            let Some(service) = service else {
                r.down.push(kind.name());
                continue;
            };
            let state = service.state();
            if state.available + state.moved != cfg.initial(kind) {
                r.unbalanced.push(kind.name());
            }
            let unit = if kind == ServiceKind::Payment { cfg.order.price } else { 1 };
            r.done.push((kind, state.moved / unit));
            for (&tx, vote) in &state.log {
                let o = outcomes.entry(tx).or_default();
                match vote {
                    Vote::Committed => o.0 = true,
                    Vote::Aborted => o.1 = true,
                    Vote::Prepared { .. } => {
                        r.in_doubt.insert(tx);
                        r.in_doubt_participants += 1;
                    }
                }
            }
        }
        r.split = outcomes.iter().filter(|(_, (c, a))| *c && *a).map(|(&tx, _)| tx).collect();
        for o in sim.observations() {
            match o.obs {
                TwoPhaseObs::Decided { commit: true, .. } => r.committed += 1,
                TwoPhaseObs::Decided { commit: false, .. } => r.aborted += 1,
                TwoPhaseObs::Refused { why: Refusal::Locked, .. } => r.refused_locked += 1,
                TwoPhaseObs::TimedOut { .. } => r.timed_out += 1,
                TwoPhaseObs::Applied { blocked_us, .. } => {
                    r.blocked_max_us = r.blocked_max_us.max(blocked_us);
                    r.blocked_total_us += blocked_us;
                }
                _ => {}
            }
        }
        r
    }
}

impl Judge<TwoPhaseProtocol> for TwoPhaseJudge {
    /// Every order's state at each actor over time (46.7.3), for the page's grid and lanes.
    fn view(&self, sim: &Sim<TwoPhaseProtocol>) -> serde_json::Value {
        crate::txn::view::view(sim)
    }

    fn verdicts(&self, sim: &Sim<TwoPhaseProtocol>) -> Vec<Verdict> {
        let r = TwoPhaseReport::of(sim, &self.cfg);
        let atomicity = if !r.split.is_empty() {
            Verdict::fails("atomicity", msg!("txn.split", orders = format!("{:?}", r.split)))
        } else if !r.in_doubt.is_empty() {
            Verdict::fails(
                "atomicity",
                msg!("txn.in_doubt", orders = format!("{:?}", r.in_doubt.iter().collect::<Vec<_>>())),
            )
        } else {
            Verdict::holds("atomicity", msg!("txn.committed", committed = r.committed, aborted = r.aborted))
        };
        let counts: Vec<i64> = r.done.iter().map(|&(_, n)| n).collect();
        let conservation = if !r.unbalanced.is_empty() {
            Verdict::fails("conservation", msg!("txn.unbalanced", services = r.unbalanced.join(", ")))
        } else if counts.windows(2).any(|w| w[0] != w[1]) {
            Verdict::fails("conservation", msg!("txn.disagree", done = format!("{:?}", r.done)))
        } else {
            Verdict::holds(
                "conservation",
                msg!("txn.conserved_everywhere", done = counts.first().copied().unwrap_or(0)),
            )
        };
        vec![atomicity, conservation]
    }

    fn summary(&self, sim: &Sim<TwoPhaseProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let r = TwoPhaseReport::of(sim, &self.cfg);
        let mut s = serde_json::Map::new();
        s.insert("committed".into(), r.committed.into());
        s.insert("aborted".into(), r.aborted.into());
        s.insert("in_doubt".into(), r.in_doubt_participants.into());
        s.insert("blocked_max_ms".into(), (r.blocked_max_us / 1_000).into());
        s.insert("blocked_total_ms".into(), (r.blocked_total_us / 1_000).into());
        s.insert("refused_locked".into(), r.refused_locked.into());
        s.insert("timed_out_before_vote".into(), r.timed_out.into());
        s.insert("services_down".into(), r.down.len().into());
        s
    }
}
