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
            let fault = fault(fields).map_err(|why| invalid(field.clone(), entry, &why))?;
            Ok((SimTime::from_micros(at), fault))
        })
        .collect()
}

/// Reads one fault as serde writes a [`Fault`], e.g. `{"fault": "crash", "node": "c1"}`: what
/// `distlab sim branch --add` takes. The error says what is wrong with it.
pub fn read_fault(value: &Value) -> Result<Fault, String> {
    let fields = value.as_object().cloned().ok_or("an object, e.g. {\"fault\": \"crash\", \"node\": \"c1\"}")?;
    fault(fields)
}

/// The fault kinds, by the name `"fault"` gives them.
const KINDS: &str = "partition, cut, repair, heal, crash, restart, pause, clock_skew, clock_drift, clock_jump, slow";

/// Reads one fault from its fields, as serde writes a [`Fault`]. By hand rather than through
/// serde: a tagged enum read from a JSON value costs the page some 80 KiB of WebAssembly.
fn fault(mut fields: Map<String, Value>) -> Result<Fault, String> {
    let kind = fields.remove("fault").ok_or_else(|| format!("a \"fault\": one of {KINDS}"))?;
    let mut take = |name: &str| fields.remove(name).ok_or_else(|| format!("a field {name:?} for this fault"));
    let text = |v: Value, name: &str| v.as_str().map(str::to_owned).ok_or_else(|| format!("{name} as a node's name"));
    let whole = |v: Value, name: &str| v.as_u64().ok_or_else(|| format!("{name} as a whole number"));
    let signed = |v: Value, name: &str| v.as_i64().ok_or_else(|| format!("{name} as a whole number, + or -"));
    let fault = match kind.as_str().unwrap_or_default() {
        "partition" => {
            let groups = take("groups")?;
            let groups = groups
                .as_array()
                .and_then(|gs| {
                    gs.iter()
                        .map(|g| {
                            g.as_array()?.iter().map(|n| n.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>()
                        })
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or("groups as lists of node names")?;
            Fault::Partition { groups }
        }
        "cut" => Fault::Cut { from: text(take("from")?, "from")?, to: text(take("to")?, "to")? },
        "repair" => Fault::Repair { from: text(take("from")?, "from")?, to: text(take("to")?, "to")? },
        "heal" => Fault::Heal,
        "crash" => Fault::Crash { node: text(take("node")?, "node")? },
        "restart" => Fault::Restart { node: text(take("node")?, "node")? },
        "pause" => Fault::Pause {
            node: text(take("node")?, "node")?,
            duration_us: whole(take("duration_us")?, "duration_us")?,
        },
        "clock_skew" => {
            Fault::ClockSkew { node: text(take("node")?, "node")?, offset_us: signed(take("offset_us")?, "offset_us")? }
        }
        "clock_drift" => {
            let ppm = signed(take("drift_ppm")?, "drift_ppm")?;
            let drift_ppm = i32::try_from(ppm).map_err(|_| "drift_ppm within ±2147483647".to_owned())?;
            Fault::ClockDrift { node: text(take("node")?, "node")?, drift_ppm }
        }
        "clock_jump" => {
            Fault::ClockJump { node: text(take("node")?, "node")?, delta_us: signed(take("delta_us")?, "delta_us")? }
        }
        "slow" => {
            let factor = u32::try_from(whole(take("factor")?, "factor")?)
                .map_err(|_| "factor within 1..=4294967295".to_owned())?;
            Fault::Slow { node: text(take("node")?, "node")?, factor }
        }
        _ => return Err(format!("\"fault\" as one of {KINDS}")),
    };
    match fields.keys().next() {
        Some(extra) => Err(format!("no field {extra:?} for this fault")),
        None => Ok(fault),
    }
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
        assert!(unknown.starts_with("schedule[1] = ") && unknown.ends_with("expected \"fault\" as one of partition, cut, repair, heal, crash, restart, pause, clock_skew, clock_drift, clock_jump, slow"), "{unknown}");
        let extra = err(json!([{ "at_us": 1, "fault": "crash", "node": "a", "when": 3 }]));
        assert!(extra.ends_with("expected no field \"when\" for this fault"), "{extra}");
        let missing = err(json!([{ "at_us": 1, "fault": "pause", "node": "a" }]));
        assert!(missing.ends_with("expected a field \"duration_us\" for this fault"), "{missing}");
        let kind = err(json!([{ "at_us": 1, "fault": "clock_jump", "node": "a", "delta_us": "1s" }]));
        assert!(kind.ends_with("expected delta_us as a whole number, + or -"), "{kind}");
        let groups = err(json!([{ "at_us": 1, "fault": "partition", "groups": ["a"] }]));
        assert!(groups.ends_with("expected groups as lists of node names"), "{groups}");
    }

    /// Every kind of fault reads back as serde writes it.
    #[test]
    fn every_fault_kind_reads_back() {
        let node = || "n".to_owned();
        let all = [
            Fault::Partition { groups: vec![vec![node()], vec![]] },
            Fault::Cut { from: node(), to: "m".into() },
            Fault::Repair { from: node(), to: "m".into() },
            Fault::Heal,
            Fault::Crash { node: node() },
            Fault::Restart { node: node() },
            Fault::Pause { node: node(), duration_us: 7 },
            Fault::ClockSkew { node: node(), offset_us: -3 },
            Fault::ClockDrift { node: node(), drift_ppm: -200 },
            Fault::ClockJump { node: node(), delta_us: 9 },
            Fault::Slow { node: node(), factor: 4 },
        ];
        let schedule: Vec<(SimTime, Fault)> = all.into_iter().map(|f| (SimTime::from_micros(1), f)).collect();
        assert_eq!(parse(&to_json(&schedule)).unwrap(), schedule);
    }
}
