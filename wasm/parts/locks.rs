//! The page's module for 46.7.1, distributed locks: `lock`, `lock-kleppmann`, `redlock`, `zk-lock`,
//! `rw-lock` and `exercise-1`.

distlab_wasm::part!(LOCKS);
