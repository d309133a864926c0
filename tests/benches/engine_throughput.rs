//! `cargo bench -p distlab-tests`: the engine's throughput, each figure next to a baseline
//! measured in the same run on the same machine (these machines are noisy; compare ratios).
//!
//! - simulator: events per second of the `pn-counter` scenario (actors, network, trace and its
//!   hash included; then hashing the trace without holding it, as a headless run does) against
//!   a bare `BTreeMap` event queue doing one insert and one pop per event;
//! - store: `SET` + `GET` pairs through the Redis-semantics keyspace against the same pairs on a
//!   bare `BTreeMap<String, String>`;
//! - linearizability: operations per second checked in a 10,000-operation history of the `cap`
//!   scenario (strong, 4 keys, 20 clients), against sorting the same history's call and return
//!   events (the first step of any checker);
//! - the checker's worst case: one key, 20 concurrent clients ([`distlab_tests::one_key_history`]),
//!   from 100 to 3,200 operations, each under [`Budget::SCENARIO`] and a 20 s stop: the time,
//!   the verdict (linearizable or unknown within the budget) and the ratio to sorting the same
//!   history's events.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use distlab_engine::check::linearizability::{self, Budget, Operation, Outcome, Shrink};
use distlab_engine::scenario;
use distlab_engine::scenario::speed::{bare_queue, pn_counter};
use distlab_engine::store::{Cmd, Keyspace};

/// Repeats `f` until at least `min` has passed; returns (units of work per second, runs).
fn measure(min: Duration, mut f: impl FnMut() -> u64) -> (f64, u32) {
    let start = Instant::now();
    let (mut units, mut runs) = (0u64, 0u32);
    while start.elapsed() < min || runs < 3 {
        units += f();
        runs += 1;
    }
    (units as f64 / start.elapsed().as_secs_f64(), runs)
}

const KEYS: u64 = 10_000;

fn store_pairs() -> u64 {
    let mut ks = Keyspace::new();
    for i in 0..KEYS {
        let key = format!("key:{i}");
        let set = Cmd::Set { key: key.clone(), value: i.to_string(), condition: None, expiry: None, get: false };
        black_box(ks.apply(0, &set));
        black_box(ks.apply(0, &Cmd::Get { key }));
    }
    KEYS
}

fn bare_map_pairs() -> u64 {
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..KEYS {
        let key = format!("key:{i}");
        m.insert(key.clone(), i.to_string());
        black_box(m.get(&key).cloned());
    }
    KEYS
}

/// A linearizable history of at least 10,000 operations, from the `cap` scenario.
fn big_history() -> Vec<Operation> {
    let config = serde_json::json!({ "clients": 20, "keys": 4, "op_interval_ms": 10, "latency_max_ms": 4,
        "partition": "none", "duration_ms": 16000, "quiet_ms": 0 });
    let mut run = scenario::build("cap", &config, 7).expect("builds");
    let until = run.default_until();
    run.run_until(until).expect("runs");
    scenario::cap::history(run.as_ref())
}

fn sort_events(history: &[Operation]) -> u64 {
    let mut events: Vec<(u64, bool, usize)> = history
        .iter()
        .enumerate()
        .flat_map(|(i, o)| [(o.call, false, i), (o.ret.unwrap_or(u64::MAX), true, i)])
        .collect();
    events.sort_unstable();
    black_box(&events);
    history.len() as u64
}

fn row(what: &str, rate: f64, unit: &str, baseline: f64) {
    println!("{what:<48} {rate:>14.0} {unit:<8} {:>7.3}", rate / baseline);
}

/// The simulator's workload: 20 s of `pn-counter` (see `scenario::speed`).
fn simulator(held: bool) -> u64 {
    pn_counter(20, held).expect("pn-counter runs")
}

/// The simulator's rows, (held, hash-only, bare queue) in events/s: five rounds, each timing the
/// three for 0.4 s apiece in turn, and each row's best round. Taking turns gives the three the
/// same machine mood, and the best round is the least disturbed (a noisy neighbour only ever
/// slows a round down). `web/tests/speed.mjs` times the WebAssembly side the same way.
fn simulator_rows() -> (f64, f64, f64) {
    let round = Duration::from_millis(400);
    let events_per_run = simulator(true);
    let mut best = (0f64, 0f64, 0f64);
    for _ in 0..5 {
        best.0 = best.0.max(measure(round, || simulator(true)).0);
        best.1 = best.1.max(measure(round, || simulator(false)).0);
        best.2 = best.2.max(measure(round, || bare_queue(events_per_run)).0);
    }
    best
}

/// `-- simulator` measures the simulator's rows only; `-- simulator --raw` prints them as
/// `name events/s` lines, which `cargo xtask speed` reads beside the same workloads in WebAssembly.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let min = Duration::from_secs(2);
    let (sim_rate, headless_rate, queue_rate) = simulator_rows();
    if args.iter().any(|a| a == "--raw") {
        println!("queue {queue_rate:.0}\nheld {sim_rate:.0}\nhash_only {headless_rate:.0}");
        return;
    }
    println!("{:<48} {:>14} {:<8} {:>7}", "measurement", "rate", "unit", "ratio");
    row("baseline: bare BTreeMap event queue", queue_rate, "events/s", queue_rate);
    row("simulator: pn-counter (20 s simulated)", sim_rate, "events/s", queue_rate);
    row("simulator: the same, trace hashed only", headless_rate, "events/s", queue_rate);
    if args.iter().any(|a| a == "simulator") {
        return;
    }
    let (map_rate, _) = measure(min, bare_map_pairs);
    let (store_rate, _) = measure(min, store_pairs);
    row("baseline: bare BTreeMap SET+GET pairs", map_rate, "pairs/s", map_rate);
    row("store: Keyspace SET+GET pairs", store_rate, "pairs/s", map_rate);
    let history = big_history();
    let (sort_rate, _) = measure(min, || sort_events(&history));
    let (check_rate, _) = measure(min, || {
        black_box(linearizability::check(&history).expect("a valid history"));
        history.len() as u64
    });
    row(&format!("baseline: sort a {}-op history's events", history.len()), sort_rate, "ops/s", sort_rate);
    row("linearizability: check the same history", check_rate, "ops/s", sort_rate);
    violation();
    worst_case();
}

/// A 10,000-operation `cap` history that is not linearizable: quorums of one (a read may miss
/// the latest write), otherwise `big_history`'s workload.
fn violating_history() -> Vec<Operation> {
    let config = serde_json::json!({ "clients": 20, "keys": 4, "op_interval_ms": 10, "latency_max_ms": 4,
        "partition": "none", "duration_ms": 10000, "quiet_ms": 0, "consistency": "quorum",
        "read_quorum": 1, "write_quorum": 1 });
    let mut run = scenario::build("cap", &config, 7).expect("builds");
    let until = run.default_until();
    run.run_until(until).expect("runs");
    scenario::cap::history(run.as_ref())
}

/// The cost of a counterexample: the verdict alone (`Shrink::Off`, its culprits the prefix the
/// search could not get past) against the verdict with the default shrinking, on the same
/// violating history.
fn violation() {
    let history = violating_history();
    let min = Duration::from_secs(2);
    let culprits = |shrink| match linearizability::check_shrinking(&history, Budget::UNLIMITED, shrink, &mut || false) {
        Ok(Outcome::Violation { culprits, .. }) => culprits.len(),
        other => panic!("the history should not be linearizable: {other:?}"),
    };
    let time = |shrink| {
        measure(min, || {
            black_box(linearizability::check_shrinking(&history, Budget::UNLIMITED, shrink, &mut || false).ok());
            1
        })
        .0
    };
    let (alone, shrunk) = (time(Shrink::Off), time(Shrink::DEFAULT));
    println!(
        "\na violating {}-op history: verdict alone {:.2} ms ({} culprits: the failing prefix), shrunk {:.2} ms ({} culprits): {:.2}x",
        history.len(),
        1e3 / alone,
        culprits(Shrink::Off),
        1e3 / shrunk,
        culprits(Shrink::DEFAULT),
        alone / shrunk
    );
}

/// The checker's scaling on its worst case, each size once (a run can take seconds).
fn worst_case() {
    println!("\none key, 20 clients, under Budget::SCENARIO ({} steps) and a 20 s stop:", Budget::SCENARIO.steps);
    println!("{:>6} {:>12} {:>14} {:>10}  verdict", "ops", "check (ms)", "sort (ms)", "ratio");
    for ops in [100, 200, 400, 800, 1_600, 3_200] {
        let history = distlab_tests::one_key_history(20, ops, 1);
        let started = Instant::now();
        let mut stop = || started.elapsed() > Duration::from_secs(20);
        let outcome = linearizability::check_within(&history, Budget::SCENARIO, &mut stop).expect("a valid history");
        let check_ms = started.elapsed().as_secs_f64() * 1e3;
        let (sort_rate, _) = measure(Duration::from_millis(200), || sort_events(&history));
        let sort_ms = ops as f64 / sort_rate * 1e3;
        let verdict = match outcome {
            Outcome::Linearizable { .. } => "linearizable".to_owned(),
            Outcome::Violation { .. } => "VIOLATION (a bug: the history is linearizable)".to_owned(),
            Outcome::Unknown { exhausted, .. } => format!("unknown within the budget ({exhausted:?})"),
        };
        println!("{ops:>6} {check_ms:>12.1} {sort_ms:>14.3} {:>10.0}  {verdict}", check_ms / sort_ms);
    }
}
