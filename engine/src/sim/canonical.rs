//! A payload's canonical JSON straight from its typed value: exactly the bytes
//! `serde_json::to_writer(&serde_json::to_value(value)?)` writes (object keys sorted, as a
//! `serde_json::Value` holds them; a non-finite float `null`, as `to_value` makes it), without
//! building and dropping the `Value`. A run that only hashes its trace (a headless run, a
//! sweep) spent about a quarter of its time on those trees.
//!
//! Anything `to_value` would refuse, or that this writer does not know how to write as it
//! would (a map key that is not a string, a number or a bool), is an `Err`; the caller then
//! takes the `Value` path, so the bytes are the same either way. `tests` hold the two equal.

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
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, scratch: &mut Scratch, value: &T) -> Result {
    scratch.entries.clear();
    scratch.keys.clear();
    value.serialize(Writer { out, scratch })
}

/// Appends `v` in decimal. Most numbers in a record are small (node ids, counts, a vector
/// clock's entries): one or two digits are pushed as they are, without a copy from `itoa`'s
/// buffer, which is a call of its own in WebAssembly.
#[inline]
pub(super) fn number(out: &mut Vec<u8>, v: u64) {
    let digit = |d: u64| b'0' + u8::try_from(d % 10).unwrap_or(0);
    match v {
        0..10 => out.push(digit(v)),
        10..100 => out.extend_from_slice(&[digit(v / 10), digit(v)]),
        _ => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
    }
}

/// Text `serde_json` writes between quotes as it is: no control character, quote or backslash.
#[inline]
fn plain(text: &[u8]) -> bool {
    text.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// A string, quoted and escaped as `serde_json` does. Most are names and plain words, which
/// need no escape and are copied as they are.
#[inline]
fn string(out: &mut Vec<u8>, s: &str) -> Result {
    if plain(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    serde_json::to_writer(out, s).map_err(|_| Unsupported)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    scratch: &'a mut Scratch,
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

    #[inline]
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
    #[inline]
    fn serialize_i64(self, v: i64) -> Result {
        match u64::try_from(v) {
            Ok(v) => number(self.out, v),
            Err(_) => self.out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        }
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
    #[inline]
    fn serialize_u64(self, v: u64) -> Result {
        number(self.out, v);
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
    #[inline]
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
        value.serialize(Writer { out: self.out, scratch: self.scratch })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>> {
        self.out.push(b'[');
        Ok(Seq { out: self.out, scratch: self.scratch, first: true, close: b"]" })
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
        Ok(Seq { out: self.out, scratch: self.scratch, first: true, close: b"]}" })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'a>> {
        Object::new(self.out, self.scratch, None)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'a>> {
        Object::new(self.out, self.scratch, None)
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Object<'a>> {
        Object::new(self.out, self.scratch, Some(variant))
    }
}

/// An array being written.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    scratch: &'a mut Scratch,
    first: bool,
    close: &'static [u8],
}

impl Seq<'_> {
    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Writer { out: self.out, scratch: self.scratch })
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

/// Buffers a write reuses from one payload to the next (a headless run writes millions, and
/// allocating for each object was a fifth of its time): the entries of the objects being
/// written, the copy an unsorted object is sorted out of, and map keys that needed escaping.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// Every open object's entries, the innermost's last (an object's entry is pushed once its
    /// value, which may hold objects, is written; a closed object's entries are gone again).
    entries: Vec<Entry>,
    copy: Vec<u8>,
    keys: Vec<u8>,
}

/// An entry of an object: its key, and the range of `out` that holds `"key":value`.
#[derive(Clone, Debug)]
struct Entry {
    key: Key,
    range: std::ops::Range<usize>,
}

/// An entry's key, as its unescaped text sorts: a struct's field name, a map key's text at a
/// range of `out` (between its quotes), or at a range of [`Scratch::keys`] when it was escaped.
#[derive(Clone, Debug)]
enum Key {
    Field(&'static str),
    Out(std::ops::Range<usize>),
    Escaped(std::ops::Range<usize>),
}

/// An object being written: each entry goes to `out` as `"key":value` as it comes, after a
/// comma; when the keys came in ascending order, as a struct's sorted fields do, that is already
/// the canonical text. Otherwise, at its close, the entries are written again over themselves,
/// sorted by key (a `Value`'s `BTreeMap` order; a repeated key keeps its last value, as an
/// insert into it does).
struct Object<'a> {
    out: &'a mut Vec<u8>,
    scratch: &'a mut Scratch,
    /// A struct variant, `{"name":{…}}`, closes twice.
    variant: bool,
    /// Where the object's entries begin in `Scratch::entries` and in `out`.
    base: usize,
    start: usize,
    /// Every key so far came after the one before it.
    ascending: bool,
    /// A map's key, written and waiting for its value: its entry's start, and the key.
    key: Option<(usize, Key)>,
}

impl<'a> Object<'a> {
    #[inline]
    fn new(out: &'a mut Vec<u8>, scratch: &'a mut Scratch, variant: Option<&'static str>) -> Result<Self> {
        if let Some(variant) = variant {
            out.push(b'{');
            string(out, variant)?;
            out.push(b':');
        }
        out.push(b'{');
        let (base, start) = (scratch.entries.len(), out.len());
        Ok(Object { out, scratch, variant: variant.is_some(), base, start, ascending: true, key: None })
    }

    /// The key's text, its entry lying in `out` `shift` bytes before where it was written.
    #[inline]
    fn text<'k>(out: &'k [u8], shift: usize, keys: &'k [u8], key: &'k Key) -> &'k [u8] {
        match key {
            Key::Field(name) => name.as_bytes(),
            Key::Out(range) => &out[range.start - shift..range.end - shift],
            Key::Escaped(range) => &keys[range.clone()],
        }
    }

    /// Begins an entry: the comma before any but the first.
    #[inline]
    fn begin(&mut self) -> usize {
        if self.out.len() > self.start {
            self.out.push(b',');
        }
        self.out.len()
    }

    #[inline]
    fn entry<T: Serialize + ?Sized>(&mut self, begun: usize, key: Key, value: &T) -> Result {
        value.serialize(Writer { out: self.out, scratch: self.scratch })?;
        if let Some(last) = self.scratch.entries.get(self.base..).and_then(<[Entry]>::last) {
            let keys = &self.scratch.keys;
            self.ascending &= Self::text(self.out, 0, keys, &key) > Self::text(self.out, 0, keys, &last.key);
        }
        self.scratch.entries.push(Entry { key, range: begun..self.out.len() });
        Ok(())
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result {
        let begun = self.begin();
        string(self.out, name)?;
        self.out.push(b':');
        self.entry(begun, Key::Field(name), value)
    }

    fn close(self) -> Result {
        let Scratch { entries, copy, keys } = self.scratch;
        if !self.ascending {
            let start = self.start;
            copy.clear();
            copy.extend_from_slice(&self.out[start..]);
            self.out.truncate(start);
            let mine = &mut entries[self.base..];
            // The entries now lie in `copy`, `start` bytes earlier.
            let (copy, keys) = (&copy[..], &keys[..]);
            // Stable, so that of a repeated key the last comes last and is the one kept.
            mine.sort_by(|a, b| Self::text(copy, start, keys, &a.key).cmp(Self::text(copy, start, keys, &b.key)));
            for (i, entry) in mine.iter().enumerate() {
                let key = Self::text(copy, start, keys, &entry.key);
                if mine.get(i + 1).is_some_and(|next| Self::text(copy, start, keys, &next.key) == key) {
                    continue;
                }
                if self.out.len() > start {
                    self.out.push(b',');
                }
                self.out.extend_from_slice(&copy[entry.range.start - start..entry.range.end - start]);
            }
        }
        entries.truncate(self.base);
        self.out.push(b'}');
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        let begun = self.begin();
        self.out.push(b'"');
        let text = self.out.len();
        key.serialize(KeyWriter { out: self.out })?;
        let written = text..self.out.len();
        let key = if plain(&self.out[written.clone()]) {
            self.out.push(b'"');
            Key::Out(written)
        } else {
            let keys = &mut self.scratch.keys;
            let kept = keys.len()..keys.len() + written.len();
            keys.extend_from_slice(&self.out[written]);
            self.out.truncate(begun);
            string(self.out, std::str::from_utf8(&keys[kept.clone()]).map_err(|_| Unsupported)?)?;
            Key::Escaped(kept)
        };
        self.out.push(b':');
        self.key = Some((begun, key));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        let (begun, key) = self.key.take().ok_or(Unsupported)?;
        self.entry(begun, key, value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.field(key, value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.field(key, value)
    }
    fn end(self) -> Result {
        self.close()
    }
}

/// A map key as `to_value` makes one: a string, a number or a bool as its text, written raw to
/// `out` (the object quotes it when it writes its entries out sorted); anything else is left to
/// the `Value` path.
struct KeyWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl KeyWriter<'_> {
    fn text(self, text: &str) -> Result {
        self.out.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result {
        self.text(&v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.text(itoa::Buffer::new().format(v))
    }
    fn serialize_f32(self, _: f32) -> Result {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Result {
        self.text(&v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result {
        self.text(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(Unsupported)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
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
        write(&mut out, &mut Default::default(), v).ok().map(|()| String::from_utf8(out).unwrap())
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
    fn numbers_are_written_as_serde_json_writes_them() {
        let values = (0..1_000u64).chain([9_999, 10_000, u64::from(u32::MAX), u64::MAX - 1, u64::MAX]);
        for v in values {
            let mut out = Vec::new();
            super::number(&mut out, v);
            assert_eq!(out, serde_json::to_vec(&v).unwrap(), "{v}");
        }
        for v in [i64::MIN, -100, -10, -9, -1, 0, 9, 10, 99, 100, i64::MAX] {
            assert_eq!(ours(&v), through_value(&v), "{v}");
        }
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
