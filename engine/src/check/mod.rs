//! Property checkers: pure functions over recorded histories that say whether a run kept a
//! promise, and if not, show why (design.md, rule 7). Every scenario declares the properties it
//! promises; the CLI and the page print the verdicts.

pub mod causal;
pub mod convergence;
pub mod linearizability;
pub mod mutex;

use serde::{Deserialize, Serialize};

/// A checker's judgement of one property over one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The property's name, e.g. `convergence`.
    pub property: String,
    pub holds: bool,
    /// What was measured (when it holds) or the counterexample (when it does not).
    pub detail: String,
    /// Whether the scenario promises this property. An unpromised one is shown for what it
    /// teaches (e.g. two clients believing they hold a lock, which leases cannot prevent) and
    /// does not fail the run.
    pub promised: bool,
    /// Where a failure happened, for a view to highlight: the intervals of the holds involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
}

/// A node's interval that a failed verdict points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub node: String,
    pub from_us: u64,
    pub to_us: u64,
}

impl Verdict {
    pub fn holds(property: &str, detail: String) -> Self {
        Verdict { property: property.to_owned(), holds: true, detail, promised: true, marks: Vec::new() }
    }
    pub fn fails(property: &str, detail: String) -> Self {
        Verdict { property: property.to_owned(), holds: false, detail, promised: true, marks: Vec::new() }
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
