//! `distlab sim list`, `distlab sim run` and `distlab sim shrink`: scenarios from the engine's
//! catalogue, run in simulated time, with their summary, the checkers' verdicts and the trace
//! hash; a failing run cut down to its minimal fault schedule.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use distlab_engine::check::Status;
use distlab_engine::scenario::branch;
use distlab_engine::scenario::shrink::{self, ShrinkError, ShrinkOptions, ShrinkProgress};
use distlab_engine::scenario::{self, ScenarioError, ScenarioRun};
use distlab_engine::sim::{SimDuration, SimError, SimTime, format_hash};
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
    /// Fork a run with one fault more (--add) or one of its faults less (--remove), run both
    /// branches to the end, and show where they first part and both verdicts.
    Branch(BranchArgs),
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

#[derive(Debug, Args)]
pub struct BranchArgs {
    /// Scenario name (see `distlab sim list`).
    scenario: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The run's configuration, as a JSON object (it may hold an explicit "schedule").
    #[arg(long, default_value = "{}")]
    config: String,
    /// Faults put in by hand in the run, as the page's share link carries them (sim.faults):
    /// '[{"after":120,"at":2000000,"fault":{"fault":"crash","node":"c1"}}]'.
    #[arg(long, value_name = "JSON", default_value = "[]")]
    faults: String,
    /// The second branch adds this fault, e.g. '{"fault":"crash","node":"c1"}'; needs --at or
    /// --after-events.
    #[arg(long, value_name = "FAULT", conflicts_with = "remove")]
    add: Option<String>,
    /// Where the added fault goes in: after every event by this time (e.g. 2.5s).
    #[arg(long, value_parser = parse_duration, conflicts_with = "after_events")]
    at: Option<SimDuration>,
    /// Where the added fault goes in: after this many events (as the page forks at an event).
    #[arg(long, value_name = "N")]
    after_events: Option<u64>,
    /// The second branch leaves out the run's N-th fault (1 = the earliest). Without --add or
    /// --remove the run's faults are listed.
    #[arg(long, value_name = "N")]
    remove: Option<usize>,
    /// How much simulated time both branches run (default: the scenario's own length).
    #[arg(long, value_parser = parse_duration)]
    until: Option<SimDuration>,
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
        SimCommand::Branch(args) => branch_cmd(&args),
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

fn branch_cmd(args: &BranchArgs) -> Result<Outcome, Failure> {
    let bad = |e: branch::BranchError| match e {
        branch::BranchError::Sim(SimError::Fault(_)) => Failure::bad_input(e),
        branch::BranchError::Sim(_) | branch::BranchError::Scenario(ScenarioError::Sim(_)) => Failure::limit(e),
        _ => Failure::bad_input(e),
    };
    let config = crate::config_arg::parse_object("--config", &args.config)?;
    let injected: Vec<branch::Injected> = serde_json::from_str(&args.faults).map_err(|e| {
        Failure::bad_input(anyhow::anyhow!(
            "--faults is not a list of faults put in by hand ({e}): {}",
            cut(&args.faults)
        ))
    })?;
    let base = branch::Branch { config, injected };
    let until = args.until.map(|d| SimTime::ZERO + d);
    let change = match (&args.add, args.remove) {
        (Some(text), _) => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Failure::bad_input(anyhow::anyhow!("--add is not valid JSON ({e}): {}", cut(text))))?;
            let fault = scenario::schedule::read_fault(&value).map_err(|why| {
                Failure::bad_input(anyhow::anyhow!("--add = {} is not allowed: expected {why}", cut(text)))
            })?;
            let at = match (args.at, args.after_events) {
                (Some(t), _) => branch::At::Time(SimTime::ZERO + t),
                (None, Some(n)) => branch::At::Events(n),
                (None, None) => {
                    return Err(Failure::bad_input(anyhow::anyhow!(
                        "--add needs where the fault goes in: --at TIME (e.g. 2.5s) or --after-events N"
                    )));
                }
            };
            branch::add_at(&args.scenario, args.seed, &base, at, fault).map_err(bad)?
        }
        (None, remove) => {
            let faults = branch::faults(&args.scenario, args.seed, &base).map_err(bad)?;
            let listed = || {
                faults
                    .iter()
                    .enumerate()
                    .map(|(i, (t, f))| {
                        format!("  {}. t = {t}: {}", i + 1, serde_json::to_string(f).unwrap_or_default())
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let Some((at, fault)) = remove.and_then(|n| n.checked_sub(1)).and_then(|i| faults.get(i)) else {
                let why = match remove {
                    None => {
                        "say what the second branch changes: --add FAULT (with --at or --after-events) or --remove N"
                            .to_owned()
                    }
                    Some(n) => format!("--remove {n} is out of range: allowed 1..={}", faults.len()),
                };
                let list = if faults.is_empty() {
                    "the run has no faults".to_owned()
                } else {
                    format!("the run's faults:\n{}", listed())
                };
                return Err(Failure::bad_input(anyhow::anyhow!("{why}; {list}")));
            };
            branch::Change::Remove { at_us: at.as_micros(), fault: fault.clone() }
        }
    };
    let show = std::io::stderr().is_terminal();
    let mut progress = |p: &branch::BranchProgress| {
        if show {
            eprint!("\r  comparing {}: t = {} µs of {} µs  ", args.scenario, p.a_us.min(p.b_us), p.until_us);
            let _ = std::io::stderr().flush();
        }
    };
    let compared = branch::compare(&args.scenario, args.seed, &base, &change, until, &mut progress);
    if show {
        eprintln!();
    }
    let compared = compared.map_err(bad)?;
    let link = branch_link(&args.page, &compared, &base);
    if args.json {
        let mut out = serde_json::to_value(&compared).context("encoding the result").map_err(Failure::limit)?;
        out["link"] = link.map_or(serde_json::Value::Null, Into::into);
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(Outcome::Ok);
    }
    print_comparison(&compared);
    match link {
        Some(link) => println!("link: {link}"),
        None => println!("link: no view of the page shows {}", compared.scenario),
    }
    Ok(Outcome::Ok)
}

/// A value quoted in an error, cut to a readable length.
fn cut(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn print_comparison(c: &branch::Comparison) {
    let fault = serde_json::to_string(c.change.fault()).unwrap_or_default();
    println!("scenario: {}, seed {}", c.scenario, c.seed);
    match &c.change {
        branch::Change::Add(i) => {
            println!("B = A + {fault} after {} events (t = {})", i.after, SimTime::from_micros(i.at_us));
        }
        branch::Change::Remove { at_us, .. } => println!("B = A - {fault} (t = {})", SimTime::from_micros(*at_us)),
    }
    let line = |r: &distlab_engine::sim::TraceRecord| serde_json::to_string(r).unwrap_or_default();
    match &c.change_record {
        Some(r) => println!("the change: {}", line(r)),
        None => println!("the change: no record (the fault falls after the run's end)"),
    }
    match &c.divergence {
        None => println!("no divergence: apart from the change itself, the two traces are the same record for record"),
        Some(d) => {
            println!("first divergence at t = {}:", SimTime::from_micros(d.at_us));
            for (name, index, side) in [("A", d.a_index, &c.a), ("B", d.b_index, &c.b)] {
                let record = index.and_then(|i| side.window.iter().find(|r| r.index == i));
                match record {
                    Some(r) => println!("  {name} {}", line(r)),
                    None => println!("  {name} (the run had ended)"),
                }
            }
        }
    }
    println!("verdicts:        A (as run)  B");
    for (a, b) in c.a.verdicts.iter().zip(&c.b.verdicts) {
        let mark = if a.status == b.status { "" } else { "  <- differs" };
        println!("  {:24} {:11} {}{mark}", a.property, status_label(a.status), status_label(b.status));
    }
    println!("events:          {:11} {}", c.a.events, c.b.events);
    println!("trace hash:      {} {}", c.a.trace_hash, c.b.trace_hash);
}

/// A link that opens the comparison on the page: the run (its configuration, seed and faults
/// put in by hand) and the change, which the page runs beside it.
fn branch_link(page: &str, c: &branch::Comparison, base: &branch::Branch) -> Option<String> {
    let mut link = page_link(page, &c.scenario, c.seed, &base.config)?;
    let mut params = form_urlencoded::Serializer::new(String::new());
    if !base.injected.is_empty() {
        params.append_pair("sim.faults", &serde_json::to_string(&base.injected).unwrap_or_default());
    }
    params.append_pair("sim.branch", &serde_json::to_string(&c.change).unwrap_or_default());
    link.push('&');
    link.push_str(&params.finish());
    Some(link)
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
    let over = |run: &dyn ScenarioRun| match memory::resident() {
        Some(resident) if resident > memory_max => Err(anyhow::anyhow!(
            "the process holds {resident}, past --memory-max {memory_max}, after {} events (raise --memory-max, shorten --until{})",
            run.events_processed(),
            if run.trace().records().is_empty() { "" } else { ", or leave out --trace" }
        )),
        _ => Ok(()),
    };
    // Looked at before the first event too: a bound below what the process already holds ends
    // the run at once, however few events it has.
    over(run)?;
    while run.step_within(until)?.is_some() {
        if run.events_processed().is_multiple_of(MEMORY_EVERY) {
            over(run)?;
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
        let label = status_label(v.status);
        let open =
            if v.status == Status::Pending { " (not yet decidable: the run stopped before its end)" } else { "" };
        println!("  {label} {}{shown}{open}: {}", v.property, v.detail);
    }
    println!("trace hash: {}", format_hash(run.trace().hash()));
}

/// A verdict's state as the CLI's text prints it.
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Holds => "PASS",
        Status::Violated => "FAIL",
        Status::Pending => "OPEN",
        Status::Unknown => "UNKNOWN",
    }
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
