//! Builds the page's WebAssembly: one module per part of the chapter (`wasm/parts/*.rs`, each a
//! `cdylib` example of `distlab-wasm`), all in one cargo call for `wasm32-unknown-unknown` with the
//! `wasm-release` profile (opt-level "s", LTO), then each module's JS glue with
//! `wasm-bindgen-cli-support` pinned to the same version as the `wasm-bindgen` crate in the lock
//! file (a mismatch is refused at run time by the glue itself) and without the names section, into
//! `web/src/pkg/<part>.js`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::{WASM_TARGET, run};

/// Where the glue goes; Vite bundles it from there.
pub const PKG_DIR: &str = "web/src/pkg";

/// The parts, from the files that define their modules.
pub fn parts(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("wasm").join("parts");
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            parts.push(stem.to_owned());
        }
    }
    parts.sort();
    if parts.is_empty() {
        bail!("no module in {}", dir.display());
    }
    Ok(parts)
}

pub fn build(root: &Path) -> Result<()> {
    let parts = parts(root)?;
    let names: Vec<&str> = parts.iter().map(String::as_str).collect();
    let out = root.join(PKG_DIR);
    // Generated: a part renamed or removed must not leave its old glue behind.
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    build_modules(root, &names, &out)
}

/// Builds the examples `names` of `distlab-wasm` in one cargo call, then their glue into `out`.
pub fn build_modules(root: &Path, names: &[&str], out: &Path) -> Result<()> {
    let mut args =
        vec!["build", "--locked", "-p", "distlab-wasm", "--target", WASM_TARGET, "--profile", "wasm-release"];
    for name in names {
        args.extend(["--example", name]);
    }
    if !run("cargo", &args)? {
        bail!("building {} of distlab-wasm for {WASM_TARGET} failed", names.join(", "));
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let built: PathBuf = root.join("target").join(WASM_TARGET).join("wasm-release").join("examples");
    for name in names {
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(built.join(format!("{name}.wasm")))
            .web(true)?
            .typescript(true)
            .omit_default_module_path(false)
            // Function names are a quarter of a module's bytes; a panic's message survives without them.
            .remove_name_section(true)
            .remove_producers_section(true)
            .generate(out)
            .with_context(|| format!("generating the JS glue of the {name} module with wasm-bindgen"))?;
    }
    Ok(())
}

pub fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}
