//! The WebAssembly face of distlab: a thin handle over the engine, with no logic of its own.
//!
//! Until the browser lab lands this crate only proves that the engine links into a `cdylib` for
//! `wasm32-unknown-unknown`; the wasm-bindgen layer replaces it.

/// The names of the runnable scenarios, as the page will list them.
pub fn scenario_names() -> Vec<&'static str> {
    distlab_engine::scenario::catalog().iter().map(|s| s.name).collect()
}
