//! `cargo xtask speed`: the simulator's throughput natively and in WebAssembly, back to back on
//! this machine. The native side is the throughput benchmark's simulator rows (`cargo bench -p
//! distlab-tests --bench engine_throughput -- simulator --raw`); the WebAssembly side is the same
//! workloads (`distlab_engine::scenario::speed`) in `distlab-wasm`'s `speed` module, timed in Node
//! by `web/tests/speed.mjs` the way the benchmark times them. Each side is also divided by its own
//! bare event queue, which tells the engine's cost apart from the machine's mood.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::wasm;

/// The rows both sides print, as `name events/s` lines.
const ROWS: [(&str, &str); 3] = [
    ("queue", "baseline: bare BTreeMap event queue"),
    ("held", "pn-counter (20 s simulated), trace held"),
    ("hash_only", "the same, trace hashed only"),
];

pub fn speed(root: &Path) -> Result<()> {
    println!("==> [1/3] native: cargo bench -p distlab-tests --bench engine_throughput -- simulator --raw");
    let native = rates(
        "the native benchmark",
        &stdout(
            Command::new("cargo")
                .args(["bench", "--locked", "-p", "distlab-tests", "--bench", "engine_throughput"])
                .args(["--", "simulator", "--raw"])
                .current_dir(root),
        )?,
    )?;
    println!("==> [2/3] WebAssembly: distlab-wasm's speed module (wasm-release) and its glue");
    let out = root.join("target").join("wasm-speed");
    wasm::build_modules(root, &["speed"], &out)?;
    println!("==> [3/3] WebAssembly timed in Node: node web/tests/speed.mjs");
    let glue = out.join("speed.js");
    let wasm = rates(
        "the WebAssembly run",
        &stdout(Command::new("node").arg(root.join("web").join("tests").join("speed.mjs")).arg(&glue))?,
    )?;
    println!("\n{:<42} {:>14} {:>14} {:>12}", "events/s", "native", "WebAssembly", "wasm/native");
    for (key, label) in ROWS {
        println!("{label:<42} {:>14.0} {:>14.0} {:>12.3}", native[key], wasm[key], wasm[key] / native[key]);
    }
    println!("\neach divided by its own bare queue:");
    for (key, label) in &ROWS[1..] {
        let (n, w) = (native[key] / native["queue"], wasm[key] / wasm["queue"]);
        println!("{label:<42} {n:>14.4} {w:>14.4} {:>12.3}", w / n);
    }
    Ok(())
}

fn stdout(command: &mut Command) -> Result<String> {
    let out = command.output().with_context(|| format!("cannot start {command:?}"))?;
    if !out.status.success() {
        bail!("{command:?} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `name rate` lines: every row of [`ROWS`], each a positive number.
fn rates(from: &str, text: &str) -> Result<BTreeMap<&'static str, f64>> {
    let mut rates = BTreeMap::new();
    for (key, _) in ROWS {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix(' ')))
            .with_context(|| format!("{from} printed no {key:?} line:\n{text}"))?;
        let rate: f64 = value.trim().parse().with_context(|| format!("{from}: {key} = {value:?} is not a number"))?;
        if !(rate > 0.0 && rate.is_finite()) {
            bail!("{from}: {key} = {rate} events/s");
        }
        rates.insert(key, rate);
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_by_name_and_refused_when_missing_or_not_positive() {
        let r = rates("x", "queue 20000000\nheld 900000\nhash_only 1400000\n").unwrap();
        assert_eq!((r["queue"], r["held"], r["hash_only"]), (2e7, 9e5, 1.4e6));
        assert!(rates("x", "queue 1\nheld 2\n").unwrap_err().to_string().contains("no \"hash_only\" line"));
        assert!(rates("x", "queue 1\nheld 0\nhash_only 3").unwrap_err().to_string().contains("held = 0"));
        assert!(rates("x", "queue one\nheld 2\nhash_only 3").unwrap_err().to_string().contains("not a number"));
    }
}
