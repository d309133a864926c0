//! A payload's canonical JSON straight from its typed value: exactly the bytes
//! `serde_json::to_writer(&serde_json::to_value(value)?)` writes (object keys sorted, as a
//! `serde_json::Value` holds them; a non-finite float `null`, as `to_value` makes it), without
//! building and dropping the `Value`. A run that only hashes its trace (a headless run, a
//! sweep) spent about a quarter of its time on those trees.
//!
//! Anything `to_value` would refuse, or that this writer does not know how to write as it
//! would (a map key that is not a string, a number or a bool), is an `Err`; the caller then
//! takes the `Value` path, so the bytes are the same either way. `tests` hold the two equal.

use std::borrow::Cow;

use serde::ser::{self, Serialize};

/// Why a value was not written here (the caller falls back to `serde_json::to_value`).
#[derive(Debug)]
pub struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not written canonically")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Appends `value`'s canonical JSON to `out`; on `Err`, `out` holds a partial write to discard.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result {
    value.serialize(Writer { out })
}

/// A string, quoted and escaped as `serde_json` does.
fn string(out: &mut Vec<u8>, s: &str) -> Result {
    serde_json::to_writer(out, s).map_err(|_| Unsupported)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result {
        // `to_value` keeps what fits 64 bits and refuses the rest.
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(v), _) => self.serialize_i64(v),
            (_, Ok(v)) => self.serialize_u64(v),
            _ => Err(Unsupported),
        }
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.serialize_u64(u64::try_from(v).map_err(|_| Unsupported)?)
    }
    fn serialize_f32(self, v: f32) -> Result {
        // `to_value` widens an f32 to the f64 it is and writes that.
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result {
        if v.is_finite() { serde_json::to_writer(self.out, &v).map_err(|_| Unsupported) } else { self.serialize_unit() }
    }
    fn serialize_char(self, v: char) -> Result {
        string(self.out, v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result {
        string(self.out, v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        string(self.out, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.out.push(b'{');
        string(self.out, variant)?;
        self.out.push(b':');
        value.serialize(Writer { out: self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>> {
        self.out.push(b'[');
        Ok(Seq { out: self.out, first: true, close: b"]" })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Seq<'a>> {
        self.out.push(b'{');
        string(self.out, variant)?;
        self.out.extend_from_slice(b":[");
        Ok(Seq { out: self.out, first: true, close: b"]}" })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'a>> {
        Ok(Object::new(self.out, None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'a>> {
        Ok(Object::new(self.out, None))
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Object<'a>> {
        Ok(Object::new(self.out, Some(variant)))
    }
}

/// An array being written.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    close: &'static [u8],
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Writer { out: self.out })
    }
    fn close(self) -> Result {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.element(value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.element(value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.element(value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.element(value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

/// An object being written: its entries go to a scratch buffer as they come, then out sorted
/// by key (a `Value`'s `BTreeMap` order; a repeated key keeps its last value, as an insert
/// into it does).
struct Object<'a> {
    out: &'a mut Vec<u8>,
    /// `Some(name)` for a struct variant: `{"name":{…}}`.
    variant: Option<&'static str>,
    /// Each entry's key and its value's bytes in `scratch`.
    entries: Vec<(Cow<'static, str>, std::ops::Range<usize>)>,
    scratch: Vec<u8>,
    /// A map's key, waiting for its value.
    key: Option<String>,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut Vec<u8>, variant: Option<&'static str>) -> Self {
        Object { out, variant, entries: Vec::new(), scratch: Vec::new(), key: None }
    }

    fn entry<T: Serialize + ?Sized>(&mut self, key: Cow<'static, str>, value: &T) -> Result {
        let start = self.scratch.len();
        value.serialize(Writer { out: &mut self.scratch })?;
        self.entries.push((key, start..self.scratch.len()));
        Ok(())
    }

    fn close(mut self) -> Result {
        // Stable, so that of a repeated key the last comes last and is the one kept.
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(variant) = self.variant {
            self.out.push(b'{');
            string(self.out, variant)?;
            self.out.push(b':');
        }
        self.out.push(b'{');
        let mut first = true;
        for (i, (key, range)) in self.entries.iter().enumerate() {
            if self.entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            string(self.out, key)?;
            self.out.push(b':');
            self.out.extend_from_slice(&self.scratch[range.clone()]);
        }
        self.out.push(b'}');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.key = Some(key.serialize(KeyWriter)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        let key = self.key.take().ok_or(Unsupported)?;
        self.entry(Cow::Owned(key), value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.entry(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.entry(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

/// A map key as `to_value` makes one: a string, a number or a bool as its text; anything else
/// is left to the `Value` path.
struct KeyWriter;

impl ser::Serializer for KeyWriter {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<String, Unsupported>;
    type SerializeTuple = ser::Impossible<String, Unsupported>;
    type SerializeTupleStruct = ser::Impossible<String, Unsupported>;
    type SerializeTupleVariant = ser::Impossible<String, Unsupported>;
    type SerializeMap = ser::Impossible<String, Unsupported>;
    type SerializeStruct = ser::Impossible<String, Unsupported>;
    type SerializeStructVariant = ser::Impossible<String, Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _: f32) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Result<String> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<String> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<String> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::write;

    /// The bytes through a `Value`, or `None` where `to_value` refuses.
    fn through_value<T: Serialize>(v: &T) -> Option<String> {
        serde_json::to_value(v).ok().map(|v| serde_json::to_string(&v).unwrap())
    }

    fn ours<T: Serialize>(v: &T) -> Option<String> {
        let mut out = Vec::new();
        write(&mut out, v).ok().map(|()| String::from_utf8(out).unwrap())
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Zebra { z: u8, a: Option<String> },
        Unit,
        Wrapped(Inner),
    }

    #[derive(Serialize)]
    struct Inner {
        b: f32,
        a: f64,
        list: Vec<(u8, char)>,
        nested: BTreeMap<String, Plain>,
    }

    #[derive(Serialize)]
    enum Plain {
        Unit,
        New(i128),
        Tuple(u16, bool),
        Struct { y: (), x: &'static [u8] },
    }

    #[derive(Serialize)]
    struct Flat {
        k: u8,
        #[serde(flatten)]
        rest: BTreeMap<String, u8>,
    }

    #[test]
    fn every_shape_is_written_as_through_a_value() {
        let nested = BTreeMap::from([
            ("b".to_owned(), Plain::Unit),
            ("a".to_owned(), Plain::New(-5)),
            ("é\"\n".to_owned(), Plain::Tuple(7, true)),
            ("c".to_owned(), Plain::Struct { y: (), x: b"hi" }),
        ]);
        let inner = Inner { b: 0.1, a: f64::NAN, list: vec![(1, 'q'), (2, '"')], nested };
        let values: Vec<Tagged> = vec![
            Tagged::Zebra { z: 1, a: None },
            Tagged::Zebra { z: 255, a: Some("x\u{1}y".into()) },
            Tagged::Unit,
            Tagged::Wrapped(inner),
        ];
        for v in &values {
            assert_eq!(ours(v), through_value(v));
        }
        let flat = Flat { k: 1, rest: BTreeMap::from([("a".to_owned(), 2), ("k".to_owned(), 3)]) };
        assert_eq!(ours(&flat), through_value(&flat), "a repeated key keeps its last value");
        let keys = BTreeMap::from([(3u64, "three"), (10, "ten"), (2, "two")]);
        assert_eq!(ours(&keys), through_value(&keys), "number keys sorted as text");
        let other_keys = (BTreeMap::from([(true, 1), (false, 0)]), BTreeMap::from([('b', 1), ('a', 0)]));
        assert_eq!(ours(&other_keys), through_value(&other_keys));
        assert_eq!(ours(&1e300f64), through_value(&1e300f64));
        assert_eq!(ours(&u128::MAX), None);
        assert_eq!(through_value(&u128::MAX), None);
        assert_eq!(ours(&BTreeMap::from([(vec![1], 1)])), None, "left to the Value path");
    }
}
