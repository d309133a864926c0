//! `distlab`: the native face of distlab — scenarios headless (`distlab sim ...`) and engine
//! actors against real Redis with benchmarks (`distlab bench`) and sagas (`distlab saga`).
//!
//! Exit codes: 0 success; 1 a promised property is violated, or a run failed midway; 2 bad input
//! (unknown scenario, bad configuration, unusable Redis target); 3 a simulated run hit one of the
//! simulator's limits; 129, 130, 143 stopped by SIGHUP, Ctrl-C (SIGINT) or SIGTERM, after the same
//! cleanup; 141 the output's reader went away.

mod bench_cmd;
mod cache_cmd;
mod check_cmd;
mod config_arg;
mod id_cmd;
mod lb_cmd;
mod mq_cmd;
mod progress;
mod replay_cmd;
mod resume;
mod ring_cmd;
mod saga_cmd;
mod signals;
mod sim_cmd;
mod sweep_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "distlab", version, about = "A hands-on lab for distributed-systems patterns")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine's scenarios in simulated time, headless.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
    /// Measure patterns against Redis, next to Redis's own raw speed in the same run.
    Bench(bench_cmd::BenchArgs),
    /// The consistent-hash ring: locate keys, measure balance and movement.
    #[command(subcommand)]
    Ring(ring_cmd::RingCommand),
    /// Check a recorded history with the engine's checkers.
    #[command(subcommand)]
    Check(check_cmd::CheckCommand),
    /// Load-balancing algorithms: the backends each one picks.
    #[command(subcommand)]
    Lb(lb_cmd::LbCommand),
    /// Run a scenario over many seeds and parameter values, and tabulate what it kept.
    #[command(subcommand)]
    Sweep(sweep_cmd::SweepCommand),
    /// Cache eviction policies on a trace, next to the optimum.
    #[command(subcommand)]
    Cache(cache_cmd::CacheCommand),
    /// Orders as sagas on Redis: log and outbox in it, resumable after a crash, checked at the end.
    Saga(saga_cmd::SagaArgs),
    /// A reliable message queue on Redis Streams, consumers killed mid-batch, audited at the end.
    Mq(mq_cmd::MqArgs),
    /// Distributed IDs: mint Snowflake, Sonyflake, UUIDv4/v7 or Leaf-segment IDs, or read one back.
    #[command(subcommand)]
    Id(id_cmd::IdCommand),
    /// A store-backed scenario in the simulator, then its store commands sent to a real Redis at
    /// the same moments: the first answer that differs, and the events that led to it.
    Replay(replay_cmd::ReplayArgs),
}

/// How a command ended, mapped to the documented exit codes.
#[derive(Debug)]
pub enum Outcome {
    Ok,
    PropertyViolated,
    /// A checker ran out of its budget before deciding (exit 4): neither a pass nor a failure.
    Undecided,
}

/// A failure with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        Failure { code: 2, error: error.into() }
    }
    pub fn limit(error: impl Into<anyhow::Error>) -> Self {
        Failure { code: 3, error: error.into() }
    }
    pub fn runtime(error: impl Into<anyhow::Error>) -> Self {
        Failure { code: 1, error: error.into() }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    quiet_broken_pipe();
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        Command::Sim(cmd) => sim_cmd::run(cmd),
        Command::Bench(args) => on_runtime(|| async move { bench_cmd::run(&args).await }),
        Command::Ring(cmd) => ring_cmd::run(cmd),
        Command::Check(cmd) => check_cmd::run(cmd),
        Command::Lb(cmd) => lb_cmd::run(cmd),
        Command::Sweep(cmd) => sweep_cmd::run(cmd),
        Command::Cache(cmd) => cache_cmd::run(cmd),
        Command::Saga(args) => on_runtime(|| async move { saga_cmd::run(&args).await }),
        Command::Mq(args) => on_runtime(|| async move { mq_cmd::run(&args).await }),
        Command::Id(cmd) => id_cmd::run(cmd),
        Command::Replay(args) => on_runtime(|| async move { replay_cmd::run(&args).await }),
    }));
    let result = match run {
        Ok(result) => result,
        // The reader went away (`distlab ... | head`): everything was dropped on the way out
        // (private servers stopped, keys deleted); end as a Unix tool killed by SIGPIPE would.
        Err(payload) if is_broken_pipe(payload.as_ref()) => return ExitCode::from(141),
        // Any other output error (a full disk): one line, exit 1.
        Err(payload) if output_error(payload.as_ref()).is_some() => {
            let why = output_error(payload.as_ref()).unwrap_or_default();
            eprintln!("error: cannot write the output: {why}");
            return ExitCode::from(1);
        }
        Err(payload) => std::panic::resume_unwind(payload),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::PropertyViolated) => ExitCode::from(1),
        Ok(Outcome::Undecided) => ExitCode::from(4),
        // The reader of the output went away: nothing worth a message.
        Err(f) if closed_pipe(&f.error) => ExitCode::from(141),
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

/// Whether an error comes from writing to a closed pipe (directly, or through serde_json, whose
/// error does not list the I/O error as its source).
fn closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        let kind = e
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| e.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind));
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Whether a panic is std's `println!` failing on a closed pipe.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied())
}

fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    panic_text(payload).is_some_and(|t| t.starts_with("failed printing to") && t.contains("Broken pipe"))
}

/// What went wrong when `print!` could not write (std panics then): "stdout: No space left on
/// device (os error 28)".
fn output_error(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    panic_text(payload).and_then(|t| t.strip_prefix("failed printing to ")).map(str::to_owned)
}

/// Keeps the panic hook quiet when the output cannot be written (std ignores SIGPIPE, so
/// `println!` panics instead, as it does on a full disk); `main` then unwinds, cleans up and
/// exits with 141 for a closed pipe, or says why in one line and exits with 1. Every other panic
/// is reported.
fn quiet_broken_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if output_error(info.payload()).is_none() {
            report(info);
        }
    }));
}

/// Runs `work` on a single-threaded tokio runtime inside a `LocalSet` (the real-time driver's
/// home), with rustls's crypto provider installed for `rediss://` targets.
pub(crate) fn on_runtime<F, Fut>(work: F) -> Result<Outcome, Failure>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Outcome, Failure>>,
{
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(anyhow::anyhow!("cannot start the async runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        signals::listen();
        work().await
    })
}
