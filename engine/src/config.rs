//! Rejection of bad configuration, shared by every scenario. A message always names the field,
//! the value given and the range allowed, so the CLI and the page can show it as it is.
//!
//! A scenario's configuration is a [`Knobs`] type: every field has a default, unknown fields are
//! refused and [`Knobs::validate`] checks the ranges. [`parse`] does all three, once, for every
//! scenario.

use std::fmt::{self, Display};

use serde::Serialize;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A configuration value outside what the engine accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{field} = {value} is out of range: allowed {allowed}")]
    OutOfRange { field: String, value: String, allowed: String },
    /// A value of the wrong kind (text for a number, a fraction for a count, a name not among
    /// the choices).
    #[error("{field} = {value} is not allowed: expected {expected}")]
    Invalid { field: String, value: String, expected: String },
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

/// A scenario's knobs: a struct whose every field has a default (`#[serde(default)]`), that can
/// be read from and written back to JSON, and that knows its own allowed ranges.
pub trait Knobs: Serialize + DeserializeOwned + Default {
    /// Checks every field (and every relation between fields) against what the engine accepts.
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Reads a scenario's configuration from a JSON object of overrides: defaults filled, unknown
/// fields refused by name, ranges checked.
pub fn parse<C: Knobs>(raw: &Value) -> Result<C, ConfigError> {
    parse_written_back(raw).map(|(cfg, _)| cfg)
}

/// [`parse`], and the configuration written back as JSON, every default filled in (what unknown
/// fields are checked against: written once, for both).
pub fn parse_written_back<C: Knobs>(raw: &Value) -> Result<(C, Value), ConfigError> {
    let cfg: C = serde_json::from_value(raw.clone()).map_err(|e| name_the_field::<C>(raw, &e))?;
    let written = serde_json::to_value(&cfg).unwrap_or_default();
    refuse_unknown_fields(raw, &written)?;
    cfg.validate()?;
    Ok((cfg, written))
}

/// Reads a value from JSON, filling defaults (no range checks: for values that are not a whole
/// scenario's configuration).
pub fn from_json<T: DeserializeOwned>(value: &Value) -> Result<T, ConfigError> {
    serde_json::from_value(value.clone()).map_err(|e| ConfigError::Parse(e.to_string()))
}

/// The longest value echoed back in an error.
const ECHO_MAX: usize = 60;

/// Turns serde's "invalid type: string \"3\", expected u32" into an error that names the field:
/// each given field is tried alone over the defaults, and the first that fails is the culprit.
fn name_the_field<C: Knobs>(raw: &Value, error: &serde_json::Error) -> ConfigError {
    let (Some(given), Ok(Value::Object(defaults))) = (raw.as_object(), serde_json::to_value(C::default())) else {
        return ConfigError::Parse(error.to_string());
    };
    for (field, value) in given {
        let mut one = defaults.clone();
        one.insert(field.clone(), value.clone());
        if let Err(e) = serde_json::from_value::<C>(Value::Object(one)) {
            let mut echo = value.to_string();
            if echo.len() > ECHO_MAX {
                let cut = (0..=ECHO_MAX).rev().find(|i| echo.is_char_boundary(*i)).unwrap_or(0);
                echo.truncate(cut);
                echo.push('…');
            }
            let said = serde_said(&e.to_string()).to_owned();
            let expected = match knob_range::<C>(&defaults, field, &said) {
                Some(allowed) => {
                    format!("{} {allowed}", if said.starts_with('f') { "a number" } else { "a whole number" })
                }
                None => expected(&said),
            };
            return ConfigError::Invalid { field: field.clone(), value: echo, expected };
        }
    }
    ConfigError::Parse(error.to_string())
}

/// What serde's message says was expected: `u32` in "invalid type: string \"3\", expected u32".
fn serde_said(serde_message: &str) -> &str {
    serde_message.rsplit_once("expected ").map_or(serde_message, |(_, e)| e)
}

/// The range the knob `field` itself allows (`1..=10` for a client count, not the `u32`'s
/// `0..=4294967295`), found by asking [`Knobs::validate`] about the type's extremes over the
/// defaults; `None` when the type is not a number or the knob takes all of it.
fn knob_range<C: Knobs>(defaults: &Map<String, Value>, field: &str, said: &str) -> Option<String> {
    let extremes: [Value; 2] = match said {
        "u8" => [u8::MAX.into(), 0.into()],
        "u16" => [u16::MAX.into(), 0.into()],
        "u32" => [u32::MAX.into(), 0.into()],
        "u64" | "usize" => [u64::MAX.into(), 0.into()],
        "i32" => [i32::MAX.into(), i32::MIN.into()],
        "i64" => [i64::MAX.into(), i64::MIN.into()],
        "f64" | "f32" => [1e300.into(), (-1e300).into()],
        _ => return None,
    };
    extremes.into_iter().find_map(|v| {
        let mut one = defaults.clone();
        one.insert(field.to_owned(), v);
        let knobs: C = serde_json::from_value(Value::Object(one)).ok()?;
        match knobs.validate() {
            Err(ConfigError::OutOfRange { field: f, allowed, .. }) if f == field => Some(allowed),
            _ => None,
        }
    })
}

/// What serde said was expected, in words: `u32` becomes its range, a list of enum variants
/// loses its backquotes.
fn expected(said: &str) -> String {
    match said {
        "u8" => "a whole number 0..=255".to_owned(),
        "u16" => "a whole number 0..=65535".to_owned(),
        "u32" => "a whole number 0..=4294967295".to_owned(),
        "u64" | "usize" => "a whole number 0..=18446744073709551615".to_owned(),
        "i32" => "a whole number -2147483648..=2147483647".to_owned(),
        "i64" => "a whole number -9223372036854775808..=9223372036854775807".to_owned(),
        "f64" | "f32" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        other => other.replace('`', ""),
    }
}

/// Refuses any field of `raw` that the parsed configuration does not write back. Done here, not
/// by serde's `deny_unknown_fields`, because that attribute cannot be combined with
/// `#[serde(flatten)]`, which lets scenarios share groups of knobs (the orders of the
/// transaction scenarios, for one).
fn refuse_unknown_fields(raw: &Value, written: &Value) -> Result<(), ConfigError> {
    let (Some(given), Some(known)) = (raw.as_object(), written.as_object()) else {
        return Ok(());
    };
    match given.keys().find(|k| !known.contains_key(*k)) {
        None => Ok(()),
        Some(unknown) => {
            let expected: Vec<String> = known.keys().map(|k| format!("`{k}`")).collect();
            Err(ConfigError::Parse(format!("unknown field `{unknown}`, expected one of {}", expected.join(", "))))
        }
    }
}

/// `text` read as JSON, refusing an object that names a field twice at any depth ("the field
/// \"clients\" is given twice"): serde_json keeps the last silently, so `{"clients":3,
/// "clients":5}` would run with 5, and a history operation with two `"value"`s would be checked
/// against one of them, without a word.
pub fn strict_json(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Strict>(text).map(|Strict(v)| v)
}

/// A JSON value whose objects never repeat a key.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format!("the field {key:?} is given twice")));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Shared {
        orders: u64,
    }

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Knobbed {
        #[serde(flatten)]
        shared: Shared,
        rate: u32,
    }

    impl Knobs for Knobbed {
        fn validate(&self) -> Result<(), ConfigError> {
            ConfigError::check_range("rate", self.rate, 0, 10)
        }
    }

    #[test]
    fn parse_fills_defaults_reads_flattened_fields_and_checks_ranges() {
        assert_eq!(parse::<Knobbed>(&json!({})).unwrap(), Knobbed::default());
        let k: Knobbed = parse(&json!({ "orders": 7, "rate": 3 })).unwrap();
        assert_eq!((k.shared.orders, k.rate), (7, 3));
        assert_eq!(
            parse::<Knobbed>(&json!({ "rate": 11 })).unwrap_err().to_string(),
            "rate = 11 is out of range: allowed 0..=10"
        );
    }

    #[test]
    fn parse_names_an_unknown_field_even_beside_flattened_ones() {
        assert_eq!(
            parse::<Knobbed>(&json!({ "orders": 1, "ordres": 2 })).unwrap_err().to_string(),
            "invalid configuration: unknown field `ordres`, expected one of `orders`, `rate`"
        );
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_named_with_its_field_value_and_what_is_allowed() {
        let err = |raw: Value| parse::<Knobbed>(&raw).unwrap_err().to_string();
        // The knob's own range, not its type's.
        assert_eq!(err(json!({ "rate": "3" })), r#"rate = "3" is not allowed: expected a whole number 0..=10"#);
        assert_eq!(
            err(json!({ "orders": 1, "rate": 2.5 })),
            "rate = 2.5 is not allowed: expected a whole number 0..=10"
        );
        assert_eq!(
            err(json!({ "orders": -1 })),
            "orders = -1 is not allowed: expected a whole number 0..=18446744073709551615"
        );
        for bad in [json!(null), json!(true), json!({ "a": 1 }), json!([1])] {
            assert!(
                err(json!({ "rate": bad.clone() })).starts_with(&format!("rate = {bad} is not allowed: expected ")),
                "{bad}"
            );
        }
        let long = "x".repeat(1_000);
        let said = err(json!({ "rate": long }));
        assert!(said.len() < 150 && said.contains("…"), "a long value is cut: {said}");
    }
}
