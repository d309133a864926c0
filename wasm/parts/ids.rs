//! The page's module for 46.7.2, distributed IDs: `ids`. It adds the ID decoder and the throughput
//! race.

use distlab_wasm::{to_js, whole};
use wasm_bindgen::prelude::*;

distlab_wasm::part!(IDS);

/// The ID decoder (46.7.2): `text` (a decimal ID or a UUID) read with the layout `bits`
/// (time/datacenter/worker/sequence), or Sonyflake's when `sonyflake`, and the epoch.
#[wasm_bindgen]
pub fn decode_id(text: &str, bits: &str, sonyflake: bool, epoch_ms: f64) -> Result<JsValue, JsError> {
    use distlab_engine::id::layout::Layout;
    let epoch_ms = whole(epoch_ms, "epoch_ms")?;
    // A UUID needs no layout: one being edited does not stand in its way.
    let layout = if distlab_engine::id::decode::looks_like_uuid(text) {
        Layout::CHAPTER
    } else if sonyflake {
        Layout { epoch_ms, ..Layout::SONYFLAKE }
    } else {
        Layout::from_bits_text(bits, 1, epoch_ms).map_err(|e| JsError::new(&e.to_string()))?
    };
    to_js(&distlab_engine::id::decode::decode(text, &layout).map_err(|e| JsError::new(&e.to_string()))?)
}

/// One lap of the IDs view's throughput race (46.7.2): `mode` (a `RaceMode` name) minting for
/// `budget_ms` of the browser's clock. The page runs it in a worker: a lap holds its thread.
#[wasm_bindgen]
pub fn race_ids(mode: &str, budget_ms: f64, seed: f64) -> Result<JsValue, JsError> {
    use distlab_engine::id::race::{RaceMode, run};
    let mode = RaceMode::parse(mode).map_err(|e| JsError::new(&e.to_string()))?;
    let (budget_ms, seed) = (whole(budget_ms, "budget_ms")?, whole(seed, "seed")?);
    let lap = run(mode, budget_ms, unix_ms, seed).map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&lap)
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// The browser's clock in Unix milliseconds.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "Date.now is a whole, positive number of milliseconds below 2^53"
)]
fn unix_ms() -> u64 {
    date_now() as u64
}
