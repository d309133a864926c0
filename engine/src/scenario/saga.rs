//! Scenario `saga` (46.7.3): the same orders as `2pc` as orchestrated sagas, over a network that
//! may lose, repeat and reorder messages. `shipping_slots` below `stock` makes the third step fail
//! for the last orders, whose payment and stock are then compensated, in that order;
//! `payment_undo_failures` makes the payment service's compensations fail that many times first;
//! `fail_order` and `fail_step` make one step of one order fail.
//! Judged once the orders are over: atomicity (every order done at every service or at none,
//! except orders reported for manual intervention), conservation, and that no order is left
//! unfinished or dropped without a report.

use crate::msg;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::orders::{self, LossyKnobs, OrderKnobs};
use super::{Judge, ScenarioError, ScenarioRun, Setup};
use crate::check::Verdict;
use crate::config::{ConfigError, Knobs};
use crate::sim::{Sim, SimDuration, SimTime};
use crate::txn::ServiceKind;
use crate::txn::saga::{Orchestrator, Retries, SagaAccount, SagaObs, SagaProtocol, SagaService, StepFaults, StepState};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SagaConfig {
    #[serde(flatten)]
    pub order: OrderKnobs,
    #[serde(flatten)]
    pub network: LossyKnobs,
    /// Below `stock`, the last orders find no slot at the third step and are compensated.
    pub shipping_slots: i64,
    pub step_timeout_ms: u64,
    pub attempts: u32,
    pub payment_undo_failures: u32,
}

impl Default for SagaConfig {
    fn default() -> Self {
        SagaConfig {
            order: OrderKnobs::default(),
            network: LossyKnobs::default(),
            shipping_slots: 15,
            step_timeout_ms: 300,
            attempts: 5,
            payment_undo_failures: 0,
        }
    }
}

impl Knobs for SagaConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        self.order.validate(self.order.orders)?;
        self.network.link(SAGA_REORDER_DELAY_MS)?;
        ConfigError::check_range("shipping_slots", self.shipping_slots, 0, 1_000_000)?;
        ConfigError::check_range("step_timeout_ms", self.step_timeout_ms, 1, 60_000)?;
        ConfigError::check_range("attempts", self.attempts, 1, 20)
    }
}

/// How long a reordered message of a saga (orchestrated or choreographed) may be held back: the
/// default link's 10 ms.
pub(super) const SAGA_REORDER_DELAY_MS: u64 = 10;

impl SagaConfig {
    fn initial(&self, kind: ServiceKind) -> i64 {
        self.order.initial(kind, self.shipping_slots)
    }

    pub fn end(&self) -> SimTime {
        // The longest saga: every step and compensation through all its backed-off attempts.
        let one = (0..self.attempts).map(|a| self.step_timeout_ms << a.min(4)).sum::<u64>();
        SimTime::from_millis(self.order.orders * self.order.interval_ms + 6 * one + 5_000)
    }
}

pub(super) fn build(setup: Setup) -> Result<Box<dyn ScenarioRun>, ScenarioError> {
    let cfg: SagaConfig = setup.config()?;
    let mut sim = setup.sim(cfg.network.link(SAGA_REORDER_DELAY_MS)?);
    let retries = Retries { timeout: SimDuration::from_millis(cfg.step_timeout_ms), attempts: cfg.attempts };
    let (price, orders, interval) = (cfg.order.price, cfg.order.orders, cfg.order.interval());
    let list = orders::SERVICES.to_vec();
    sim.add_node("orchestrator", move |d| Orchestrator::new(list.clone(), price, orders, interval, retries, d))?;
    orders::add_services(&mut sim, |kind| {
        let initial = cfg.initial(kind);
        let faults = StepFaults {
            refuses: cfg.order.refused_at(kind),
            undo_failures: if kind == ServiceKind::Payment { cfg.payment_undo_failures } else { 0 },
        };
        move |d| SagaService::new(kind, initial, faults, d)
    })?;
    let until = cfg.end();
    setup.run(sim, until, SagaJudge { cfg })
}

#[derive(Clone)]
struct SagaJudge {
    cfg: SagaConfig,
}

impl Judge<SagaProtocol> for SagaJudge {
    /// Every order's state at each actor over time (46.7.3), for the page's grid and lanes.
    fn view(&self, sim: &Sim<SagaProtocol>) -> serde_json::Value {
        crate::txn::view::view(sim)
    }

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
        Verdict::fails("atomicity", msg!("txn.down", services = down.join(", ")))
    } else if !partial.is_empty() {
        Verdict::fails("atomicity", msg!("txn.partial_unreported", orders = format!("{partial:?}")))
    } else {
        Verdict::holds("atomicity", msg!("txn.all_or_nothing", reported = stuck.len()))
    };
    let conservation = if unbalanced.is_empty() {
        Verdict::holds("conservation", msg!("txn.conserved"))
    } else {
        Verdict::fails("conservation", msg!("txn.unbalanced", services = unbalanced.join(", ")))
    };
    let unfinished: Vec<u64> = begun.difference(&ended).copied().collect();
    let reported = if unfinished.is_empty() {
        Verdict::holds("nothing_dropped", msg!("txn.all_ended", orders = begun.len()))
    } else {
        Verdict::fails(
            "nothing_dropped",
            msg!(
                "txn.never_finished",
                unfinished = unfinished.len(),
                orders = begun.len(),
                ids = format!("{unfinished:?}")
            ),
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
