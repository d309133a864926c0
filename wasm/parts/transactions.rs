//! The page's module for 46.7.3, distributed transactions: `2pc`, `tcc`, `saga`, `saga-choreo`,
//! `saga-store` and `outbox`.

distlab_wasm::part!(TRANSACTIONS);
