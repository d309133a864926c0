//! Any ID read back (46.7.2): a decimal Snowflake-family ID with a given layout, field by field
//! with each field's bits (what the page's decoder draws), and what the chapter's `parse_id`
//! would read from it; or a UUID with its version, variant and, for v7, its time.

use serde::Serialize;
use uuid::Uuid;

use super::IdError;
use super::layout::{Layout, Order, Parsed, chapter_parse_id};
use super::uuids::unix_ms_of;

/// One field of an ID: its name, its width and lowest bit, and its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub bits: u32,
    pub shift: u32,
    pub value: u64,
}

/// What an ID says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decoded {
    Snowflake {
        /// Decimal: beyond 2^53 a JavaScript number would round it.
        id: String,
        /// The ID's 64 bits, most significant first.
        binary: String,
        layout: Layout,
        parsed: Parsed,
        /// Most significant first (the sign bit is not a field).
        fields: Vec<Field>,
        /// What the chapter's `parse_id` reads (41/5/5/12, the 2024 epoch, always).
        chapter: Parsed,
    },
    Uuid {
        uuid: String,
        version: usize,
        variant: String,
        unix_ms: Option<u64>,
    },
}

/// Whether `text` has a UUID's form (hyphens, or 32 hex digits) rather than a decimal ID's.
pub fn looks_like_uuid(text: &str) -> bool {
    let text = text.trim();
    text.contains('-') || (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Reads `text` as a UUID (by its form) or as a decimal ID of `layout`.
pub fn decode(text: &str, layout: &Layout) -> Result<Decoded, IdError> {
    let text = text.trim();
    if looks_like_uuid(text) {
        let uuid = Uuid::parse_str(text).map_err(|e| IdError::layout("uuid", text, format!("a UUID ({e})")))?;
        return Ok(Decoded::Uuid {
            uuid: uuid.to_string(),
            version: uuid.get_version_num(),
            variant: format!("{:?}", uuid.get_variant()),
            unix_ms: unix_ms_of(&uuid),
        });
    }
    let id: u64 =
        text.parse().map_err(|_| IdError::layout("id", text, format!("a decimal ID (0 to {}) or a UUID", i64::MAX)))?;
    layout.check()?;
    let parsed = layout.parse(id)?;
    let p = parsed.parts;
    let (time, datacenter, worker, sequence) = (
        ("time", layout.time_bits, p.tick),
        ("datacenter", layout.datacenter_bits, p.datacenter),
        ("worker", layout.worker_bits, p.worker),
        ("sequence", layout.sequence_bits, p.sequence),
    );
    let order = match layout.order {
        Order::Snowflake => [time, datacenter, worker, sequence],
        Order::Sonyflake => [time, sequence, worker, datacenter],
    };
    let mut shift = 63;
    let fields = order
        .into_iter()
        .filter(|(_, bits, _)| *bits > 0)
        .map(|(name, bits, value)| {
            shift -= bits;
            Field { name, bits, shift, value }
        })
        .collect();
    Ok(Decoded::Snowflake {
        id: id.to_string(),
        binary: format!("{id:064b}"),
        layout: *layout,
        parsed,
        fields,
        chapter: chapter_parse_id(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::layout::Parts;

    #[test]
    fn a_snowflake_decodes_field_by_field_with_its_bits() {
        let id = Layout::CHAPTER.compose(Parts { tick: 5, datacenter: 3, worker: 7, sequence: 9 }).unwrap();
        let Decoded::Snowflake { fields, parsed, chapter, binary, .. } =
            decode(&id.to_string(), &Layout::CHAPTER).unwrap()
        else {
            panic!("a Snowflake")
        };
        let shown: Vec<(&str, u32, u32, u64)> = fields.iter().map(|f| (f.name, f.bits, f.shift, f.value)).collect();
        assert_eq!(
            shown,
            [("time", 41, 22, 5), ("datacenter", 5, 17, 3), ("worker", 5, 12, 7), ("sequence", 12, 0, 9)]
        );
        assert_eq!(parsed, chapter);
        assert_eq!(binary.len(), 64);
        let Decoded::Snowflake { fields, .. } = decode("33554432", &Layout::SONYFLAKE).unwrap() else { panic!() };
        assert_eq!(fields.iter().map(|f| f.name).collect::<Vec<_>>(), ["time", "sequence", "worker"]);
    }

    #[test]
    fn uuids_and_bad_input() {
        let Decoded::Uuid { version, unix_ms, .. } =
            decode("01a25048-61c9-730d-bb05-26eb11003698", &Layout::CHAPTER).unwrap()
        else {
            panic!("a UUID")
        };
        assert_eq!((version, unix_ms), (7, Some(1_796_643_250_633)));
        assert!(decode("12x", &Layout::CHAPTER).unwrap_err().to_string().starts_with("id = 12x is out of range"));
        assert!(decode("0190-zz", &Layout::CHAPTER).is_err());
    }
}
