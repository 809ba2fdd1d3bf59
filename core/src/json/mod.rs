//! Reading documents from JSON (with limits, codes and JSON-pointer paths) and writing canonical JSON.

mod canonical;
mod fast;
mod limits;
mod pointer;
mod strict;
mod text;

#[cfg(test)]
pub(crate) use canonical::text_and_value;
pub(crate) use canonical::{needs_escape_bytes, write_escaped, write_string};
pub use canonical::{to_canonical_string, to_canonical_value, write_canonical};
pub use limits::{Limits, check_limits};
pub use text::CanonicalJson;

use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorCode, push_segment};

/// Marks a serde error message that carries a billwise code: `\u{1}CODE\u{1}path\u{1}message`.
const MARK: char = '\u{1}';

/// Turns a billwise [`Error`] into a serde error that [`from_slice`] turns back, code and path intact.
pub(crate) fn de_error<E: serde::de::Error>(e: Error) -> E {
    E::custom(format!(
        "{MARK}{}{MARK}{}{MARK}{}",
        e.code.as_str(),
        e.path,
        e.message
    ))
}

/// Parses a document of type `T` from JSON bytes, enforcing `limits`.
///
/// The parse tracks no path: an error's JSON pointer is recovered afterwards from where the
/// parser stopped (see `pointer`), so valid input is read once at full speed and the parser's
/// code is not duplicated per document type for path tracking. A billing run's request has a
/// faster reader, [`preview_request_from_slice`], which its callers choose.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8], limits: &Limits) -> Result<T, Error> {
    // Valid UTF-8 as a whole (checked once, many bytes at a time) is parsed without checking each
    // string again. The WebAssembly build keeps one parser per document type, for its size.
    #[cfg(not(target_arch = "wasm32"))]
    if let Ok(text) = std::str::from_utf8(bytes) {
        check_limits(bytes, limits)?;
        return read(serde_json::Deserializer::from_str(text), bytes);
    }
    check_limits(bytes, limits)?;
    read(serde_json::Deserializer::from_slice(bytes), bytes)
}

/// Parses a billing run's request: its time entries by hand, limits included, when they are in
/// the plain shape (see `fast`), and otherwise as [`from_slice`] does. The answer is the same
/// either way, byte for byte and error for error (a test compares the two on every spec case and
/// on hostile input).
pub fn preview_request_from_slice(
    bytes: &[u8],
    limits: &Limits,
) -> Result<crate::billing::PreviewInvoiceRequest, Error> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && let Some(request) = fast::preview_request(text, limits)
    {
        return Ok(request);
    }
    from_slice(bytes, limits)
}

/// Reads one `T` and the end of the input from `de`, whose input is `bytes` (for error paths).
fn read<'de, R: serde_json::de::Read<'de>, T: serde::Deserialize<'de>>(
    mut de: serde_json::Deserializer<R>,
    bytes: &[u8],
) -> Result<T, Error> {
    let value = T::deserialize(strict::Strict(&mut de));
    read_end(value.is_ok(), de)?;
    value.map_err(|e| convert(bytes, &e))
}

/// The end of the input after a document (nothing but whitespace), and the parser dropped: the
/// part of [`read`] that does not depend on the document's type, compiled once per input kind
/// rather than once per document type.
#[inline(never)]
fn read_end<'de, R: serde_json::de::Read<'de>>(
    read: bool,
    mut de: serde_json::Deserializer<R>,
) -> Result<(), Error> {
    if read {
        de.end().map_err(|e| malformed(&e))?;
    }
    Ok(())
}

/// Parses a document of type `T` from a JSON string, enforcing `limits`.
pub fn from_str<T: DeserializeOwned>(s: &str, limits: &Limits) -> Result<T, Error> {
    from_slice(s.as_bytes(), limits)
}

fn malformed(e: &serde_json::Error) -> Error {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    Error::new(
        ErrorCode::InputMalformedJson,
        format!("the input is not valid JSON: {msg}"),
    )
    .with("line", e.line() as u64)
    .with("column", e.column() as u64)
}

/// The text between the first pair of backticks.
fn quoted(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg.get(start..)?.find('`')?;
    msg.get(start..start + len)
}

/// Rewrites serde's `X, expected Y` in JSON words: `expected a list, found an object`.
fn humanize_type_error(rest: &str) -> String {
    let (found, expected) = rest
        .split_once(", expected ")
        .unwrap_or((rest, "another type"));
    let found = match found {
        "map" => "an object".to_owned(),
        "sequence" => "a list".to_owned(),
        "null" | "unit value" => "null".to_owned(),
        f if f.starts_with("string ") => "a string".to_owned(),
        f if f.starts_with("boolean ") => f.trim_start_matches("boolean ").replace('`', ""),
        f if f.starts_with("integer ") || f.starts_with("floating point ") => {
            format!(
                "the number {}",
                f.rsplit(' ').next().unwrap_or_default().replace('`', "")
            )
        }
        f => f.to_owned(),
    };
    let expected = if expected.starts_with("struct ") || expected.contains("map") {
        "an object"
    } else if expected.contains("sequence") {
        "a list"
    } else if matches!(expected, "u8" | "u16" | "u32" | "u64" | "usize") {
        "a whole number"
    } else {
        expected
    };
    format!("expected {expected}, found {found}")
}

fn convert(bytes: &[u8], inner: &serde_json::Error) -> Error {
    let offset = pointer::offset_of(bytes, inner.line(), inner.column());
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        // serde_json reads an enum (a status, a kind) only from a string and calls any other
        // value "expected value", a syntax error. In well-formed JSON that is a value of the
        // wrong type, at its path.
        if inner.is_syntax()
            && inner.to_string().starts_with("expected value")
            && serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
            // (`offset` is one past the byte the column counts.)
            && let Some(found) = bytes.get(offset.saturating_sub(1)..).and_then(|rest| {
                Some(match rest.first()? {
                    b'n' => "null".to_owned(),
                    b't' | b'f' => "a boolean".to_owned(),
                    b'[' => "a list".to_owned(),
                    _ => {
                        let n = rest
                            .iter()
                            .take_while(|b| b.is_ascii_digit() || b"-+.eE".contains(b))
                            .count();
                        format!("the number {}", std::str::from_utf8(rest.get(..n)?).ok()?)
                    }
                })
            })
        {
            return Error::new(
                ErrorCode::InputInvalidType,
                format!("expected a string, found {found}"),
            )
            .at(pointer::pointer_at(bytes, offset.saturating_sub(1)));
        }
        return malformed(inner);
    }
    let mut path = pointer::pointer_at(bytes, offset);
    let full = inner.to_string();
    let msg = full.split(" at line ").next().unwrap_or(&full);
    // A billwise error raised inside a visitor.
    if let Some(rest) = msg.strip_prefix(MARK) {
        let mut parts = rest.splitn(3, MARK);
        let code = parts
            .next()
            .and_then(ErrorCode::parse)
            .unwrap_or(ErrorCode::InputInvalidValue);
        let sub_path = parts.next().unwrap_or_default();
        let message = parts.next().unwrap_or_default();
        path.push_str(sub_path);
        let err = Error::new(code, message).at(path);
        return match code {
            ErrorCode::InputLimitExceeded => err.with("limit", "decimal_digits"),
            _ => err,
        };
    }
    let (code, message) = if let Some(rest) = msg.strip_prefix("unknown field ") {
        let field = quoted(rest).unwrap_or_default();
        if !path.ends_with(&format!("/{field}")) {
            push_segment(&mut path, field);
        }
        (
            ErrorCode::InputUnknownField,
            format!("unknown field `{field}`"),
        )
    } else if let Some(rest) = msg.strip_prefix("missing field ") {
        let field = quoted(rest).unwrap_or_default();
        push_segment(&mut path, field);
        (
            ErrorCode::InputMissingField,
            format!("missing field `{field}`"),
        )
    } else if let Some(rest) = msg.strip_prefix("duplicate field ") {
        let field = quoted(rest).unwrap_or_default();
        if !path.ends_with(&format!("/{field}")) {
            push_segment(&mut path, field);
        }
        (
            ErrorCode::InputDuplicateKey,
            format!("the key `{field}` appears twice"),
        )
    } else if msg.starts_with("unknown variant ") {
        let value = quoted(msg).unwrap_or_default();
        let allowed = msg
            .split_once("expected ")
            .map(|(_, a)| a)
            .unwrap_or_default();
        let allowed = allowed.replace(" or ", ", ").replace("one of ", "");
        (
            ErrorCode::InputInvalidValue,
            format!("`{value}` is not allowed here; expected {allowed}"),
        )
    } else if let Some(rest) = msg.strip_prefix("invalid type: ") {
        (ErrorCode::InputInvalidType, humanize_type_error(rest))
    } else if msg.starts_with("invalid length") {
        (ErrorCode::InputInvalidType, msg.to_owned())
    } else if msg.starts_with("invalid value") {
        (ErrorCode::InputInvalidValue, msg.to_owned())
    } else if msg.contains("recursion limit") {
        (
            ErrorCode::InputLimitExceeded,
            "the nesting depth exceeds the parser's limit".to_owned(),
        )
    } else {
        (ErrorCode::InputInvalidValue, msg.to_owned())
    };
    Error::new(code, message).at(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Date, Dec, Money};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        date: Date,
        hours: Dec,
        #[serde(default)]
        rate: Option<Money>,
    }

    fn err(s: &str) -> Error {
        from_str::<Doc>(s, &Limits::DEFAULT).unwrap_err()
    }

    #[test]
    fn unknown_fields_name_their_path() {
        let e = err(r#"{"items":[{"date":"2026-01-01","hours":"1","huors":"2"}]}"#);
        assert_eq!(
            (e.code, e.path.as_str()),
            (ErrorCode::InputUnknownField, "/items/0/huors")
        );
    }

    #[test]
    fn missing_fields_name_their_path() {
        let e = err(r#"{"items":[{"date":"2026-01-01"}]}"#);
        assert_eq!(
            (e.code, e.path.as_str()),
            (ErrorCode::InputMissingField, "/items/0/hours")
        );
    }

    #[test]
    fn visitor_errors_keep_their_code_and_path() {
        let e = err(r#"{"items":[{"date":"2026-02-30","hours":"1"}]}"#);
        assert_eq!(
            (e.code, e.path.as_str()),
            (ErrorCode::InputInvalidDate, "/items/0/date")
        );
        let e = err(r#"{"items":[{"date":"2026-02-03","hours":1.5}]}"#);
        assert_eq!(
            (e.code, e.path.as_str()),
            (ErrorCode::InputNumberNotAllowed, "/items/0/hours")
        );
        let e = err(r#"{"items":[{"date":"2026-02-03","hours":"1e400"}]}"#);
        assert_eq!(e.code, ErrorCode::InputInvalidDecimal);
        let e = err(
            r#"{"items":[{"date":"2026-02-03","hours":"1","rate":{"amount":"1","currency":"XYZ"}}]}"#,
        );
        assert_eq!(
            (e.code, e.path.as_str()),
            (ErrorCode::InputUnknownCurrency, "/items/0/rate/currency")
        );
    }

    #[test]
    fn malformed_json_and_wrong_types_have_codes() {
        assert_eq!(err(r#"{"items":[}"#).code, ErrorCode::InputMalformedJson);
        assert_eq!(err(r#"{"items":{}}"#).code, ErrorCode::InputInvalidType);
        assert_eq!(
            err(r#"{"items":[]} trailing"#).code,
            ErrorCode::InputMalformedJson
        );
        assert_eq!(
            from_slice::<Doc>(b"{\"items\":[\xff]}", &Limits::DEFAULT)
                .unwrap_err()
                .code,
            ErrorCode::InputMalformedJson
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let e = err(r#"{"items":[],"items":[]}"#);
        assert_eq!(e.code, ErrorCode::InputDuplicateKey);
    }
}
