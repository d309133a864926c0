//! Scenario `tcc` (46.7.3): the same orders as `2pc` under try–confirm–cancel, over a network
//! that may lose, repeat and delay messages past the try timeout (so that a cancel can overtake
//! its try). Judged, once every order's second phase is done: atomicity (each order confirmed at
//! every service or at none, nothing left frozen) and conservation (available + frozen + consumed
//! keeps each service's total; the services agree on the orders done). Measured: empty rollbacks
//! and suspended tries, the two protections at work.

use serde::{Deserialize, Serialize};

use super::{Judge, Run, ScenarioRun, ScenarioSpec, orders};
use crate::actor::NodeId;
use crate::check::Verdict;
use crate::config::{self, ConfigError};
use crate::sim::{Sim, SimConfig, SimDuration, SimTime};
use crate::txn::ServiceKind;
use crate::txn::tcc::{Reservation, TccCoordinator, TccObs, TccProtocol, TccService};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TccConfig {
    pub orders: u64,
    pub interval_ms: u64,
    pub price: i64,
    pub stock: i64,
    pub try_timeout_ms: u64,
    pub loss_percent: u32,
    pub duplicate_percent: u32,
    /// Messages delayed by up to `reorder_delay_ms` (past the try timeout, a cancel can overtake
    /// its try).
    pub reorder_percent: u32,
    pub reorder_delay_ms: u64,
    /// The order (0: none) whose try at step `fail_step` (1 inventory, 2 payment, 3 shipping)
    /// is refused.
    pub fail_order: u64,
    pub fail_step: u32,
}

impl Default for TccConfig {
    fn default() -> Self {
        TccConfig {
            orders: 20,
            interval_ms: 200,
            price: 10,
            stock: 15,
            try_timeout_ms: 500,
            loss_percent: 0,
            duplicate_percent: 0,
            reorder_percent: 0,
            reorder_delay_ms: 2_000,
            fail_order: 0,
            fail_step: 3,
        }
    }
}

impl TccConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        orders::check_orders(self.orders, self.interval_ms)?;
        orders::check_goods(self.price, self.stock)?;
        ConfigError::check_range("try_timeout_ms", self.try_timeout_ms, 1, 600_000)?;
        orders::check_failure(self.fail_order, self.fail_step, self.orders)
    }

    fn initial(&self, kind: ServiceKind) -> i64 {
        orders::initial(kind, self.stock, self.price, self.stock)
    }

    pub fn end(&self) -> SimTime {
        SimTime::from_millis(self.orders * self.interval_ms + self.try_timeout_ms + self.reorder_delay_ms + 10_000)
    }
}

pub(super) fn build(
    spec: &'static ScenarioSpec,
    raw: &serde_json::Value,
    seed: u64,
) -> Result<Box<dyn ScenarioRun>, ConfigError> {
    let cfg: TccConfig = config::from_json(raw)?;
    cfg.validate()?;
    let mut sim_config = SimConfig::new(seed);
    sim_config.default_link =
        orders::lossy_link(cfg.loss_percent, cfg.duplicate_percent, cfg.reorder_percent, cfg.reorder_delay_ms)?;
    let mut sim = Sim::new(sim_config);
    let bad = |e: crate::sim::SimError| ConfigError::Parse(e.to_string());
    let services = vec![
        (ServiceKind::Inventory, NodeId(1)),
        (ServiceKind::Payment, NodeId(2)),
        (ServiceKind::Shipping, NodeId(3)),
    ];
    let (price, orders, interval, timeout) = (
        cfg.price,
        cfg.orders,
        SimDuration::from_millis(cfg.interval_ms),
        SimDuration::from_millis(cfg.try_timeout_ms),
    );
    let list = services.clone();
    let mut ids = vec![
        sim.add_node("coordinator", move |d| TccCoordinator::new(list.clone(), price, orders, interval, timeout, d))
            .map_err(bad)?,
    ];
    for &(kind, _) in &services {
        let initial = cfg.initial(kind);
        let refuses = orders::refused_at(kind, cfg.fail_order, cfg.fail_step);
        ids.push(sim.add_node(kind.name(), move |d| TccService::new(kind, initial, refuses, d)).map_err(bad)?);
    }
    if ids != [NodeId(0), services[0].1, services[1].1, services[2].1] {
        return Err(ConfigError::Parse(format!("the tcc world's nodes got unexpected ids {ids:?}")));
    }
    Ok(Box::new(Run { spec, seed, default_until: cfg.end(), sim, judge: TccJudge { cfg } }))
}

struct TccJudge {
    cfg: TccConfig,
}

impl TccJudge {
    fn accounts<'a>(&self, sim: &'a Sim<TccProtocol>) -> Vec<(ServiceKind, Option<&'a crate::txn::tcc::Account>)> {
        ServiceKind::ALL
            .iter()
            .map(|&k| (k, sim.node_id(k.name()).and_then(|id| sim.actor::<TccService>(id)).map(TccService::account)))
            .collect()
    }
}

impl Judge<TccProtocol> for TccJudge {
    fn verdicts(&self, sim: &Sim<TccProtocol>) -> Vec<Verdict> {
        let accounts = self.accounts(sim);
        let mut confirmed: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
        let (mut frozen, mut unbalanced, mut down, mut done) = (0, Vec::new(), Vec::new(), Vec::new());
        for (kind, account) in &accounts {
            let Some(a) = account else {
                down.push(kind.name());
                continue;
            };
            frozen += a.frozen;
            if a.available + a.frozen + a.moved != self.cfg.initial(*kind) {
                unbalanced.push(kind.name());
            }
            let unit = if *kind == ServiceKind::Payment { self.cfg.price } else { 1 };
            done.push(a.moved / unit);
            for (&tx, r) in &a.log {
                if matches!(r, Reservation::Confirmed { .. }) {
                    *confirmed.entry(tx).or_default() += 1;
                }
            }
        }
        let partial: Vec<u64> =
            confirmed.iter().filter(|(_, n)| **n < ServiceKind::ALL.len()).map(|(&tx, _)| tx).collect();
        let atomicity = if !down.is_empty() {
            Verdict::fails("atomicity", format!("{} down: cannot be judged", down.join(", ")))
        } else if !partial.is_empty() {
            Verdict::fails("atomicity", format!("orders confirmed at some services only: {partial:?}"))
        } else if frozen != 0 {
            Verdict::fails("atomicity", format!("{frozen} still frozen: orders not finished"))
        } else {
            Verdict::holds("atomicity", format!("{} orders confirmed everywhere, the rest nowhere", confirmed.len()))
        };
        let conservation = if !unbalanced.is_empty() {
            Verdict::fails("conservation", format!("counters no longer add up at {}", unbalanced.join(", ")))
        } else if done.windows(2).any(|w| w[0] != w[1]) {
            Verdict::fails("conservation", format!("the services disagree on the orders done: {done:?}"))
        } else {
            Verdict::holds(
                "conservation",
                format!("stock, money and slots conserved; {} orders done", done.first().copied().unwrap_or(0)),
            )
        };
        vec![atomicity, conservation]
    }

    fn summary(&self, sim: &Sim<TccProtocol>) -> serde_json::Map<String, serde_json::Value> {
        let count = |f: &dyn Fn(&TccObs) -> bool| sim.observations().iter().filter(|o| f(&o.obs)).count();
        let mut s = serde_json::Map::new();
        s.insert("confirmed".into(), count(&|o| matches!(o, TccObs::Decided { confirm: true, .. })).into());
        s.insert("cancelled".into(), count(&|o| matches!(o, TccObs::Decided { confirm: false, .. })).into());
        s.insert("empty_rollbacks".into(), count(&|o| matches!(o, TccObs::EmptyRollback { .. })).into());
        s.insert("suspended_tries".into(), count(&|o| matches!(o, TccObs::Suspended { .. })).into());
        let frozen: i64 = self.accounts(sim).iter().filter_map(|(_, a)| a.map(|a| a.frozen)).sum();
        s.insert("frozen".into(), frozen.into());
        s
    }
}
