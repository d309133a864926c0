//! Scenario `tcc` (46.7.3): the same orders as `2pc` under try–confirm–cancel, over a network
//! that may lose, repeat and delay messages past the try timeout (so that a cancel can overtake
//! its try). Judged, once every order's second phase is done: atomicity (each order confirmed at
//! every service or at none, nothing left frozen) and conservation (available + frozen + consumed
//! keeps each service's total; the services agree on the orders done). Measured: empty rollbacks
//! and suspended tries, the two protections at work.

use crate::msg;
use serde::{Deserialize, Serialize};

use super::orders::{self, LossyKnobs, OrderKnobs};
use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::sim::{Sim, SimDuration, SimTime};
use crate::txn::ServiceKind;
use crate::txn::tcc::{Reservation, TccCoordinator, TccObs, TccProtocol, TccService};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TccConfig {
    /// The orders (stock doubles as the shipping slots); the failed step's try is refused.
    #[serde(flatten)]
    pub order: OrderKnobs,
    /// Messages lost, repeated, and delayed by up to `reorder_delay_ms` (past the try timeout, a
    /// cancel can overtake its try).
    #[serde(flatten)]
    pub network: LossyKnobs,
    pub reorder_delay_ms: u64,
    pub try_timeout_ms: u64,
}

impl Default for TccConfig {
    fn default() -> Self {
        TccConfig {
            order: OrderKnobs::default(),
            network: LossyKnobs::default(),
            reorder_delay_ms: 2_000,
            try_timeout_ms: 500,
        }
    }
}

impl Knobs for TccConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        self.order.validate(self.order.orders)?;
        self.network.link(self.reorder_delay_ms)?;
        ConfigError::check_range("try_timeout_ms", self.try_timeout_ms, 1, 600_000)
    }
}

impl TccConfig {
    fn initial(&self, kind: ServiceKind) -> i64 {
        self.order.initial(kind, self.order.stock)
    }

    pub fn end(&self) -> SimTime {
        let orders = self.order.orders * self.order.interval_ms;
        SimTime::from_millis(orders + self.try_timeout_ms + self.reorder_delay_ms + 10_000)
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: TccConfig = setup.config()?;
    let mut sim = setup.sim(cfg.network.link(cfg.reorder_delay_ms)?);
    let (price, orders, interval, timeout) =
        (cfg.order.price, cfg.order.orders, cfg.order.interval(), SimDuration::from_millis(cfg.try_timeout_ms));
    let list = orders::SERVICES.to_vec();
    sim.add_node("coordinator", move |d| TccCoordinator::new(list.clone(), price, orders, interval, timeout, d))?;
    orders::add_services(&mut sim, |kind| {
        let (initial, refuses) = (cfg.initial(kind), cfg.order.refused_at(kind));
        move |d| TccService::new(kind, initial, refuses, d)
    })?;
    let until = cfg.end();
    setup.run(sim, until, TccJudge { cfg })
}

#[derive(Clone)]
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
    /// Every order's state at each actor over time (46.7.3), for the page's grid and lanes.
    fn view(&self, sim: &Sim<TccProtocol>) -> serde_json::Value {
        crate::txn::view::view(sim)
    }

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
            let unit = if *kind == ServiceKind::Payment { self.cfg.order.price } else { 1 };
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
            Verdict::fails("atomicity", msg!("txn.down", services = down.join(", ")))
        } else if !partial.is_empty() {
            Verdict::fails("atomicity", msg!("txn.partial_confirmed", orders = format!("{partial:?}")))
        } else if frozen != 0 {
            Verdict::fails("atomicity", msg!("txn.frozen", frozen = frozen))
        } else {
            Verdict::holds("atomicity", msg!("txn.confirmed", confirmed = confirmed.len()))
        };
        let conservation = if !unbalanced.is_empty() {
            Verdict::fails("conservation", msg!("txn.unbalanced", services = unbalanced.join(", ")))
        } else if done.windows(2).any(|w| w[0] != w[1]) {
            Verdict::fails("conservation", msg!("txn.disagree", done = format!("{done:?}")))
        } else {
            Verdict::holds("conservation", msg!("txn.conserved_done", done = done.first().copied().unwrap_or(0)))
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
