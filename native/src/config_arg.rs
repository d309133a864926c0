//! Reading a `--config` argument: a JSON object, refused with one short line when it is not JSON,
//! not an object, or names a field twice (serde_json keeps the last silently, so
//! `{"clients":3,"clients":5}` would run with 5 without a word).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::Failure;

/// The longest piece of the user's input an error repeats.
const ECHO_MAX: usize = 80;

/// `text`, cut at [`ECHO_MAX`] characters (a 30 KB `--config` is not worth repeating).
pub fn echo(text: &str) -> String {
    match text.char_indices().nth(ECHO_MAX) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

/// `text` as a JSON object, every field named once at every depth.
pub fn parse_object(flag: &str, text: &str) -> Result<Value, Failure> {
    let Strict(value) = serde_json::from_str(text).map_err(|e| {
        Failure::bad_input(anyhow::anyhow!("{flag} is not valid JSON: {} ({})", echo(text), first_line(&e.to_string())))
    })?;
    if !value.is_object() {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "{flag} must be a JSON object, got {}",
            echo(&value.to_string())
        )));
    }
    Ok(value)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
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
    use super::*;

    #[test]
    fn a_field_given_twice_is_refused_at_any_depth_and_everything_else_reads_as_json() {
        let err = |t: &str| parse_object("--config", t).unwrap_err().error.to_string();
        assert!(err(r#"{"clients":3,"clients":5}"#).contains("the field \"clients\" is given twice"));
        assert!(err(r#"{"a":{"b":1,"b":2}}"#).contains("the field \"b\" is given twice"));
        assert!(err("[1]").contains("must be a JSON object, got [1]"));
        assert!(err("{oops").starts_with("--config is not valid JSON: {oops ("));
        let v = parse_object("--config", r#"{"a":[1,2.5,-3,true,null,"x"],"b":{"c":{}}}"#).unwrap();
        assert_eq!(v, serde_json::json!({"a":[1,2.5,-3,true,null,"x"],"b":{"c":{}}}));
    }
}
