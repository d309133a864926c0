//! `distlab sim list`, `distlab sim run` and `distlab sim shrink`: scenarios from the engine's
//! catalogue, run in simulated time, with their summary, the checkers' verdicts and the trace
//! hash; a failing run cut down to its minimal fault schedule.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use distlab_engine::check::Status;
use distlab_engine::scenario::shrink::{self, ShrinkError, ShrinkOptions, ShrinkProgress};
use distlab_engine::scenario::{self, ScenarioError, ScenarioRun};
use distlab_engine::sim::{SimDuration, SimTime, format_hash};
use serde_json::json;

use crate::{Failure, Outcome};
use distlab::memory::{self, Bytes};

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// List the scenarios.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Language of the titles.
        #[arg(long, value_enum, default_value_t = Lang::En)]
        lang: Lang,
    },
    /// Run one scenario headless and print its summary, verdicts and trace hash.
    Run(RunArgs),
    /// Cut a run that breaks a property down to a minimal fault schedule (and workload) that
    /// still breaks it; print it as a replayable --config and a link to the page.
    Shrink(ShrinkArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    En,
    Zh,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario name (see `distlab sim list`).
    scenario: String,
    /// The seed: the same scenario, configuration and seed always give the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How much simulated time to run, e.g. 500ms, 10s, 2m (default: the scenario's own length).
    #[arg(long, value_parser = parse_duration)]
    until: Option<SimDuration>,
    /// Overrides of the scenario's configuration, as a JSON object, e.g. '{"replicas":5}'.
    #[arg(long, default_value = "{}")]
    config: String,
    /// Stop with exit code 3 if the run needs more events than this.
    #[arg(long, value_name = "N", default_value_t = 5_000_000)]
    events_max: u64,
    /// Stop with exit code 3 once the process's resident memory passes this (e.g. 512MiB,
    /// 8GiB, none). Without --trace a run holds only what its checkers need.
    #[arg(long, value_name = "SIZE", default_value = "4GiB")]
    memory_max: Bytes,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Also write every trace record to this file, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// Scenario name (see `distlab sim list`).
    scenario: String,
    /// The seed of the failing run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The failing run's configuration, as a JSON object (it may hold an explicit "schedule").
    #[arg(long, default_value = "{}")]
    config: String,
    /// The property that must stay broken (default: the first broken promise, else the first
    /// broken property).
    #[arg(long)]
    property: Option<String>,
    /// How much simulated time each run lasts (default: the scenario's own length).
    #[arg(long, value_parser = parse_duration)]
    until: Option<SimDuration>,
    /// Keep the workload (clients, orders, duration) as given; cut only the fault schedule.
    #[arg(long)]
    keep_workload: bool,
    /// The most runs to try; the smallest failing run found by then is printed.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    max_runs: u32,
    /// The lab page the link points at (`cargo xtask lab` prints it).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080/")]
    page: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    s.parse::<SimDuration>().map_err(|e| e.to_string())
}

pub fn run(cmd: SimCommand) -> Result<Outcome, Failure> {
    match cmd {
        SimCommand::List { json, lang } => list(json, lang),
        SimCommand::Run(args) => run_one(&args),
        SimCommand::Shrink(args) => shrink(&args),
    }
}

fn list(json: bool, lang: Lang) -> Result<Outcome, Failure> {
    let catalog = scenario::catalog();
    if json {
        let text = serde_json::to_string_pretty(catalog).context("encoding the catalogue").map_err(Failure::limit)?;
        println!("{text}");
        return Ok(Outcome::Ok);
    }
    let width = catalog.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let section_width = catalog.iter().map(|s| s.section.len()).max().unwrap_or(0);
    for s in catalog {
        let title = if lang == Lang::Zh { s.title_zh } else { s.title_en };
        println!("{:width$}  {:section_width$}  {title}", s.name, s.section);
    }
    Ok(Outcome::Ok)
}

fn run_one(args: &RunArgs) -> Result<Outcome, Failure> {
    let config = crate::config_arg::parse_object("--config", &args.config)?;
    let mut run = scenario::build(&args.scenario, &config, args.seed).map_err(Failure::bad_input)?;
    run.set_events_max(args.events_max);
    run.set_trace_held(args.trace.is_some());
    let until = args.until.map_or(run.default_until(), |d| SimTime::ZERO + d);
    run_with_progress(run.as_mut(), until, args.memory_max).map_err(Failure::limit)?;
    if let Some(path) = &args.trace {
        write_trace(run.as_ref(), path).map_err(Failure::bad_input)?;
    }
    let verdicts = run.verdicts();
    if args.json {
        let out = json!({
            "scenario": run.spec().name,
            "section": run.spec().section,
            "seed": run.seed(),
            "config": config,
            "until_us": until.as_micros(),
            "summary": run.summary(),
            "verdicts": verdicts,
            "trace_records": run.trace().len(),
            "trace_hash": format_hash(run.trace().hash()),
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        print_text(run.as_ref(), until);
    }
    let promised = || verdicts.iter().filter(|v| v.promised);
    Ok(if promised().any(|v| v.status == Status::Violated) {
        Outcome::PropertyViolated
    } else if promised().any(|v| v.status == Status::Unknown) {
        Outcome::Undecided
    } else {
        Outcome::Ok
    })
}

fn shrink(args: &ShrinkArgs) -> Result<Outcome, Failure> {
    let config = crate::config_arg::parse_object("--config", &args.config)?;
    let options = ShrinkOptions {
        property: args.property.clone(),
        workload: !args.keep_workload,
        until: args.until.map(|d| SimTime::ZERO + d),
        max_runs: args.max_runs,
    };
    let show = std::io::stderr().is_terminal();
    let mut progress = |p: &ShrinkProgress| {
        if show {
            eprint!(
                "\r  shrinking {}: run {}/{} ({}), {} faults  ",
                args.scenario, p.runs, p.max_runs, p.phase, p.faults
            );
            let _ = std::io::stderr().flush();
        }
    };
    let shrunk = shrink::shrink(&args.scenario, &config, args.seed, &options, &mut progress);
    if show {
        eprintln!();
    }
    let shrunk = shrunk.map_err(|e| match e {
        ShrinkError::Scenario(ScenarioError::Sim(_)) => Failure::limit(e),
        _ => Failure::bad_input(e),
    })?;
    let link = page_link(&args.page, &shrunk.scenario, shrunk.seed, &shrunk.config);
    if args.json {
        let mut out = serde_json::to_value(&shrunk).context("encoding the result").map_err(Failure::limit)?;
        out["link"] = link.map_or(serde_json::Value::Null, Into::into);
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(Outcome::Ok);
    }
    println!("scenario: {}, seed {}: {} still broken", shrunk.scenario, shrunk.seed, shrunk.property);
    println!(
        "faults: {} -> {} ({} runs{})",
        shrunk.faults_before,
        shrunk.faults_after,
        shrunk.runs,
        if shrunk.minimal { "" } else { ", stopped at --max-runs: not known to be minimal" }
    );
    for k in &shrunk.workload {
        println!("{}: {} -> {}", k.knob, k.before, k.after);
    }
    if let Some(schedule) = shrunk.config.get(scenario::schedule::FIELD).and_then(|s| s.as_array()) {
        for entry in schedule {
            println!("  {entry}");
        }
    }
    println!("counterexample: {}", shrunk.detail);
    println!("replay: distlab sim run {} --seed {} --config '{}'", shrunk.scenario, shrunk.seed, shrunk.config);
    match link {
        Some(link) => println!("link: {link}"),
        None => println!("link: no view of the page shows {}", shrunk.scenario),
    }
    Ok(Outcome::Ok)
}

/// The page's view of each scenario, with the view's own parameter that picks it.
const VIEWS: &[(&str, &str)] = &[
    ("pn-counter", "counter"),
    ("cap", "cap"),
    ("failure-detector", "failure-detector"),
    ("election", "coordination"),
    ("mq", "queues"),
    ("cache", "caching"),
    ("lb", "balancing"),
    ("ha", "availability"),
    ("lock", "locks?kind=single"),
    ("zk-lock", "locks?kind=zk"),
    ("redlock", "locks?kind=redlock"),
    ("ids", "ids"),
    ("2pc", "transactions?protocol=2pc"),
    ("tcc", "transactions?protocol=tcc"),
    ("saga", "transactions?protocol=saga"),
    ("saga-choreo", "transactions?protocol=saga-choreo"),
    ("outbox", "transactions?protocol=outbox"),
];

/// A link that opens the run on the page: the scenario's view, the seed, and the whole
/// configuration in `sim.config` (which the page runs instead of its own controls' settings).
fn page_link(page: &str, scenario: &str, seed: u64, config: &serde_json::Value) -> Option<String> {
    let (_, route) = VIEWS.iter().find(|(name, _)| *name == scenario)?;
    let (view, query) = route.split_once('?').unwrap_or((route, ""));
    let mut params = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        params.append_pair(&k, &v);
    }
    params.append_pair("sim.seed", &seed.to_string());
    params.append_pair("sim.config", &config.to_string());
    Some(format!("{}#/{view}?{}", page.trim_end_matches('#'), params.finish()))
}

/// Runs in twenty slices, printing progress to stderr when it is a terminal, within
/// `memory_max` of resident memory.
pub fn run_with_progress(run: &mut dyn ScenarioRun, until: SimTime, memory_max: Bytes) -> anyhow::Result<()> {
    let show = std::io::stderr().is_terminal();
    const SLICES: u64 = 20;
    for i in 1..=SLICES {
        let t = SimTime::from_micros(until.as_micros() / SLICES * i);
        let t = if i == SLICES { until } else { t };
        run_bounded(run, t, memory_max).with_context(|| format!("the run stopped at t = {}", run.now()))?;
        if show {
            eprint!(
                "\r  running {}: {:3}% (t = {t}, {} events)",
                run.spec().name,
                i * 100 / SLICES,
                run.events_processed()
            );
            let _ = std::io::stderr().flush();
        }
    }
    if show {
        eprintln!();
    }
    Ok(())
}

/// How many events run between two looks at the process's memory (a look costs a few µs).
const MEMORY_EVERY: u64 = 4_096;

/// Runs to `until`, ending with an error once resident memory passes `memory_max`.
pub fn run_bounded(run: &mut dyn ScenarioRun, until: SimTime, memory_max: Bytes) -> anyhow::Result<()> {
    if memory_max == Bytes::UNBOUNDED {
        return Ok(run.run_until(until)?);
    }
    while run.step_within(until)?.is_some() {
        if run.events_processed().is_multiple_of(MEMORY_EVERY)
            && let Some(resident) = memory::resident()
            && resident > memory_max
        {
            anyhow::bail!(
                "the process holds {resident}, past --memory-max {memory_max}, after {} events (raise --memory-max, shorten --until{})",
                run.events_processed(),
                if run.trace().records().is_empty() { "" } else { ", or leave out --trace" }
            );
        }
    }
    Ok(run.run_until(until)?)
}

fn write_trace(run: &dyn ScenarioRun, path: &PathBuf) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for r in run.trace().records() {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("cannot write {}", path.display()))
}

fn print_text(run: &dyn ScenarioRun, until: SimTime) {
    let spec = run.spec();
    println!("scenario: {} ({}), seed {}, run to t = {until}", spec.name, spec.section, run.seed());
    println!("summary:");
    for (key, value) in run.summary() {
        println!("  {key}: {}", render(&value));
    }
    println!("checks:");
    for v in run.verdicts() {
        let shown = if v.promised { "" } else { " (shown, not promised)" };
        let label = match v.status {
            Status::Holds => "PASS",
            Status::Violated => "FAIL",
            Status::Pending => "OPEN",
            Status::Unknown => "UNKNOWN",
        };
        let open =
            if v.status == Status::Pending { " (not yet decidable: the run stopped before its end)" } else { "" };
        println!("  {label} {}{shown}{open}: {}", v.property, v.detail);
    }
    println!("trace hash: {}", format_hash(run.trace().hash()));
}

/// Scalars bare, objects as `k=v` lists, everything else as compact JSON.
fn render(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::Object(map) => {
            map.iter().map(|(k, v)| format!("{k}={}", render(v))).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}
