//! Shared helpers for distlab's cross-crate tests.

use distlab_engine::scenario::{self, ScenarioRun};

/// Builds `name` with `config` and runs it to its default end; panics with the seed on error.
pub fn run_to_end(name: &str, config: &serde_json::Value, seed: u64) -> Box<dyn ScenarioRun> {
    let mut run = scenario::build(name, config, seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let until = run.default_until();
    run.run_until(until).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    run
}

/// Runs `check` for every seed and fails once at the end, listing every failing seed with the
/// command that replays it (madsim-style: a failure you cannot replay is a failure you cannot fix).
pub fn for_seeds(
    scenario: &str,
    config: &serde_json::Value,
    seeds: impl IntoIterator<Item = u64>,
    check: impl Fn(u64) -> Result<(), String>,
) {
    let failures: Vec<String> = seeds
        .into_iter()
        .filter_map(|seed| {
            check(seed).err().map(|why| {
                format!("seed {seed}: {why}\n  replay: distlab sim run {scenario} --seed {seed} --config '{config}'")
            })
        })
        .collect();
    assert!(failures.is_empty(), "{} seed(s) failed:\n{}", failures.len(), failures.join("\n"));
}
