//! Canonical JSON: compact, object keys sorted by their UTF-8 bytes, no insignificant whitespace.
//!
//! Amounts are already strings at their currency's scale when they get here, and every list is
//! ordered by the code that built it, so the same value always gives the same bytes.

use std::cell::Cell;
use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CharEscape, Formatter};

use crate::error::Error;
use crate::out::Out;

/// Converts any serialisable value to a JSON value.
pub fn to_canonical_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    value_of(&to_canonical_string(value)?)
}

#[inline(never)]
fn value_of(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::internal(format!("could not re-read the result: {e}")))
}

/// Serialises `value` as canonical JSON text.
///
/// Fast path: the value is written straight to text, with canonical string escapes, while a check
/// watches that every object's keys come in strictly increasing byte order (the output types
/// declare their fields sorted for this). When any object's keys do not, the text is read back
/// as a JSON value and written again by [`write_canonical`], which sorts. Both give the same bytes.
pub fn to_canonical_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    written(&mut |out| write_checked(value, out)).map(|(text, _)| text)
}

/// [`to_canonical_string`], with the JSON value it built when it had to sort keys (`None` when
/// the value was written straight to text): a caller that needs the value too does not read the
/// text back a second time.
#[cfg(test)]
pub(crate) fn text_and_value<T: Serialize + ?Sized>(
    value: &T,
) -> Result<(String, Option<Value>), Error> {
    written(&mut |out| write_checked(value, out))
}

/// What `write` (a [`write_checked`] of one value) writes, finished: the part of serialising that
/// does not depend on the value's type, compiled once rather than once per output type.
#[inline(never)]
fn written(
    write: &mut dyn FnMut(&mut Vec<u8>) -> Result<bool, Error>,
) -> Result<(String, Option<Value>), Error> {
    let mut out = Vec::with_capacity(256);
    let sorted = write(&mut out)?;
    finish(out, sorted)
}

/// Serialises `value` into `out` with canonical escapes; whether every object's keys came sorted.
/// (The only part of [`text_and_value`] that depends on `T`: kept small, it is compiled once per
/// output type.)
fn write_checked<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<bool, Error> {
    let sorted = Cell::new(true);
    let mut ser = serde_json::Serializer::with_formatter(
        out,
        SortedCheck {
            sorted: &sorted,
            levels: Vec::new(),
            prev: Vec::new(),
            key: Vec::new(),
            in_key: false,
        },
    );
    value.serialize(&mut ser).map_err(serialise_error)?;
    Ok(sorted.get())
}

fn serialise_error(e: serde_json::Error) -> Error {
    Error::internal(format!("could not serialise the result: {e}"))
}

/// The text [`write_checked`] wrote, sorted through a JSON value when its keys were not.
#[inline(never)]
fn finish(out: Vec<u8>, sorted: bool) -> Result<(String, Option<Value>), Error> {
    if sorted {
        return String::from_utf8(out)
            .map(|text| (text, None))
            .map_err(|e| Error::internal(format!("the result is not UTF-8: {e}")));
    }
    // Read back the text just written, rather than serialising `value` again into a `Value`:
    // the same bytes, and no second serialiser instantiated for every output type.
    let v: Value = serde_json::from_slice(&out)
        .map_err(|e| Error::internal(format!("could not re-read the result: {e}")))?;
    let mut text = String::with_capacity(out.len());
    write_canonical(&v, &mut text);
    Ok((text, Some(v)))
}

/// A compact formatter writing canonical escapes and checking that object keys are sorted.
struct SortedCheck<'a> {
    sorted: &'a Cell<bool>,
    /// For each open object: where its previous key starts in `prev`, and whether it has one.
    levels: Vec<(usize, bool)>,
    /// The previous key of each open object, outermost first (a nested object opens after its
    /// parent's key, so each object's key runs from its start to the next object's).
    prev: Vec<u8>,
    key: Vec<u8>,
    in_key: bool,
}

impl Formatter for SortedCheck<'_> {
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.levels.push((self.prev.len(), false));
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if let Some((start, _)) = self.levels.pop() {
            self.prev.truncate(start);
        }
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.in_key = true;
        self.key.clear();
        if first {
            Ok(())
        } else {
            writer.write_all(b",")
        }
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.in_key = false;
        if let Some((start, has)) = self.levels.last_mut() {
            if *has && self.prev.get(*start..).unwrap_or_default() >= self.key.as_slice() {
                self.sorted.set(false);
            }
            self.prev.truncate(*start);
            self.prev.extend_from_slice(&self.key);
            *has = true;
        }
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.in_key {
            self.key.extend_from_slice(fragment.as_bytes());
        }
        let mut rest = fragment;
        while let Some(at) = rest.find('\u{7f}') {
            writer.write_all(rest.get(..at).unwrap_or_default().as_bytes())?;
            writer.write_all(b"\\u007f")?;
            rest = rest.get(at + 1..).unwrap_or_default();
        }
        writer.write_all(rest.as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let (raw, text): (u8, &[u8]) = match escape {
            CharEscape::Quote => (b'"', b"\\\""),
            CharEscape::ReverseSolidus => (b'\\', b"\\\\"),
            CharEscape::Solidus => (b'/', b"/"),
            CharEscape::LineFeed => (b'\n', b"\\n"),
            CharEscape::CarriageReturn => (b'\r', b"\\r"),
            CharEscape::Tab => (b'\t', b"\\t"),
            CharEscape::Backspace => (0x08, b"\\u0008"),
            CharEscape::FormFeed => (0x0c, b"\\u000c"),
            CharEscape::AsciiControl(c) => {
                if self.in_key {
                    self.key.push(c);
                }
                return write!(writer, "\\u{:04x}", c);
            }
        };
        if self.in_key {
            self.key.push(raw);
        }
        writer.write_all(text)
    }
}

/// Appends the canonical text of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let write_entry = |i: usize, k: &String, v: &Value, out: &mut String| {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(v, out);
            };
            out.push('{');
            // Maps usually iterate in key order already; sort only when they do not.
            let mut prev: Option<&[u8]> = None;
            let sorted = map.keys().all(|k| {
                let ok = prev.is_none_or(|p| p < k.as_bytes());
                prev = Some(k.as_bytes());
                ok
            });
            if sorted {
                for (i, (k, v)) in map.iter().enumerate() {
                    write_entry(i, k, v, out);
                }
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    write_entry(i, k, v, out);
                }
            }
            out.push('}');
        }
    }
}

/// Appends `s` as a canonical JSON string.
pub(crate) fn write_string(s: &str, out: &mut impl Out) {
    out.ascii(b"\"");
    write_escaped(s, out);
    out.ascii(b"\"");
}

/// Whether `s` has a character a JSON string escapes. (The test has no early exit, so it runs
/// over many bytes at once.)
pub(crate) fn needs_escape(s: &str) -> bool {
    needs_escape_bytes(s.as_bytes())
}

/// [`needs_escape`] of UTF-8 bytes.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn needs_escape_bytes(s: &[u8]) -> bool {
    s.iter().fold(false, |any, &b| {
        any | (b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)
    })
}

/// [`needs_escape`] of UTF-8 bytes. WebAssembly is built without vector instructions, where the
/// fold above tests one byte at a time: this tests eight.
#[cfg(target_arch = "wasm32")]
pub(crate) fn needs_escape_bytes(s: &[u8]) -> bool {
    super::limits::has_escape_in_words(s)
}

/// Appends the canonical escapes of `s` (no quotes): the inside of a JSON string.
pub(crate) fn write_escaped(s: &str, out: &mut impl Out) {
    // Most strings need no escape: copy them whole.
    if !needs_escape(s) {
        out.put(s);
        return;
    }
    let mut char_buf = [0u8; 4];
    for c in s.chars() {
        match c {
            '"' => out.ascii(b"\\\""),
            '\\' => out.ascii(b"\\\\"),
            '\n' => out.ascii(b"\\n"),
            '\r' => out.ascii(b"\\r"),
            '\t' => out.ascii(b"\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.args(format_args!("\\u{:04x}", c as u32));
            }
            c => out.put(c.encode_utf8(&mut char_buf)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_output_is_compact() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, {"z": null, "a": true}], "a": "x\"\u0001" }"#)
                .unwrap();
        let mut s = String::new();
        write_canonical(&v, &mut s);
        assert_eq!(s, r#"{"a":"x\"\u0001","b":[1,{"a":true,"z":null}]}"#);
    }

    fn slow(v: &impl Serialize) -> String {
        let mut s = String::new();
        write_canonical(&to_canonical_value(v).unwrap(), &mut s);
        s
    }

    #[derive(Serialize)]
    struct Sorted<'a> {
        a: &'a str,
        b: Vec<Unsorted>,
        c: std::collections::BTreeMap<String, u32>,
    }

    #[derive(Serialize)]
    struct Unsorted {
        z: Option<u32>,
        m: i64,
    }

    #[test]
    fn the_direct_writer_gives_the_same_bytes_as_the_sorting_writer() {
        let tricky = "q\"\\/\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é\u{2028}😀";
        let mut c = std::collections::BTreeMap::new();
        c.insert(tricky.to_owned(), 1);
        c.insert("\u{7f}".to_owned(), 2);
        c.insert("\u{1}".to_owned(), 3);
        let sorted = Sorted {
            a: tricky,
            b: vec![],
            c,
        };
        assert_eq!(to_canonical_string(&sorted).unwrap(), slow(&sorted));
        let unsorted = Sorted {
            a: "x",
            b: vec![Unsorted { z: None, m: -3 }],
            c: std::collections::BTreeMap::new(),
        };
        let text = to_canonical_string(&unsorted).unwrap();
        assert_eq!(text, slow(&unsorted));
        assert_eq!(text, r#"{"a":"x","b":[{"m":-3,"z":null}],"c":{}}"#);
        let mut ints = std::collections::BTreeMap::new();
        ints.insert(10u32, "ten");
        ints.insert(9u32, "nine");
        assert_eq!(
            to_canonical_string(&ints).unwrap(),
            r#"{"10":"ten","9":"nine"}"#
        );
    }

    #[derive(Serialize)]
    struct Outer<A: Serialize, B: Serialize> {
        #[serde(rename = "k")]
        first: A,
        #[serde(rename = "m")]
        second: B,
    }

    #[derive(Serialize)]
    struct Pair {
        z: u8,
        zz: u8,
    }

    #[derive(Serialize)]
    struct Back {
        zz: u8,
        a: u8,
    }

    #[test]
    fn each_open_object_is_checked_against_its_own_previous_key() {
        // Sorted at every level, though the inner keys sort after the outer ones.
        let ok = Outer {
            first: Pair { z: 1, zz: 2 },
            second: vec![Pair { z: 3, zz: 4 }],
        };
        let (text, sorted_through) = text_and_value(&ok).unwrap();
        assert_eq!(text, r#"{"k":{"z":1,"zz":2},"m":[{"z":3,"zz":4}]}"#);
        assert!(sorted_through.is_none());
        // Out of order inside the second object only, after a sorted first one.
        let inner = Outer {
            first: Pair { z: 1, zz: 2 },
            second: Back { zz: 1, a: 2 },
        };
        let (text, sorted_through) = text_and_value(&inner).unwrap();
        assert_eq!(text, r#"{"k":{"z":1,"zz":2},"m":{"a":2,"zz":1}}"#);
        assert!(sorted_through.is_some());
        // Out of order at the outer level, across a nested object.
        let outer = Back { zz: 1, a: 2 };
        let nested = Outer {
            first: vec![outer],
            second: 0,
        };
        assert_eq!(to_canonical_string(&nested).unwrap(), slow(&nested));
        #[derive(Serialize)]
        struct Late {
            m: Pair,
            k: u8,
        }
        let (text, sorted_through) = text_and_value(&Late {
            m: Pair { z: 1, zz: 2 },
            k: 0,
        })
        .unwrap();
        assert_eq!(text, r#"{"k":0,"m":{"z":1,"zz":2}}"#);
        assert!(sorted_through.is_some());
    }
}
