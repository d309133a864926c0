//! Scenario `saga` (46.7.3): the same orders as `2pc` as orchestrated sagas, over a network that
//! may lose, repeat and reorder messages. `shipping_slots` below `stock` makes the third step fail
//! for the last orders, whose payment and stock are then compensated, in that order;
//! `payment_undo_failures` makes the payment service's compensations fail that many times first;
//! `fail_order` and `fail_step` make one step of one order fail.
//! Judged once the orders are over: atomicity (every order done at every service or at none,
//! except orders reported for manual intervention), conservation, and that no order is left
//! unfinished or dropped without a report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Judge, Run, ScenarioRun, ScenarioSpec, orders};
use crate::actor::NodeId;
use crate::check::Verdict;
use crate::config::{self, ConfigError};
use crate::sim::{LinkConfig, Sim, SimConfig, SimDuration, SimTime};
use crate::txn::ServiceKind;
use crate::txn::saga::{Orchestrator, Retries, SagaAccount, SagaObs, SagaProtocol, SagaService, StepFaults, StepState};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SagaConfig {
    pub orders: u64,
    pub interval_ms: u64,
    pub price: i64,
    pub stock: i64,
    pub shipping_slots: i64,
    pub step_timeout_ms: u64,
    pub attempts: u32,
    pub payment_undo_failures: u32,
    pub loss_percent: u32,
    pub duplicate_percent: u32,
    pub reorder_percent: u32,
    /// The order (0: none) whose step `fail_step` (1 inventory, 2 payment, 3 shipping) fails.
    pub fail_order: u64,
    pub fail_step: u32,
}

impl Default for SagaConfig {
    fn default() -> Self {
        SagaConfig {
            orders: 20,
            interval_ms: 200,
            price: 10,
            stock: 15,
            shipping_slots: 15,
            step_timeout_ms: 300,
            attempts: 5,
            payment_undo_failures: 0,
            loss_percent: 0,
            duplicate_percent: 0,
            reorder_percent: 0,
            fail_order: 0,
            fail_step: 3,
        }
    }
}

impl SagaConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        orders::check_orders(self.orders, self.interval_ms)?;
        orders::check_goods(self.price, self.stock)?;
        ConfigError::check_range("shipping_slots", self.shipping_slots, 0, 1_000_000)?;
        ConfigError::check_range("step_timeout_ms", self.step_timeout_ms, 1, 60_000)?;
        ConfigError::check_range("attempts", self.attempts, 1, 20)?;
        orders::check_failure(self.fail_order, self.fail_step, self.orders)
    }

    fn initial(&self, kind: ServiceKind) -> i64 {
        orders::initial(kind, self.stock, self.price, self.shipping_slots)
    }

    pub fn end(&self) -> SimTime {
        // The longest saga: every step and compensation through all its backed-off attempts.
        let one = (0..self.attempts).map(|a| self.step_timeout_ms << a.min(4)).sum::<u64>();
        SimTime::from_millis(self.orders * self.interval_ms + 6 * one + 5_000)
    }
}

pub(super) fn build(
    spec: &'static ScenarioSpec,
    raw: &serde_json::Value,
    seed: u64,
) -> Result<Box<dyn ScenarioRun>, ConfigError> {
    let cfg: SagaConfig = config::from_json(raw)?;
    cfg.validate()?;
    let mut sim_config = SimConfig::new(seed);
    let reorder_delay_ms = LinkConfig::default().reorder_delay_max_us / 1_000;
    sim_config.default_link =
        orders::lossy_link(cfg.loss_percent, cfg.duplicate_percent, cfg.reorder_percent, reorder_delay_ms)?;
    let mut sim = Sim::new(sim_config);
    let bad = |e: crate::sim::SimError| ConfigError::Parse(e.to_string());
    let steps = vec![
        (ServiceKind::Inventory, NodeId(1)),
        (ServiceKind::Payment, NodeId(2)),
        (ServiceKind::Shipping, NodeId(3)),
    ];
    let retries = Retries { timeout: SimDuration::from_millis(cfg.step_timeout_ms), attempts: cfg.attempts };
    let (price, orders, interval) = (cfg.price, cfg.orders, SimDuration::from_millis(cfg.interval_ms));
    let list = steps.clone();
    let mut ids = vec![
        sim.add_node("orchestrator", move |d| Orchestrator::new(list.clone(), price, orders, interval, retries, d))
            .map_err(bad)?,
    ];
    for &(kind, _) in &steps {
        let initial = cfg.initial(kind);
        let faults = StepFaults {
            refuses: orders::refused_at(kind, cfg.fail_order, cfg.fail_step),
            undo_failures: if kind == ServiceKind::Payment { cfg.payment_undo_failures } else { 0 },
        };
        ids.push(sim.add_node(kind.name(), move |d| SagaService::new(kind, initial, faults, d)).map_err(bad)?);
    }
    if ids != [NodeId(0), steps[0].1, steps[1].1, steps[2].1] {
        return Err(ConfigError::Parse(format!("the saga world's nodes got unexpected ids {ids:?}")));
    }
    Ok(Box::new(Run { spec, seed, default_until: cfg.end(), sim, judge: SagaJudge { cfg } }))
}

struct SagaJudge {
    cfg: SagaConfig,
}

impl Judge<SagaProtocol> for SagaJudge {
    fn verdicts(&self, sim: &Sim<SagaProtocol>) -> Vec<Verdict> {
        let accounts = ServiceKind::ALL.map(|kind| {
            let service = sim.node_id(kind.name()).and_then(|id| sim.actor::<SagaService>(id));
            (kind, service.map(SagaService::account))
        });
        verdicts(&accounts, |kind| self.cfg.initial(kind), sim.observations().iter().map(|o| &o.obs))
    }

    fn summary(&self, sim: &Sim<SagaProtocol>) -> serde_json::Map<String, serde_json::Value> {
        summary(sim.observations().iter().map(|o| &o.obs))
    }
}

/// The saga verdicts (shared with `saga-choreo`): atomicity, except for orders reported for
/// manual intervention; conservation; and that every order begun ended or was reported.
pub(super) fn verdicts<'a>(
    accounts: &[(ServiceKind, Option<&SagaAccount>)],
    initial: impl Fn(ServiceKind) -> i64,
    observations: impl Iterator<Item = &'a SagaObs> + Clone,
) -> Vec<Verdict> {
    let stuck: Vec<u64> = observations
        .clone()
        .filter_map(|o| if let SagaObs::ManualIntervention { tx, .. } = o { Some(*tx) } else { None })
        .collect();
    let ended: std::collections::BTreeSet<u64> = observations
        .clone()
        .filter_map(|o| match o {
            SagaObs::Completed { tx } | SagaObs::RolledBack { tx, .. } | SagaObs::ManualIntervention { tx, .. } => {
                Some(*tx)
            }
            _ => None,
        })
        .collect();
    let begun: std::collections::BTreeSet<u64> =
        observations.filter_map(|o| if let SagaObs::Begun { tx } = o { Some(*tx) } else { None }).collect();
    let mut done: BTreeMap<u64, usize> = BTreeMap::new();
    let (mut unbalanced, mut down) = (Vec::new(), Vec::new());
    for &(kind, account) in accounts {
        let Some(a) = account else {
            down.push(kind.name());
            continue;
        };
        if a.available + a.moved != initial(kind) {
            unbalanced.push(kind.name());
        }
        for (&tx, s) in &a.log {
            if matches!(s, StepState::Done { .. }) {
                *done.entry(tx).or_default() += 1;
            }
        }
    }
    let partial: Vec<u64> =
        done.iter().filter(|(tx, n)| **n < accounts.len() && !stuck.contains(tx)).map(|(&tx, _)| tx).collect();
    let atomicity = if !down.is_empty() {
        Verdict::fails("atomicity", format!("{} down: cannot be judged", down.join(", ")))
    } else if !partial.is_empty() {
        Verdict::fails("atomicity", format!("orders done at some services only, and not reported: {partial:?}"))
    } else {
        Verdict::holds(
            "atomicity",
            format!("every order done everywhere or nowhere; {} reported for manual intervention", stuck.len()),
        )
    };
    let conservation = if unbalanced.is_empty() {
        Verdict::holds("conservation", "stock, money and slots conserved".to_owned())
    } else {
        Verdict::fails("conservation", format!("counters no longer add up at {}", unbalanced.join(", ")))
    };
    let unfinished: Vec<u64> = begun.difference(&ended).copied().collect();
    let reported = if unfinished.is_empty() {
        Verdict::holds("nothing_dropped", format!("all {} orders completed, rolled back or reported", begun.len()))
    } else {
        Verdict::fails(
            "nothing_dropped",
            format!("{} of {} orders never finished: {unfinished:?}", unfinished.len(), begun.len()),
        )
    };
    vec![atomicity, conservation, reported]
}

/// The saga measurements (shared with `saga-choreo`).
pub(super) fn summary<'a>(
    observations: impl Iterator<Item = &'a SagaObs>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut counts = [0u64; 5];
    for o in observations {
        let i = match o {
            SagaObs::Completed { .. } => 0,
            SagaObs::RolledBack { .. } => 1,
            SagaObs::Compensated { .. } => 2,
            SagaObs::CompensationFailed { .. } => 3,
            SagaObs::ManualIntervention { .. } => 4,
            _ => continue,
        };
        counts[i] += 1;
    }
    ["completed", "rolled_back", "compensations", "failed_compensations", "manual_interventions"]
        .into_iter()
        .zip(counts)
        .map(|(k, n)| (k.to_owned(), n.into()))
        .collect()
}
