//! Developer tasks, in Rust so that nothing depends on shell scripts (design.md).
//!
//! `cargo xtask test` runs everything the project checks, in the order CI does, and installs
//! what it can install on a fresh machine first.

use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  test    fmt check, clippy -D warnings, every test, and the engine built for wasm32";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task {other:?}\n\n{USAGE}")),
        None => Err(anyhow::anyhow!("no task given\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One step of `cargo xtask test`.
struct Step {
    name: &'static str,
    program: &'static str,
    args: &'static [&'static str],
}

const TEST_STEPS: &[Step] = &[
    Step { name: "format", program: "cargo", args: &["fmt", "--all", "--check"] },
    Step {
        name: "clippy",
        program: "cargo",
        args: &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"],
    },
    Step { name: "tests", program: "cargo", args: &["test", "--workspace", "--locked"] },
    Step {
        name: "engine for wasm32",
        program: "cargo",
        args: &["build", "--locked", "-p", "distlab-engine", "-p", "distlab-wasm", "--target", WASM_TARGET],
    },
];

fn test() -> Result<()> {
    let started = Instant::now();
    ensure_toolchain()?;
    ensure_redis()?;
    let mut results = Vec::new();
    for (i, step) in TEST_STEPS.iter().enumerate() {
        println!("==> [{}/{}] {}: {} {}", i + 1, TEST_STEPS.len(), step.name, step.program, step.args.join(" "));
        let t = Instant::now();
        let ok = run(step.program, step.args)?;
        let secs = t.elapsed().as_secs_f64();
        println!("==> {} {} in {secs:.1} s", step.name, if ok { "passed" } else { "FAILED" });
        results.push((step.name, ok, secs));
    }
    println!("\nxtask test summary ({:.0} s):", started.elapsed().as_secs_f64());
    for (name, ok, secs) in &results {
        println!("  {} {name} ({secs:.1} s)", if *ok { "PASS" } else { "FAIL" });
    }
    let failed: Vec<&str> = results.iter().filter(|r| !r.1).map(|r| r.0).collect();
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Installs the rustup components and the wasm target when they are missing, and says clearly
/// what it cannot install.
fn ensure_toolchain() -> Result<()> {
    let have_rustup = Command::new("rustup").arg("--version").output().is_ok_and(|o| o.status.success());
    let installed_targets =
        if have_rustup { capture("rustup", &["target", "list", "--installed"])? } else { String::new() };
    let missing_components: Vec<&str> = [("rustfmt", ["fmt", "--version"]), ("clippy", ["clippy", "--version"])]
        .into_iter()
        .filter(|(_, probe)| !Command::new("cargo").args(probe).output().is_ok_and(|o| o.status.success()))
        .map(|(name, _)| name)
        .collect();
    let wasm_missing = !installed_targets.lines().any(|l| l.trim() == WASM_TARGET);
    if !have_rustup && (wasm_missing || !missing_components.is_empty()) {
        bail!(
            "rustup is not installed, so xtask cannot add what is missing: {}{}. Install them with your toolchain manager.",
            missing_components.join(", "),
            if wasm_missing { format!(" the {WASM_TARGET} target") } else { String::new() }
        );
    }
    for component in missing_components {
        println!("==> installing the rustup component {component}");
        if !run("rustup", &["component", "add", component])? {
            bail!("`rustup component add {component}` failed");
        }
    }
    if wasm_missing {
        println!("==> installing the {WASM_TARGET} target");
        if !run("rustup", &["target", "add", WASM_TARGET])? {
            bail!("`rustup target add {WASM_TARGET}` failed");
        }
    }
    Ok(())
}

/// The tests start their own `redis-server`s (and a cluster with `redis-cli`). Installs them with
/// apt when they are missing and xtask runs as root; otherwise stops with the exact command.
fn ensure_redis() -> Result<()> {
    let missing: Vec<&str> = ["redis-server", "redis-cli"].into_iter().filter(|p| !on_path(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = "apt-get install -y redis-server redis-tools";
    let is_root = capture("id", &["-u"]).is_ok_and(|uid| uid.trim() == "0");
    if !is_root || !on_path("apt-get") {
        bail!("the tests need {} (not found on PATH); install them with: sudo {install}", missing.join(" and "));
    }
    println!("==> installing redis-server and redis-tools with apt ({} missing)", missing.join(", "));
    if !run("apt-get", &["update", "-q"])? {
        bail!("`apt-get update` failed; install Redis yourself with: {install}");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "redis-server", "redis-tools"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("cannot start apt-get")?;
    if !status.success() {
        bail!("`{install}` failed");
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Runs a command with inherited output; `Ok(false)` when it ran and failed.
fn run(program: &str, args: &[&str]) -> Result<bool> {
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("cannot start `{program}`: is it installed and on PATH?"))?;
    Ok(status.success())
}

fn capture(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot start `{program}`: is it installed and on PATH?"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
