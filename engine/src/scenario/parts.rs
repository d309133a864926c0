//! The chapter's parts, and which scenarios a program can build. The catalogue lists every
//! scenario everywhere (names, sections, titles, properties); the code that builds a world lives
//! in its part's table. A native program has every part. In WebAssembly a module has only the
//! parts it [`install`]s at start, and nothing else refers to the other tables, so the linker
//! leaves their worlds out: the page downloads one part's module per view, and that module stays
//! the same size however many patterns the other parts gain.

use std::sync::OnceLock;

use serde::Serialize;

use super::{
    BuildFn, ScenarioError, ScenarioSpec, cache, cap, detector, election, failover, ha, ids, lb, lock, mq, mq_streams,
    outbox, pn_counter, saga, saga_choreo, saga_store, tcc, two_phase,
};

/// A part of the chapter: one WebAssembly module of the page each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// 46.1: CAP, quorums, CRDTs, consistent hashing, failure detection and election.
    Foundations,
    /// 46.2: message queues.
    Queues,
    /// 46.3: caching.
    Caching,
    /// 46.4: load balancing.
    Balancing,
    /// 46.5: high availability.
    Availability,
    /// 46.7.1: distributed locks.
    Locks,
    /// 46.7.2: distributed IDs.
    Ids,
    /// 46.7.3: distributed transactions.
    Transactions,
}

impl Part {
    /// Every part, in chapter order.
    pub const ALL: [Part; 8] = [
        Part::Foundations,
        Part::Queues,
        Part::Caching,
        Part::Balancing,
        Part::Availability,
        Part::Locks,
        Part::Ids,
        Part::Transactions,
    ];

    /// The part's name as the page and the modules' file names spell it.
    pub fn name(self) -> &'static str {
        match self {
            Part::Foundations => "foundations",
            Part::Queues => "queues",
            Part::Caching => "caching",
            Part::Balancing => "balancing",
            Part::Availability => "availability",
            Part::Locks => "locks",
            Part::Ids => "ids",
            Part::Transactions => "transactions",
        }
    }

    /// The part's builders.
    pub fn worlds(self) -> &'static Worlds {
        match self {
            Part::Foundations => &FOUNDATIONS,
            Part::Queues => &QUEUES,
            Part::Caching => &CACHING,
            Part::Balancing => &BALANCING,
            Part::Availability => &AVAILABILITY,
            Part::Locks => &LOCKS,
            Part::Ids => &IDS,
            Part::Transactions => &TRANSACTIONS,
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The scenarios of one part that a program can build: what [`install`] takes.
pub struct Worlds {
    part: Part,
    builds: &'static [(&'static str, BuildFn)],
}

impl std::fmt::Debug for Worlds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worlds").field("part", &self.part).field("scenarios", &self.names()).finish()
    }
}

impl Worlds {
    pub fn part(&self) -> Part {
        self.part
    }

    /// The names of the scenarios it builds.
    pub fn names(&self) -> Vec<&'static str> {
        self.builds.iter().map(|(name, _)| *name).collect()
    }
}

pub static FOUNDATIONS: Worlds = Worlds {
    part: Part::Foundations,
    builds: &[
        ("pn-counter", pn_counter::build),
        ("cap", cap::build),
        ("failure-detector", detector::build),
        ("election", election::build),
    ],
};
pub static QUEUES: Worlds =
    Worlds { part: Part::Queues, builds: &[("mq", mq::build), ("mq-streams", mq_streams::build)] };
pub static CACHING: Worlds = Worlds { part: Part::Caching, builds: &[("cache", cache::build)] };
pub static BALANCING: Worlds = Worlds { part: Part::Balancing, builds: &[("lb", lb::build)] };
pub static AVAILABILITY: Worlds =
    Worlds { part: Part::Availability, builds: &[("ha", ha::build), ("failover", failover::build)] };
pub static LOCKS: Worlds = Worlds {
    part: Part::Locks,
    builds: &[
        ("lock", lock::build),
        ("lock-kleppmann", lock::build_kleppmann),
        ("redlock", lock::build_redlock),
        ("zk-lock", lock::build_zk),
        ("rw-lock", lock::build_rw),
        ("exercise-1", lock::build_exercise1),
    ],
};
pub static IDS: Worlds = Worlds { part: Part::Ids, builds: &[("ids", ids::build)] };
pub static TRANSACTIONS: Worlds = Worlds {
    part: Part::Transactions,
    builds: &[
        ("2pc", two_phase::build),
        ("tcc", tcc::build),
        ("saga", saga::build),
        ("saga-choreo", saga_choreo::build),
        ("saga-store", saga_store::build),
        ("outbox", outbox::build),
    ],
};

/// Every part's builders: what a native program has.
#[cfg(not(target_arch = "wasm32"))]
static EVERY_PART: &[&Worlds] =
    &[&FOUNDATIONS, &QUEUES, &CACHING, &BALANCING, &AVAILABILITY, &LOCKS, &IDS, &TRANSACTIONS];

static INSTALLED: OnceLock<&'static [&'static Worlds]> = OnceLock::new();

/// A second [`install`]: the parts a program can build are chosen once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the program's parts were already chosen")]
pub struct AlreadyInstalled;

/// Chooses the parts this program can build, once, before it builds anything: each page module
/// names its own part here. A native program that never calls it has every part.
pub fn install(parts: &'static [&'static Worlds]) -> Result<(), AlreadyInstalled> {
    INSTALLED.set(parts).map_err(|_| AlreadyInstalled)
}

/// The parts this program can build.
pub fn installed() -> &'static [&'static Worlds] {
    #[cfg(not(target_arch = "wasm32"))]
    let default = EVERY_PART;
    // Naming the tables here would link every world into every module.
    #[cfg(target_arch = "wasm32")]
    let default: &[&Worlds] = &[];
    INSTALLED.get().copied().unwrap_or(default)
}

/// The builder of `spec` among `parts`, or why this program cannot build it.
pub(super) fn builder(parts: &[&Worlds], spec: &ScenarioSpec) -> Result<BuildFn, ScenarioError> {
    parts
        .iter()
        .filter(|w| w.part == spec.part)
        .flat_map(|w| w.builds.iter())
        .find(|(name, _)| *name == spec.name)
        .map(|(_, build)| *build)
        .ok_or_else(|| ScenarioError::NotLoaded {
            name: spec.name.to_owned(),
            part: spec.part,
            section: spec.section,
            loaded: if parts.is_empty() {
                "no part".to_owned()
            } else {
                parts.iter().map(|w| w.part.name()).collect::<Vec<_>>().join(", ")
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::catalog;

    #[test]
    fn every_scenario_is_built_by_its_own_part_and_only_there() {
        for spec in catalog() {
            let holders: Vec<Part> = Part::ALL
                .iter()
                .filter(|p| p.worlds().builds.iter().any(|(name, _)| *name == spec.name))
                .copied()
                .collect();
            assert_eq!(holders, [spec.part], "{}", spec.name);
        }
        for part in Part::ALL {
            assert_eq!(part.worlds().part(), part);
            for name in part.worlds().names() {
                assert!(catalog().iter().any(|s| s.name == name), "{name} is built but not listed");
            }
        }
    }

    #[test]
    fn a_module_with_one_part_builds_its_worlds_and_names_the_part_of_any_other() {
        let lock = catalog().iter().find(|s| s.name == "lock").unwrap();
        let cache = catalog().iter().find(|s| s.name == "cache").unwrap();
        assert!(builder(&[&LOCKS], lock).is_ok());
        let refused = builder(&[&LOCKS, &IDS], cache).map(|_| ()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "scenario \"cache\" is in the chapter's part \"caching\" (46.3), which this program did not load \
             (it has: locks, ids)"
        );
        assert!(matches!(builder(&[], lock), Err(ScenarioError::NotLoaded { part: Part::Locks, .. })));
    }

    #[test]
    fn a_native_program_has_every_part() {
        assert_eq!(installed().len(), Part::ALL.len());
        for spec in catalog() {
            assert!(builder(installed(), spec).is_ok(), "{}", spec.name);
        }
    }
}
