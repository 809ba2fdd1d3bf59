//! Canonical JSON: compact, object keys sorted by their UTF-8 bytes, no insignificant whitespace.
//!
//! Amounts are already strings at their currency's scale when they get here, and every list is
//! ordered by the code that built it, so the same value always gives the same bytes.

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;

/// Converts any serialisable value to a JSON value.
pub fn to_canonical_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::internal(format!("could not serialise the result: {e}")))
}

/// Serialises `value` as canonical JSON text.
pub fn to_canonical_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let v = to_canonical_value(value)?;
    let mut out = String::new();
    write_canonical(&v, &mut out);
    Ok(out)
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
pub(crate) fn write_string(s: &str, out: &mut String) {
    out.push('"');
    // Most strings need no escape: copy them whole.
    if !s
        .bytes()
        .any(|b| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
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
}
