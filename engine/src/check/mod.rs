//! Property checkers: pure functions over recorded histories that say whether a run kept a
//! promise, and if not, show why (design.md, rule 7). Every scenario declares the properties it
//! promises; the CLI and the page print the verdicts.

pub mod causal;
pub mod convergence;
pub mod linearizability;
pub mod message;
pub mod mutex;
pub mod rate;

pub use message::{Arg, Message};

use serde::{Deserialize, Serialize};

/// A checker's judgement of one property over one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The property's name, e.g. `convergence`.
    pub property: String,
    pub holds: bool,
    /// What was measured (when it holds) or the counterexample (when it does not), in English:
    /// [`Verdict::message`] rendered, for the CLI and the tests.
    pub detail: String,
    /// The same as data, for the page to say in either language.
    pub message: Message,
    /// Whether the scenario promises this property. An unpromised one is shown for what it
    /// teaches (e.g. two clients believing they hold a lock, which leases cannot prevent) and
    /// does not fail the run.
    pub promised: bool,
    /// Where a failure happened, for a view to highlight: the intervals of the holds involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    /// What the page shows: set from `holds`, the property's kind ([`EVENTUAL`]) and whether
    /// the run is over (see [`Verdict::judged`]).
    #[serde(default)]
    pub status: Status,
    /// True once the run is over: the verdict can no longer change.
    #[serde(default, rename = "final")]
    pub is_final: bool,
    /// When the violation happened (µs of true time), where the checker can say: the page
    /// jumps there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_us: Option<u64>,
}

/// Properties that can only be judged once the run is over (liveness: convergence after the
/// heal, a crash detected within its bound, every order decided, nothing lost once the buffers
/// drain): failing before the end means "not yet", never "violated". Every other property is
/// safety: one bad moment violates it, at that moment.
pub const EVENTUAL: &[&str] = &[
    "convergence",
    "availability",
    "crash_detected",
    "failover",
    "no_lost_writes",
    "atomicity",
    "conservation",
    "nothing_dropped",
    "delivered",
    "settled",
    "no_loss",
];

/// A verdict as the page shows it (46.1: safety can be violated at any moment; liveness only
/// at the end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Holds so far (and for good, once final).
    #[default]
    Holds,
    Violated,
    /// An eventual property not reached yet, with the run still going.
    Pending,
    /// The checker ran out of its budget before deciding (a linearizability search too big
    /// for it): neither held nor violated.
    Unknown,
}

/// A node's interval that a failed verdict points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub node: String,
    pub from_us: u64,
    pub to_us: u64,
}

impl Verdict {
    fn new(property: &str, holds: bool, message: Message) -> Self {
        Verdict {
            property: property.to_owned(),
            holds,
            detail: message.english(),
            message,
            promised: true,
            marks: Vec::new(),
            status: if holds { Status::Holds } else { Status::Violated },
            is_final: false,
            at_us: None,
        }
    }
    pub fn holds(property: &str, message: Message) -> Self {
        Self::new(property, true, message)
    }
    pub fn fails(property: &str, message: Message) -> Self {
        Self::new(property, false, message)
    }
    /// Undecided: the checker's budget ran out. It does not hold (nothing shows it does) and is
    /// not violated (nothing shows that either); a run with one exits 4, not 0 or 1.
    pub fn unknown(property: &str, message: Message) -> Self {
        Verdict { status: Status::Unknown, ..Self::new(property, false, message) }
    }
    /// The same verdict, violated at true time `at` (µs).
    pub fn at(self, at_us: u64) -> Self {
        Verdict { at_us: Some(at_us), ..self }
    }
    /// Sets `status` and `is_final` for a run that is over (`finished`) or not: an
    /// [`EVENTUAL`] property that does not hold yet is pending until the end. A violation
    /// without its own time is placed where its marks all overlap (the latest start).
    pub fn judged(self, finished: bool) -> Self {
        let eventual = EVENTUAL.contains(&self.property.as_str());
        let status = match (self.holds, eventual && !finished) {
            _ if self.status == Status::Unknown => Status::Unknown,
            (true, _) => Status::Holds,
            (false, true) => Status::Pending,
            (false, false) => Status::Violated,
        };
        let at_us = match status {
            Status::Violated => self.at_us.or_else(|| self.marks.iter().map(|m| m.from_us).max()),
            _ => None,
        };
        Verdict { status, is_final: finished, at_us, ..self }
    }
    /// The same verdict, pointing at `marks`.
    pub fn marked(self, marks: Vec<Mark>) -> Self {
        Verdict { marks, ..self }
    }
    /// The same verdict, shown but not promised.
    pub fn unpromised(self) -> Self {
        Verdict { promised: false, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg;

    #[test]
    fn an_unknown_verdict_stays_unknown_whatever_the_run_and_the_property() {
        for property in ["linearizability", "convergence"] {
            for finished in [false, true] {
                let v = Verdict::unknown(property, msg!("cap.bad_history", error = "x")).judged(finished);
                assert_eq!((v.status, v.holds, v.at_us, v.is_final), (Status::Unknown, false, None, finished));
            }
        }
        let serialized =
            serde_json::to_value(Verdict::unknown("linearizability", msg!("cap.bad_history", error = "x")));
        assert_eq!(serialized.unwrap()["status"], "unknown");
    }
}
