//! Replicated data (46.1): data types that replicas can update independently and merge.

pub mod cap;
pub mod counter;
pub mod crdt;
