//! The page's module for 46.4, load balancing: `lb`.

distlab_wasm::part!(BALANCING);
