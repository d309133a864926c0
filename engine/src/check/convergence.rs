//! Convergence: once updates stop and the network heals, every replica reports the same value,
//! and that value is the exact one (for a counter: the sum of every update ever applied).
//!
//! The checker replays the replicas' reported values in time order and finds the moment from
//! which all of them equal the expected value and stay so until the end of the run. The
//! convergence time is measured from `quiet_since` (the later of the last update and the last
//! fault), so it shows how long anti-entropy needed, not how long the chaos lasted.

use crate::msg;
use std::collections::BTreeMap;

use super::Verdict;
use crate::NodeId;
use crate::sim::{SimDuration, SimTime};

/// The outcome, with what the page and the summary show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Convergence {
    pub expected: i64,
    /// Each replica's last reported value (`None`: it never reported).
    pub final_values: BTreeMap<NodeId, Option<i64>>,
    /// When all replicas reached `expected` for good.
    pub converged_at: Option<SimTime>,
    /// `converged_at - quiet_since`.
    pub convergence_time: Option<SimDuration>,
}

/// Judges `reports` (time, replica, value), given in time order.
pub fn check(
    replicas: &[NodeId],
    expected: i64,
    quiet_since: SimTime,
    reports: impl IntoIterator<Item = (SimTime, NodeId, i64)>,
) -> Convergence {
    let mut last: BTreeMap<NodeId, Option<i64>> = replicas.iter().map(|r| (*r, None)).collect();
    let mut converged_at = None;
    let mut reports = reports.into_iter().peekable();
    while let Some((time, node, value)) = reports.next() {
        last.insert(node, Some(value));
        if reports.peek().is_some_and(|(t, _, _)| *t == time) {
            continue; // judge the state after every report of one instant
        }
        let all_equal = last.values().all(|v| *v == Some(expected));
        converged_at = match (all_equal, converged_at) {
            (true, None) => Some(time),
            (true, since) => since,
            (false, _) => None,
        };
    }
    Convergence {
        expected,
        final_values: last,
        converged_at,
        convergence_time: converged_at.map(|t| t.saturating_since(quiet_since)),
    }
}

impl Convergence {
    /// The verdict as of true time `now` (the end of the run so far).
    pub fn verdict(&self, now: SimTime, names: impl Fn(NodeId) -> String) -> Verdict {
        let values = self
            .final_values
            .iter()
            .map(|(n, v)| format!("{}={}", names(*n), v.map_or("-".to_owned(), |v| v.to_string())))
            .collect::<Vec<_>>()
            .join(", ");
        match (self.converged_at, self.convergence_time) {
            (Some(at), Some(took)) => Verdict::holds(
                "convergence",
                msg!(
                    "counter.converged",
                    replicas = self.final_values.len(),
                    expected = self.expected,
                    at = at,
                    took = took
                ),
            ),
            _ => Verdict::fails(
                "convergence",
                msg!("counter.diverged", expected = self.expected, at = now, values = values),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn finds_the_moment_all_replicas_agree_for_good() {
        let (a, b) = (NodeId(0), NodeId(1));
        let reports = [(t(1), a, 5), (t(2), b, 5), (t(3), b, 7), (t(4), a, 7), (t(4), b, 7)];
        let c = check(&[a, b], 7, t(3), reports);
        assert_eq!(c.converged_at, Some(t(4)));
        assert_eq!(c.convergence_time, Some(SimDuration::from_millis(1)));
        assert!(c.verdict(t(9), |n| n.to_string()).holds);
    }

    #[test]
    fn agreement_on_the_wrong_value_or_a_silent_replica_fails() {
        let (a, b) = (NodeId(0), NodeId(1));
        let wrong = check(&[a, b], 7, t(0), [(t(1), a, 6), (t(1), b, 6)]);
        assert_eq!(wrong.converged_at, None);
        let v = wrong.verdict(t(9), |n| n.to_string());
        assert!(!v.holds);
        assert_eq!(v.detail, "the replicas do not all hold the exact total 7 at t = 0.009 s: n0=6, n1=6");
        let silent = check(&[a, b], 7, t(0), [(t(1), a, 7)]);
        assert_eq!(silent.converged_at, None);
    }

    #[test]
    fn a_later_divergence_resets_convergence() {
        let (a, b) = (NodeId(0), NodeId(1));
        let c = check(&[a, b], 3, t(0), [(t(1), a, 3), (t(1), b, 3), (t(2), b, 0), (t(5), b, 3)]);
        assert_eq!(c.converged_at, Some(t(5)));
    }
}
