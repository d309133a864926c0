//! The page: `npm ci` from the committed lock file, then the TypeScript check and the Vite build
//! into `web/dist/`.

use std::path::Path;

use anyhow::{Result, bail};

use crate::{compress, run_in};

pub fn install(root: &Path) -> Result<()> {
    let web = root.join("web");
    if web.join("node_modules").join(".package-lock.json").is_file() && !lock_changed(&web) {
        return Ok(());
    }
    if !run_in(&web, "npm", &["ci", "--no-audit", "--no-fund"])? {
        bail!("`npm ci` failed in web/");
    }
    Ok(())
}

/// True when package-lock.json is newer than what `npm ci` installed.
fn lock_changed(web: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(&web.join("package-lock.json")), modified(&web.join("node_modules").join(".package-lock.json"))) {
        (Some(lock), Some(installed)) => lock > installed,
        _ => true,
    }
}

pub fn build(root: &Path) -> Result<()> {
    let web = root.join("web");
    if !run_in(&web, "npx", &["--no-install", "tsc", "--noEmit"])? {
        bail!("the TypeScript check failed");
    }
    if !run_in(&web, "npx", &["--no-install", "vite", "build", "--logLevel", "warn"])? {
        bail!("the Vite build failed");
    }
    for c in compress::precompress(&web.join("dist"))? {
        if c.file.extension().is_some_and(|e| e == "wasm") {
            println!(
                "    {}: {} raw, {} gzip, {} brotli (precompressed beside it)",
                c.file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
                crate::wasm::kib(c.raw),
                crate::wasm::kib(c.gzip),
                crate::wasm::kib(c.brotli)
            );
        }
    }
    Ok(())
}
