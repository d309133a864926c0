//! The page's module for 46.5, high availability: `ha` and `failover`.

distlab_wasm::part!(AVAILABILITY);
