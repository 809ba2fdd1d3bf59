//! The JSON pointer of the value a parse error is about, recovered from where the parser stopped.
//!
//! serde_json reports every error with the line and column it reached. Before an error about a
//! value it has read the value (a string, number or literal), or it stands just before it (an
//! object or list of the wrong type); after an error about an object as a whole (a missing field)
//! it has read the object's closing brace; after an unknown or repeated key it has read the key.
//! So re-reading the text up to that point, keeping the stack of open objects (with the last key
//! read) and lists (with the index of the current element), names the value: the pointer is the
//! stack. This costs nothing on valid input and no code per document type, unlike tracking the
//! path during the parse.

use crate::error::push_segment;

enum Frame {
    /// An object; `key` is the last key read, `None` while a key is expected.
    Object { key: Option<String> },
    /// A list at element `index`.
    List { index: usize },
}

/// The byte offset of 1-based `line` and 0-based byte `column` in `bytes` (as serde_json counts).
pub(super) fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    let mut current = 1;
    if line > 1 {
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                current += 1;
                if current == line {
                    start = i + 1;
                    break;
                }
            }
        }
    }
    start.saturating_add(column).min(bytes.len())
}

/// The pointer of the value being read at byte `offset` of the JSON text `bytes`.
pub(super) fn pointer_at(bytes: &[u8], offset: usize) -> String {
    let text = bytes.get(..offset).unwrap_or(bytes);
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'{' => stack.push(Frame::Object { key: None }),
            b'[' => stack.push(Frame::List { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::List { index }) => *index = index.saturating_add(1),
                Some(Frame::Object { key }) => *key = None,
                None => {}
            },
            b'"' => {
                let end = string_end(text, i);
                if let Some(Frame::Object { key }) = stack.last_mut()
                    && key.is_none()
                {
                    let raw = text.get(i..end).unwrap_or_default();
                    *key = Some(serde_json::from_slice::<String>(raw).unwrap_or_else(|_| {
                        // A key cut by the error itself: its text so far, unescaped as is.
                        String::from_utf8_lossy(raw.get(1..).unwrap_or_default()).into_owned()
                    }));
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let mut out = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(k) } => push_segment(&mut out, k),
            Frame::Object { key: None } => {}
            Frame::List { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
        }
    }
    out
}

/// The offset just past the string starting at `start` (a `"`), or the end of `text`.
fn string_end(text: &[u8], start: usize) -> usize {
    let mut i = start.saturating_add(1);
    while let Some(&b) = text.get(i) {
        match b {
            b'\\' => i = i.saturating_add(2),
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(text: &str, marker: &str) -> String {
        pointer_at(text.as_bytes(), text.find(marker).unwrap() + marker.len())
    }

    #[test]
    fn the_pointer_names_the_key_after_its_value_is_read() {
        assert_eq!(at(r#"{"a": {"b": "x"}}"#, r#""x""#), "/a/b");
        assert_eq!(at(r#"{"a": [1, 2, {"c": true}]}"#, "true"), "/a/2/c");
    }

    #[test]
    fn after_a_closing_brace_the_pointer_names_the_object() {
        assert_eq!(at(r#"{"a": [{"b": 1}, {"c": 2}]}"#, "2}"), "/a/1");
        assert_eq!(at(r#"{"a": {"b": 1}}"#, "1}}"), "");
    }

    #[test]
    fn keys_with_escapes_slashes_and_tildes_are_escaped_in_the_pointer() {
        assert_eq!(at(r#"{"a\"/~b": "x"}"#, r#""x""#), "/a\"~1~0b");
        assert_eq!(at(r#"{"\u00e9": 5}"#, "5"), "/\u{e9}");
        // A value string with braces and commas inside does not move the pointer.
        assert_eq!(at(r#"{"a": "{[,", "b": 7}"#, "7"), "/b");
    }

    #[test]
    fn offsets_count_lines_and_columns_as_the_parser_does() {
        let text = b"{\n  \"a\": 1,\n  \"b\": 2\n}";
        assert_eq!(offset_of(text, 3, 8), text.len() - 2);
        assert_eq!(offset_of(text, 1, 1), 1);
        assert_eq!(offset_of(text, 9, 99), text.len());
    }
}
