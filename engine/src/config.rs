//! Rejection of bad configuration, shared by every scenario. A message always names the field,
//! the value given and the range allowed, so the CLI and the page can show it as it is.

use std::fmt::Display;

/// A configuration value outside what the engine accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{field} = {value} is out of range: allowed {allowed}")]
    OutOfRange { field: String, value: String, allowed: String },
    #[error("invalid configuration: {0}")]
    Parse(String),
}

impl ConfigError {
    pub fn out_of_range(field: impl Into<String>, value: impl Display, allowed: impl Into<String>) -> Self {
        ConfigError::OutOfRange { field: field.into(), value: value.to_string(), allowed: allowed.into() }
    }

    /// Checks `lo <= value <= hi`.
    pub fn check_range<T: PartialOrd + Display>(field: &str, value: T, lo: T, hi: T) -> Result<(), ConfigError> {
        if value < lo || value > hi {
            return Err(ConfigError::out_of_range(field, value, format!("{lo}..={hi}")));
        }
        Ok(())
    }
}

/// Reads a scenario's configuration from JSON, filling defaults and naming unknown fields.
pub fn from_json<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, ConfigError> {
    serde_json::from_value(value.clone()).map_err(|e| ConfigError::Parse(e.to_string()))
}
