//! Not a page module: the simulator's throughput workloads (`scenario::speed`) for `cargo xtask
//! speed`, which times them in Node beside the native benchmark's same workloads.

use distlab_wasm::whole;
use wasm_bindgen::prelude::*;

distlab_wasm::part!(FOUNDATIONS);

/// `pn-counter` through `seconds` of simulated time, its trace `held` or only hashed; returns
/// the events it processed.
#[wasm_bindgen]
pub fn pn_counter_events(seconds: f64, held: bool) -> Result<f64, JsError> {
    let events = distlab_engine::scenario::speed::pn_counter(whole(seconds, "seconds")?, held)
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(events as f64)
}

/// The baseline: `events` inserts and pops on a bare event queue.
#[wasm_bindgen]
pub fn bare_queue_events(events: f64) -> Result<f64, JsError> {
    Ok(distlab_engine::scenario::speed::bare_queue(whole(events, "events")?) as f64)
}
