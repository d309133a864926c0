//! Builds the page's WebAssembly: `distlab-wasm` for `wasm32-unknown-unknown` with the
//! `wasm-release` profile (opt-level "s", LTO), then the JS glue with `wasm-bindgen-cli-support`
//! pinned to the same version as the `wasm-bindgen` crate in the lock file (a mismatch is refused
//! at run time by the glue itself), into `web/src/pkg/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::{WASM_TARGET, run};

/// Where the glue goes; Vite bundles it from there.
pub const PKG_DIR: &str = "web/src/pkg";

pub fn build(root: &Path) -> Result<()> {
    let ok = run(
        "cargo",
        &["build", "--locked", "-p", "distlab-wasm", "--target", WASM_TARGET, "--profile", "wasm-release"],
    )?;
    if !ok {
        bail!("building distlab-wasm for {WASM_TARGET} failed");
    }
    let input: PathBuf = root.join("target").join(WASM_TARGET).join("wasm-release").join("distlab_wasm.wasm");
    let out = root.join(PKG_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .web(true)?
        .typescript(true)
        .omit_default_module_path(false)
        .generate(&out)
        .context("generating the JS glue with wasm-bindgen")?;
    Ok(())
}

pub fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}
