//! The page's module for 46.3, caching: `cache`. It adds the cache policies' comparison and the
//! Bloom filter's view.

use distlab_engine::cache::bloom::BloomView;
use distlab_engine::cache::compare::{CompareConfig, Comparison};
use distlab_wasm::{from_js, to_js, whole};
use wasm_bindgen::prelude::*;

distlab_wasm::part!(CACHING);

/// The cache view's policy comparison: several policies on one trace, advanced in steps.
#[wasm_bindgen]
#[derive(Debug)]
pub struct CacheLab {
    comparison: Comparison,
}

#[wasm_bindgen]
impl CacheLab {
    /// `config` is a `CompareConfig`: `{ workload, length, capacity, seed, policies }`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<CacheLab, JsError> {
        let config: CompareConfig = from_js(config, "comparison")?;
        Ok(CacheLab { comparison: Comparison::new(&config).map_err(|e| JsError::new(&e.to_string()))? })
    }

    /// Feeds the next `n` accesses; true once the trace is done.
    pub fn advance(&mut self, n: usize) -> bool {
        self.comparison.advance(n)
    }

    pub fn view(&self) -> Result<JsValue, JsError> {
        to_js(&self.comparison.view())
    }
}

/// A Bloom filter for `expected` keys at `fp_rate` after `inserted` keys: its bits by block and
/// its false-positive rate measured on `probes` absent keys.
#[wasm_bindgen]
pub fn bloom_view(expected: f64, fp_rate: f64, inserted: f64, probes: f64, blocks: usize) -> Result<JsValue, JsError> {
    let view = BloomView::measure(
        whole(expected, "expected")?,
        fp_rate,
        whole(inserted, "inserted")?,
        whole(probes, "probes")?,
        blocks,
    )
    .map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&view)
}
