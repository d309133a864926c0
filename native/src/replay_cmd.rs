//! `distlab replay`: a store-backed scenario run in the simulator, then its store history — every
//! command its stores executed, when, in that order — sent to a real Redis at the same moments,
//! and the first answer that differs, with the events that led to it (`scenario::replay`). Both
//! histories go to a file the page opens beside the simulated run.

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use distlab_engine::check::{Status, Verdict};
use distlab_engine::scenario::{self, ScenarioRun, replay};
use distlab_engine::sim::{Fault, SimDuration, SimTime, TraceRecord};
use distlab_engine::store::Reply;
use serde::Serialize;

use crate::bench_cmd::TargetArgs;
use crate::{Failure, Outcome};
use distlab::memory::Bytes;
use distlab::target::Target;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A store-backed scenario (see `distlab sim list`): lock, redlock, zk-lock's store, cache
    /// (cache-aside), saga-store, ...
    scenario: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The scenario's configuration, as a JSON object (it may hold an explicit "schedule").
    #[arg(long, default_value = "{}")]
    config: String,
    /// How much simulated time to run and replay (default: the scenario's own length; the replay
    /// takes as long in real time).
    #[arg(long, value_parser = parse_duration)]
    until: Option<SimDuration>,
    #[command(flatten)]
    target: TargetArgs,
    /// Where both histories are written, for the page (default: replay-SCENARIO-SEED.json).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print one JSON object (the report, without the histories) instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    s.parse::<SimDuration>().map_err(|e| e.to_string())
}

/// The records of the simulated trace shown before a divergence.
const LEADING: usize = 8;

/// One command as both stores answered it.
#[derive(Debug, Serialize)]
struct Answered {
    #[serde(flatten)]
    exchange: replay::Exchange,
    /// The command as Redis reads it, for the page's table.
    command: String,
    /// When Redis ran it, µs after the replay began.
    real_at_us: u64,
    real: Reply,
    same: bool,
}

/// Where the two histories part.
#[derive(Debug, Serialize)]
struct Divergence {
    n: usize,
    at_us: u64,
    real_at_us: u64,
    client: String,
    store: String,
    /// The command, as Redis reads it.
    command: String,
    simulated: Reply,
    real: Reply,
    /// The simulated trace up to the store's execution of it.
    leading: Vec<TraceRecord>,
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: String,
    seed: u64,
    config: serde_json::Value,
    target: String,
    until_us: u64,
    commands: usize,
    /// Faults of the simulated stores the real target does not undergo.
    store_faults: Vec<StoreFault>,
    divergence: Option<Divergence>,
    /// Properties the simulated run breaks at or after the divergence: the divergence matters.
    flagged_by: Vec<String>,
    verdicts: Vec<Verdict>,
}

#[derive(Debug, Serialize)]
struct StoreFault {
    at_us: u64,
    fault: Fault,
}

pub async fn run(args: &ReplayArgs) -> Result<Outcome, Failure> {
    let config = crate::config_arg::parse_object("--config", &args.config)?;
    let mut sim = scenario::build(&args.scenario, &config, args.seed).map_err(Failure::bad_input)?;
    let until = args.until.map_or(sim.default_until(), |d| SimTime::ZERO + d);
    crate::sim_cmd::run_bounded(sim.as_mut(), until, Bytes::UNBOUNDED).map_err(Failure::limit)?;
    let history = replay::exchanges(sim.as_ref());
    if history.is_empty() {
        return Err(Failure::bad_input(anyhow!(
            "{} sends its stores no commands (up to t = {until}): replay compares store-backed scenarios (lock, redlock, cache, saga-store, ...) with Redis",
            args.scenario
        )));
    }
    let stores = store_order(sim.as_ref(), &history);
    let target = Target::connect_servers(&args.target.spec(), stores.len()).await.map_err(Failure::bad_input)?;
    if target.backends.len() < stores.len() {
        let needed = stores.len();
        let had = target.backends.len();
        crate::bench_cmd::clean_up(target).await;
        return Err(Failure::bad_input(anyhow!(
            "{} has {needed} independent stores ({}), the target has {had}: give --redis-nodes with {needed} servers",
            args.scenario,
            stores.join(", ")
        )));
    }
    eprintln!("{}", target.description);
    eprintln!(
        "  replaying {} commands of {} (seed {}) at the simulator's times: {:.1} s",
        history.len(),
        args.scenario,
        args.seed,
        Duration::from_micros(until.as_micros()).as_secs_f64()
    );
    let done = Rc::new(Cell::new(0u64));
    let total = history.len();
    let ticker = crate::progress::ticker(Rc::clone(&done), move |n, s| format!("  {n} of {total} commands, {s:.0} s"));
    let result = tokio::select! {
        r = send(&target, &stores, &history, &done) => r,
        stop = crate::signals::stopped() => Err(stop),
    };
    drop(ticker);
    let description = target.description.clone();
    crate::bench_cmd::clean_up(target).await;
    let answered = result?;

    let verdicts = sim.verdicts();
    let divergence = answered.iter().find(|a| !a.same).map(|a| {
        let records = sim.trace().records();
        let upto = usize::try_from(a.exchange.record).unwrap_or(records.len()).min(records.len().saturating_sub(1));
        let from = (upto + 1).saturating_sub(LEADING);
        Divergence {
            n: a.exchange.n,
            at_us: a.exchange.at_us,
            real_at_us: a.real_at_us,
            client: a.exchange.client.clone(),
            store: a.exchange.store.clone(),
            command: a.exchange.cmd.to_string(),
            simulated: a.exchange.reply.clone().unwrap_or(Reply::Nil),
            real: a.real.clone(),
            leading: records[from..=upto].to_vec(),
        }
    });
    let flagged_by: Vec<String> = match &divergence {
        None => Vec::new(),
        Some(d) => verdicts
            .iter()
            .filter(|v| v.promised && v.status == Status::Violated && v.at_us.is_none_or(|t| t >= d.at_us))
            .map(|v| v.property.clone())
            .collect(),
    };
    let report = Report {
        scenario: args.scenario.clone(),
        seed: args.seed,
        config,
        target: description,
        until_us: until.as_micros(),
        commands: answered.len(),
        store_faults: replay::store_faults(sim.as_ref(), &history)
            .into_iter()
            .map(|(at_us, fault)| StoreFault { at_us, fault })
            .collect(),
        divergence,
        flagged_by,
        verdicts,
    };
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("replay-{}-{}.json", args.scenario, args.seed)));
    write_histories(&out, &report, &answered).map_err(Failure::runtime)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print_text(&report, &out);
    }
    Ok(if report.flagged_by.is_empty() { Outcome::Ok } else { Outcome::PropertyViolated })
}

/// The stores in node order (as the scenario added them): the first backend of the target is the
/// first store, and so on.
fn store_order(sim: &dyn ScenarioRun, history: &[replay::Exchange]) -> Vec<String> {
    sim.snapshot().nodes.into_iter().map(|n| n.name).filter(|name| history.iter().any(|e| &e.store == name)).collect()
}

/// Sends every command to its store's backend at its simulated moment, in the simulated order.
async fn send(
    target: &Target,
    stores: &[String],
    history: &[replay::Exchange],
    done: &Cell<u64>,
) -> Result<Vec<Answered>, Failure> {
    let started = tokio::time::Instant::now();
    let mut answered = Vec::with_capacity(history.len());
    let mut ids = replay::StreamIds::default();
    for e in history {
        tokio::time::sleep_until(started + Duration::from_micros(e.at_us)).await;
        let real_at_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let store = stores.iter().position(|s| s == &e.store).unwrap_or(0);
        let real = target.backends[store]
            .exec(&ids.to_real(&e.cmd))
            .await
            .map_err(|err| Failure::runtime(anyhow!("command {} ({}) on {}: {err}", e.n, e.cmd, e.store)))?;
        if let Some(simulated) = &e.reply {
            ids.learn(simulated, &real);
        }
        let real = ids.to_simulated(&real);
        let same = e.reply.as_ref().is_none_or(|simulated| replay::same_reply(&e.cmd, simulated, &real));
        answered.push(Answered { exchange: e.clone(), command: e.cmd.to_string(), real_at_us, real, same });
        done.set(done.get() + 1);
    }
    Ok(answered)
}

fn write_histories(path: &PathBuf, report: &Report, answered: &[Answered]) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct File<'a> {
        #[serde(flatten)]
        report: &'a Report,
        history: &'a [Answered],
    }
    let text = serde_json::to_string(&File { report, history: answered }).context("encoding the histories")?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn print_text(r: &Report, out: &std::path::Path) {
    println!(
        "scenario: {}, seed {}: {} store commands replayed on {} at the simulator's times (t = {})",
        r.scenario,
        r.seed,
        r.commands,
        // The target line went to stderr whole; here, only which server it was.
        r.target.trim_start_matches("target: ").split(" (").next().unwrap_or_default(),
        SimTime::from_micros(r.until_us)
    );
    if !r.store_faults.is_empty() {
        let faults: Vec<String> = r
            .store_faults
            .iter()
            .map(|f| {
                format!("{} at {}", serde_json::to_string(&f.fault).unwrap_or_default(), SimTime::from_micros(f.at_us))
            })
            .collect();
        println!("faults of the simulated stores that Redis does not undergo: {}", faults.join(", "));
    }
    match &r.divergence {
        None => println!("no divergence: Redis answered every command as the simulated store did"),
        Some(d) => {
            println!(
                "first divergence: command {} at t = {}, {} -> {}: {}",
                d.n,
                SimTime::from_micros(d.at_us),
                d.client,
                d.store,
                d.command
            );
            println!("  simulated:  {:?}", d.simulated);
            // How late the real command ran: an answer that hangs on a millisecond (a claim's
            // minimum idle time, a lease's last moment) can differ by that alone.
            println!(
                "  real Redis: {:?} (run {:.3} ms after its simulated moment)",
                d.real,
                d.real_at_us.saturating_sub(d.at_us) as f64 / 1_000.0
            );
            println!("  leading to it (the simulated trace):");
            for record in &d.leading {
                println!("    {}", serde_json::to_string(record).unwrap_or_default());
            }
        }
    }
    println!("verdicts of the simulated run:");
    for v in &r.verdicts {
        println!("  {} {}: {}", crate::sim_cmd::status_label(v.status), v.property, v.detail);
    }
    if !r.flagged_by.is_empty() {
        println!(
            "the divergence matters: {} broken in the simulator from there on, where Redis answered otherwise",
            r.flagged_by.join(", ")
        );
    }
    println!("both histories: {}", out.display());
}
