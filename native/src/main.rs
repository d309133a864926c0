//! `distlab`: the native face of distlab. Today it runs scenarios headless (`distlab sim ...`);
//! the native-runner issue adds real Redis and the benchmark harness.
//!
//! Exit codes: 0 every checked property holds; 1 a property is violated; 2 bad input (unknown
//! scenario, bad configuration or duration); 3 the run hit one of the simulator's limits.

mod sim_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "distlab",
    version,
    about = "A hands-on lab for distributed-systems patterns"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine's scenarios in simulated time, headless.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
}

/// How a command ended, mapped to the documented exit codes.
#[derive(Debug)]
pub enum Outcome {
    Ok,
    PropertyViolated,
}

/// A failure with its exit code: 2 for bad input, 3 for a run stopped by a limit.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: 2,
            error: error.into(),
        }
    }
    pub fn limit(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: 3,
            error: error.into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(cmd) => sim_cmd::run(cmd),
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
