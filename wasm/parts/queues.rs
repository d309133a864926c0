//! The page's module for 46.2, message queues: `mq` and `mq-streams`.

distlab_wasm::part!(QUEUES);
