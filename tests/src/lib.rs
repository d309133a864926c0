//! Shared helpers for distlab's cross-crate tests.

use distlab_engine::scenario::{self, ScenarioRun};

/// Whether a test run of `seed` turns the simulator's full self-checks on: a quarter of the
/// seeds pay for them (the cheap checks run after every event of every debug run anyway).
pub fn checks_invariants(seed: u64) -> bool {
    seed.is_multiple_of(4)
}

/// Builds `name` with `config` (the simulator checking itself for a quarter of the seeds, see
/// [`checks_invariants`]) and runs it to its default end; panics with the seed on error.
pub fn run_to_end(name: &str, config: &serde_json::Value, seed: u64) -> Box<dyn ScenarioRun> {
    let mut run = scenario::build(name, config, seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    run.set_check_invariants(checks_invariants(seed));
    let until = run.default_until();
    run.run_until(until).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    run
}

/// How many seeds a long sweep runs: `default` in CI (a few hundred runs at most, so that CI
/// stays within its time), or the number in the environment variable `var` for the long sweep.
pub fn seed_count(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
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

/// Runs `scenario` for `seed` with one crash: at a random event of the first `events` (drawn from
/// a stream of its own, seeded by `seed ^ salt`, so that the scenario's own randomness is
/// untouched), a random one of `nodes` crashes, restarts after 10 ms to `down_ms_max`, and the run
/// goes on to its end (at least `settle` after the restart). Returns the finished run and the node
/// that crashed, or why it could not run.
#[expect(clippy::too_many_arguments, reason = "a test helper whose every knob a caller sets")]
pub fn crash_at_random_event(
    scenario: &str,
    config: &serde_json::Value,
    seed: u64,
    salt: u64,
    events: u64,
    nodes: &[&str],
    down_ms_max: u64,
    settle: distlab_engine::sim::SimDuration,
) -> Result<(Box<dyn ScenarioRun>, String), String> {
    use distlab_engine::sim::{Fault, Rng, SimDuration};
    let mut rng = Rng::new(seed ^ salt);
    let mut run = scenario::build(scenario, config, seed).map_err(|e| e.to_string())?;
    run.set_check_invariants(checks_invariants(seed));
    for _ in 0..rng.between(1, events.max(1)) {
        if run.step().map_err(|e| e.to_string())?.is_none() {
            break;
        }
    }
    let node = rng.pick(nodes).map(|n| (*n).to_owned()).ok_or("no nodes to crash")?;
    run.inject(Fault::Crash { node: node.clone() }).map_err(|e| e.to_string())?;
    let back = run.now().saturating_add(SimDuration::from_millis(rng.between(10, down_ms_max)));
    run.run_until(back).map_err(|e| e.to_string())?;
    run.inject(Fault::Restart { node: node.clone() }).map_err(|e| e.to_string())?;
    let end = run.default_until().max(back.saturating_add(settle));
    run.run_until(end).map_err(|e| e.to_string())?;
    Ok((run, node))
}

/// The verdict on `property` of a run, as a result: its detail when it does not hold.
pub fn holds(run: &dyn ScenarioRun, property: &str) -> Result<(), String> {
    let v = run.verdicts().into_iter().find(|v| v.property == property).ok_or(format!("no {property} verdict"))?;
    if v.holds { Ok(()) } else { Err(v.detail) }
}

/// Every observation of `kind` (its `type`) in the run's trace, in trace order, with the node that
/// made it: `(node, observation)`.
pub fn observed(run: &dyn ScenarioRun, kind: &str) -> Vec<(u64, serde_json::Value)> {
    run.trace()
        .records()
        .iter()
        .filter_map(|r| match &r.kind {
            distlab_engine::sim::TraceKind::Observe { node, obs } => {
                let obs = obs.value();
                (obs["type"] == kind).then(|| (u64::from(node.0), obs))
            }
            _ => None,
        })
        .collect()
}

/// `(order, node)` of every compensation (observation `compensated`), in trace order.
pub fn compensations(run: &dyn ScenarioRun) -> Vec<(u64, u64)> {
    observed(run, "compensated").into_iter().map(|(node, obs)| (obs["tx"].as_u64().unwrap_or(0), node)).collect()
}

/// Every promised verdict of `run` holds; else the broken ones, with their details.
pub fn promises_hold(run: &dyn ScenarioRun) -> Result<(), String> {
    let broken: Vec<String> = run
        .verdicts()
        .into_iter()
        .filter(|v| v.promised && !v.holds)
        .map(|v| format!("{}: {}", v.property, v.detail))
        .collect();
    if broken.is_empty() { Ok(()) } else { Err(broken.join("; ")) }
}

/// `run`'s verdict on `property`; panics when the run judged no such property.
pub fn verdict(run: &dyn ScenarioRun, property: &str) -> distlab_engine::check::Verdict {
    run.verdicts().into_iter().find(|v| v.property == property).unwrap_or_else(|| panic!("no {property} verdict"))
}

/// A linearizable history of `ops` operations on one register (key `x`) by `clients`
/// concurrent clients: each operation takes 1–100 time units and takes effect at a random moment
/// inside them; half are writes of fresh values, half reads of what the register held at their
/// moment. With many clients nearly every operation overlaps every other, which is the
/// linearizability checker's worst case (one key, no partitioning to help).
pub fn one_key_history(clients: u64, ops: usize, seed: u64) -> Vec<distlab_engine::check::linearizability::Operation> {
    use distlab_engine::check::linearizability::{KvOp, Operation};
    let mut rng = distlab_engine::sim::Rng::new(seed);
    let mut free_at = vec![0u64; usize::try_from(clients).expect("a few clients")];
    // (moment of effect, index) for every operation, then each read's output from the writes
    // before its moment.
    let mut history = Vec::with_capacity(ops);
    let mut moments = Vec::with_capacity(ops);
    for i in 0..ops {
        let client = rng.below(clients);
        let slot = &mut free_at[usize::try_from(client).expect("a few clients")];
        let call = *slot + rng.between(0, 20);
        let ret = call + rng.between(1, 100);
        *slot = ret + 1;
        moments.push((rng.between(call, ret), i));
        let op = if rng.below(2) == 0 { KvOp::Put { value: i.to_string() } } else { KvOp::Get { output: None } };
        history.push(Operation { client, call, ret: Some(ret), key: "x".into(), op });
    }
    moments.sort_unstable();
    let mut value = None;
    for (_, i) in moments {
        match &mut history[i].op {
            KvOp::Put { value: v } => value = Some(v.clone()),
            KvOp::Get { output } => output.clone_from(&value),
            KvOp::Cas { .. } => unreachable!("only puts and gets"),
        }
    }
    history
}
