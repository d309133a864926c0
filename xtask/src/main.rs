//! Developer tasks, in Rust so that nothing depends on shell scripts (design.md).
//!
//! `cargo xtask test` runs everything the project checks, in the order CI does, and installs
//! what it can install on a fresh machine first. `cargo xtask lab` builds the WebAssembly and the
//! page and serves the lab on 127.0.0.1. `cargo xtask speed` times the simulator natively and in
//! WebAssembly.

mod compress;
mod serve;
mod speed;
mod wasm;
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  test               fmt check, clippy -D warnings, every test, the page built, browser tests
  lab [--port N]     build the WebAssembly and the page, then serve the lab on 127.0.0.1
                     (default port 8080, or a free one when 8080 is taken)
  speed              the simulator's events/s natively and in WebAssembly (Node), back to back";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("lab") => lab(&args[1..]),
        Some("speed") => ensure_toolchain().and_then(|()| ensure_node()).and_then(|()| speed::speed(&root())),
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

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn lab(args: &[String]) -> Result<()> {
    let port = match args {
        [] => None,
        [flag, value] if flag == "--port" => {
            Some(value.parse::<u16>().with_context(|| format!("--port {value:?}: expected a port number 0..=65535"))?)
        }
        _ => bail!("unexpected arguments {args:?}\n\n{USAGE}"),
    };
    let root = root();
    ensure_toolchain()?;
    ensure_node()?;
    println!("==> [1/4] WebAssembly: a module per chapter part for {WASM_TARGET} (wasm-release) and their JS glue");
    wasm::build(&root)?;
    println!("==> [2/4] npm ci (web/package-lock.json)");
    web::install(&root)?;
    println!("==> [3/4] the page: tsc and vite build into web/dist, then precompression (brotli, gzip)");
    web::build(&root)?;
    let (listener, port) = match port {
        Some(p) => serve::bind(p)?,
        None => serve::bind(8080).or_else(|_| serve::bind(0))?,
    };
    println!("==> [4/4] serving web/dist");
    println!("\n    distlab lab: http://127.0.0.1:{port}/\n    (Ctrl-C to stop)");
    serve::serve(listener, &root.join("web").join("dist"))
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
    Step {
        name: "clippy (wasm32)",
        program: "cargo",
        args: &[
            "clippy",
            "--locked",
            "-p",
            "distlab-engine",
            "-p",
            "distlab-wasm",
            "--lib",
            "--examples",
            "--target",
            WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ],
    },
    Step { name: "tests", program: "cargo", args: &["test", "--workspace", "--locked"] },
];

fn test() -> Result<()> {
    let started = Instant::now();
    let root = root();
    ensure_toolchain()?;
    ensure_redis()?;
    ensure_node()?;
    ensure_chromium()?;
    let mut results = Vec::new();
    let total = TEST_STEPS.len() + 2;
    for (i, step) in TEST_STEPS.iter().enumerate() {
        let label = format!("{} {}", step.program, step.args.join(" "));
        results.push(timed(i + 1, total, step.name, &label, || run(step.program, step.args)));
    }
    let page =
        timed(total - 1, total, "wasm and page", "wasm-release build, wasm-bindgen, npm ci, tsc, vite build", || {
            wasm::build(&root)?;
            web::install(&root)?;
            web::build(&root)?;
            Ok(true)
        });
    let page_ok = page.1;
    results.push(page);
    if page_ok {
        let distlab = root.join("target").join("debug").join("distlab");
        results.push(timed(
            total,
            total,
            "browser tests",
            "node web/tests/browser.mjs (Playwright, /usr/bin/chromium)",
            || {
                let status = Command::new("node")
                    .arg("tests/browser.mjs")
                    .current_dir(root.join("web"))
                    .env("DISTLAB_BIN", &distlab)
                    .status()
                    .context("cannot start node")?;
                Ok(status.success())
            },
        ));
    } else {
        results.push(("browser tests", false, 0.0));
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

/// Runs one numbered step, printing its start, its end and how long it took. An error counts as
/// a failure of the step (reported), not of the whole run.
fn timed(
    i: usize,
    total: usize,
    name: &'static str,
    what: &str,
    f: impl FnOnce() -> Result<bool>,
) -> (&'static str, bool, f64) {
    println!("==> [{i}/{total}] {name}: {what}");
    let t = Instant::now();
    let ok = match f() {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            false
        }
    };
    let secs = t.elapsed().as_secs_f64();
    println!("==> {name} {} in {secs:.1} s", if ok { "passed" } else { "FAILED" });
    (name, ok, secs)
}

/// Node.js and npm build the page and run the browser tests; they cannot be installed from here.
fn ensure_node() -> Result<()> {
    for tool in ["node", "npm", "npx"] {
        if !on_path(tool) {
            bail!("`{tool}` is not installed: install Node.js 20 or newer (with npm), then run this again");
        }
    }
    Ok(())
}

/// The browser tests drive Debian's Chromium, and their screenshots show Chinese only with a CJK
/// font (without one, every Chinese character is a box); apt installs both when xtask runs as root.
fn ensure_chromium() -> Result<()> {
    if !Path::new("/usr/bin/chromium").is_file() {
        apt_install(&["chromium", "chromium-driver"], "/usr/bin/chromium")?;
    }
    if !Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").is_file() {
        apt_install(&["fonts-noto-cjk"], "a CJK font for the Chinese screenshots (fonts-noto-cjk)")?;
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
    if on_path("redis-server") && on_path("redis-cli") {
        return Ok(());
    }
    apt_install(&["redis-server", "redis-tools"], "redis-server and redis-cli")
}

/// `apt-get install -y <packages>` as root (after `apt-get update`), or a clear message with the
/// command to run.
fn apt_install(packages: &[&str], needed: &str) -> Result<()> {
    let install = format!("apt-get install -y {}", packages.join(" "));
    let is_root = capture("id", &["-u"]).is_ok_and(|uid| uid.trim() == "0");
    if !is_root || !on_path("apt-get") {
        bail!("the tests need {needed} (not found); install them with: sudo {install}");
    }
    println!("==> installing {} with apt", packages.join(" "));
    if !run("apt-get", &["update", "-q"])? {
        bail!("`apt-get update` failed; install them yourself with: {install}");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q"])
        .args(packages)
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
    run_in(&root(), program, args)
}

/// [`run`] in another directory.
fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<bool> {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
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
