//! Reading a `--config` argument: a JSON object, refused with one short line when it is not JSON,
//! not an object, or names a field twice (serde_json keeps the last silently, so
//! `{"clients":3,"clients":5}` would run with 5 without a word).

use serde_json::Value;

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
    let value = distlab_engine::config::strict_json(text).map_err(|e| {
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
