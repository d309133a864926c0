//! A run's fault schedule written out as configuration: `"schedule": [{"at_us": 250000,
//! "fault": "crash", "node": "c1"}, …]` in any scenario's configuration replaces the faults its
//! other knobs would schedule (a storm's draws, a story's script). It is what a shrunk
//! counterexample is replayed from ([`super::shrink`]), in the CLI's `--config` and in a share
//! link alike; the rest of the configuration still sets up the world and its workload.

use serde_json::{Map, Value};

use crate::config::ConfigError;
use crate::sim::{Fault, SimTime};

/// The configuration field that holds an explicit schedule.
pub const FIELD: &str = "schedule";

/// Reads an explicit schedule: an array of faults, each with its true time `at_us`. A bad entry
/// is refused naming its place (`schedule[2]`) and what is wrong with it.
pub fn parse(value: &Value) -> Result<Vec<(SimTime, Fault)>, ConfigError> {
    let invalid = |field: String, value: &Value, expected: &str| ConfigError::Invalid {
        field,
        value: cut(&value.to_string()),
        expected: expected.to_owned(),
    };
    let entries = value.as_array().ok_or_else(|| {
        invalid(
            FIELD.to_owned(),
            value,
            "an array of faults, each with its time: [{\"at_us\": 1000, \"fault\": \"crash\", \"node\": \"…\"}]",
        )
    })?;
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let field = format!("{FIELD}[{i}]");
            let mut fields = entry.as_object().cloned().ok_or_else(|| invalid(field.clone(), entry, "an object"))?;
            let at = fields.remove("at_us").ok_or_else(|| invalid(field.clone(), entry, "an \"at_us\" time (µs)"))?;
            let at = at.as_u64().ok_or_else(|| invalid(format!("{field}.at_us"), &at, "a whole number of µs"))?;
            let fault: Fault = serde_json::from_value(Value::Object(fields))
                .map_err(|e| invalid(field.clone(), entry, &format!("a fault ({e})")))?;
            Ok((SimTime::from_micros(at), fault))
        })
        .collect()
}

/// Writes `schedule` the way [`parse`] reads it.
pub fn to_json(schedule: &[(SimTime, Fault)]) -> Value {
    Value::Array(
        schedule
            .iter()
            .map(|(at, fault)| {
                let mut entry = Map::new();
                entry.insert("at_us".into(), at.as_micros().into());
                if let Ok(Value::Object(fields)) = serde_json::to_value(fault) {
                    entry.extend(fields);
                }
                Value::Object(entry)
            })
            .collect(),
    )
}

/// A value quoted in an error, cut to a readable length.
fn cut(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_schedule_round_trips() {
        let schedule = vec![
            (SimTime::from_millis(5), Fault::Crash { node: "c0".into() }),
            (
                SimTime::from_micros(7),
                Fault::Partition { groups: vec![vec!["a".into()], vec!["b".into(), "c".into()]] },
            ),
            (SimTime::from_millis(9), Fault::Heal),
        ];
        let json = to_json(&schedule);
        assert_eq!(json[0], json!({ "at_us": 5000, "fault": "crash", "node": "c0" }));
        assert_eq!(json[2], json!({ "at_us": 9000, "fault": "heal" }));
        assert_eq!(parse(&json).unwrap(), schedule);
    }

    #[test]
    fn bad_entries_are_named() {
        let err = |v: Value| parse(&v).unwrap_err().to_string();
        assert!(err(json!({})).starts_with("schedule = {} is not allowed: expected an array"), "{}", err(json!({})));
        assert!(err(json!([1])).starts_with("schedule[0] = 1 is not allowed: expected an object"));
        assert!(err(json!([{ "fault": "heal" }])).contains("expected an \"at_us\" time"));
        assert!(err(json!([{ "at_us": -1, "fault": "heal" }])).starts_with("schedule[0].at_us = -1"));
        let unknown = err(json!([{ "at_us": 1, "fault": "heal" }, { "at_us": 2, "fault": "melt", "node": "a" }]));
        assert!(unknown.starts_with("schedule[1] = ") && unknown.contains("unknown variant `melt`"), "{unknown}");
        let extra = err(json!([{ "at_us": 1, "fault": "crash", "node": "a", "when": 3 }]));
        assert!(extra.contains("unknown field `when`"), "{extra}");
    }
}
