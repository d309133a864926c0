//! Distributed IDs (46.7.2, exercise 5: "a distributed ID generator with high concurrency and
//! guaranteed uniqueness"). [`layout`] is a Snowflake-family ID's bits and their parsing,
//! [`snowflake`] the generator with its clock-rollback policies and durable high-water mark,
//! [`uuids`] UUIDv4 and UUIDv7 through the `uuid` crate (and the chapter's v7 that is not one),
//! [`segment`] Leaf's segment allocation with its double buffer, and [`worker`] worker ids leased
//! from the store; [`race`] races them for throughput.
//!
//! Each is a state machine fed the time and the store's replies, so the simulator, the native
//! `distlab id` commands and the benchmarks run the same code.

pub mod decode;
pub mod layout;
pub mod node;
pub mod race;
pub mod segment;
pub mod snowflake;
pub mod uuids;
pub mod worker;

/// Why an ID generator, layout or ID is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A field, a bit count or an id outside what the layout allows.
    #[error("{field} = {value} is out of range: allowed {allowed}")]
    Layout { field: &'static str, value: String, allowed: String },
    /// The store answered a segment claim with something other than a number.
    #[error("the store answered a segment claim with {0}")]
    Store(String),
    /// The clock stepped back further than a generator waits for.
    #[error("the generator refused to mint: {0}")]
    Refused(String),
}

impl IdError {
    pub(crate) fn layout(field: &'static str, value: impl ToString, allowed: impl ToString) -> IdError {
        IdError::Layout { field, value: value.to_string(), allowed: allowed.to_string() }
    }
}
