//! The simulator's throughput workloads, shared by the native benchmark
//! (`tests/benches/engine_throughput.rs`) and the WebAssembly one (`cargo xtask speed`), so that
//! both time the same code: the `pn-counter` world for a given simulated length, and a bare event
//! queue as the baseline each is divided by (these machines are noisy; compare ratios).

use std::collections::BTreeMap;
use std::hint::black_box;

/// Runs `pn-counter` through `seconds` of simulated chaos and settling; returns the events it
/// processed. `held`: the trace keeps its records (the page, `--trace`); otherwise it only hashes
/// them (a headless run, a sweep).
pub fn pn_counter(seconds: u64, held: bool) -> Result<u64, super::ScenarioError> {
    let config = serde_json::json!({ "chaos_ms": seconds * 1_000 / 2, "settle_ms": seconds * 1_000 / 2 });
    let mut run = super::build("pn-counter", &config, 1)?;
    run.set_trace_held(held);
    let until = run.default_until();
    run.run_until(until)?;
    black_box(run.trace().hash());
    Ok(run.events_processed())
}

/// The baseline: a bare `BTreeMap` event queue doing one insert and one pop per event, 64 events
/// pending; returns `events`.
pub fn bare_queue(events: u64) -> u64 {
    let mut q: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut x = 1u64;
    for seq in 0..64 {
        q.insert((seq, seq), seq);
    }
    for seq in 0..events {
        let Some(((t, _), v)) = q.pop_first() else { break };
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        q.insert((t + (x >> 40), seq + 64), black_box(v));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workloads_do_what_they_say() {
        let held = pn_counter(2, true).unwrap();
        assert_eq!(pn_counter(2, false).unwrap(), held, "holding the trace changes nothing the run does");
        assert_eq!(held, 227, "seed 1's events in 2 simulated seconds");
        assert!(pn_counter(4, false).unwrap() > held, "a longer run processes more");
        assert_eq!(bare_queue(10_000), 10_000);
    }
}
