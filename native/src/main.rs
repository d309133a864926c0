//! `distlab`: the native face of distlab — scenarios headless (`distlab sim ...`) and engine
//! actors against real Redis with benchmarks (`distlab bench`) and sagas (`distlab saga`).
//!
//! Exit codes: 0 success; 1 a promised property is violated, or a run failed midway; 2 bad input
//! (unknown scenario, bad configuration, unusable Redis target); 3 a simulated run hit one of the
//! simulator's limits; 130 interrupted (Ctrl-C).

mod bench_cmd;
mod cache_cmd;
mod check_cmd;
mod ring_cmd;
mod saga_cmd;
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
    /// Run a scenario over many seeds and parameter values, and tabulate what it kept.
    #[command(subcommand)]
    Sweep(sweep_cmd::SweepCommand),
    /// Cache eviction policies on a trace, next to the optimum.
    #[command(subcommand)]
    Cache(cache_cmd::CacheCommand),
    /// Orders as sagas on Redis: log and outbox in it, resumable after a crash, checked at the end.
    Saga(saga_cmd::SagaArgs),
}

/// How a command ended, mapped to the documented exit codes.
#[derive(Debug)]
pub enum Outcome {
    Ok,
    PropertyViolated,
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
    pub fn interrupted() -> Self {
        Failure { code: 130, error: anyhow::anyhow!("interrupted") }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(cmd) => sim_cmd::run(cmd),
        Command::Bench(args) => on_runtime(|| async move { bench_cmd::run(&args).await }),
        Command::Ring(cmd) => ring_cmd::run(cmd),
        Command::Check(cmd) => check_cmd::run(cmd),
        Command::Sweep(cmd) => sweep_cmd::run(cmd),
        Command::Cache(cmd) => cache_cmd::run(cmd),
        Command::Saga(args) => on_runtime(|| async move { saga_cmd::run(&args).await }),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::PropertyViolated) => ExitCode::from(1),
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

/// Runs `work` on a single-threaded tokio runtime inside a `LocalSet` (the real-time driver's
/// home), with rustls's crypto provider installed for `rediss://` targets.
fn on_runtime<F, Fut>(work: F) -> Result<Outcome, Failure>
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
    local.block_on(&runtime, work())
}
