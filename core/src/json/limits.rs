//! Input limits, checked by one linear scan before any parsing.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, push_segment};

/// Bounds on the size and shape of an input document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest input, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of objects and arrays.
    pub max_depth: usize,
    /// Most elements in one array (or members in one object).
    pub max_items: usize,
    /// Longest string, in bytes (after the quotes, before unescaping).
    pub max_string_bytes: usize,
}

impl Limits {
    /// The defaults: 512 MiB, depth 64, 2,000,000 items per array, 64 KiB per string.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 512 * 1024 * 1024,
        max_depth: 64,
        max_items: 2_000_000,
        max_string_bytes: 64 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

struct Frame {
    is_array: bool,
    items: usize,
    key_start: usize,
    key_end: usize,
}

fn limit_error(what: &str, limit_name: &str, max: usize, path: String) -> Error {
    Error::new(
        ErrorCode::InputLimitExceeded,
        format!("{what} exceeds the limit of {max}"),
    )
    .at(path)
    .with("limit", limit_name)
    .with("max", max as u64)
}

fn pointer(bytes: &[u8], stack: &[Frame]) -> String {
    let mut out = String::new();
    for f in stack {
        if f.is_array {
            out.push('/');
            out.push_str(&f.items.saturating_sub(1).to_string());
        } else if f.key_end > f.key_start {
            let key = bytes.get(f.key_start..f.key_end).unwrap_or_default();
            push_segment(&mut out, &String::from_utf8_lossy(key));
        }
    }
    out
}

/// Checks `bytes` against `limits` without building anything. Malformed JSON is left to the parser;
/// this scan only has to be right about well-formed input and must never fail on garbage.
pub fn check_limits(bytes: &[u8], limits: &Limits) -> Result<(), Error> {
    if bytes.len() > limits.max_bytes {
        return Err(Error::new(
            ErrorCode::InputLimitExceeded,
            format!(
                "the input is {} bytes, over the limit of {}",
                bytes.len(),
                limits.max_bytes
            ),
        )
        .with("limit", "max_bytes")
        .with("max", limits.max_bytes as u64));
    }
    let mut stack: Vec<Frame> = Vec::new();
    // Whether the next value in the innermost container starts a new item.
    let mut expect_item = true;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                // To the closing quote, over escapes.
                loop {
                    let Some(at) = quote_or_backslash(bytes, j) else {
                        return Ok(());
                    };
                    j = at;
                    if bytes.get(j) == Some(&b'"') {
                        break;
                    }
                    j += 2;
                }
                let len = j - start;
                // A string directly inside an object that is followed by ':' is a key.
                let mut k = j + 1;
                while matches!(bytes.get(k), Some(b' ' | b'\n' | b'\r' | b'\t')) {
                    k += 1;
                }
                let is_key =
                    bytes.get(k) == Some(&b':') && stack.last().is_some_and(|f| !f.is_array);
                if is_key {
                    if let Some(f) = stack.last_mut() {
                        f.items += 1;
                        f.key_start = start;
                        f.key_end = j.min(start + 256);
                        if f.items > limits.max_items {
                            return Err(limit_error(
                                "an object's member count",
                                "max_items",
                                limits.max_items,
                                pointer(bytes, &stack),
                            ));
                        }
                    }
                } else {
                    count_item(&mut stack, &mut expect_item, limits, bytes)?;
                }
                if len > limits.max_string_bytes {
                    return Err(limit_error(
                        "a string's length in bytes",
                        "max_string_bytes",
                        limits.max_string_bytes,
                        pointer(bytes, &stack),
                    ));
                }
                i = j + 1;
                continue;
            }
            b'{' | b'[' => {
                count_item(&mut stack, &mut expect_item, limits, bytes)?;
                if stack.len() >= limits.max_depth {
                    return Err(limit_error(
                        "the nesting depth",
                        "max_depth",
                        limits.max_depth,
                        pointer(bytes, &stack),
                    ));
                }
                stack.push(Frame {
                    is_array: b == b'[',
                    items: 0,
                    key_start: 0,
                    key_end: 0,
                });
                expect_item = true;
            }
            b'}' | b']' => {
                stack.pop();
                expect_item = false;
            }
            b',' => expect_item = true,
            b' ' | b'\n' | b'\r' | b'\t' | b':' => {}
            _ => {
                // A scalar (number, true, false, null): count it once, then skip to its end.
                count_item(&mut stack, &mut expect_item, limits, bytes)?;
                let start = i;
                while let Some(c) = bytes.get(i + 1) {
                    if matches!(
                        c,
                        b',' | b'}'
                            | b']'
                            | b' '
                            | b'\n'
                            | b'\r'
                            | b'\t'
                            | b'"'
                            | b'{'
                            | b'['
                            | b':'
                    ) {
                        break;
                    }
                    i += 1;
                }
                let token = bytes.get(start..=i).unwrap_or_default();
                if number_out_of_range(token) {
                    return Err(Error::new(
                        ErrorCode::InputLimitExceeded,
                        format!(
                            "the number `{}` is too large for any runtime to read (beyond 1.7976931348623157e308)",
                            String::from_utf8_lossy(token.get(..40).unwrap_or(token))
                        ),
                    )
                    .at(pointer(bytes, &stack))
                    .with("limit", "number_range"));
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// The position of the first `"` or `\\` in `bytes` at or after `from`.
///
/// Eight bytes at a time, in a word: most strings in a document are ids, dates and decimals of a
/// few bytes, for which a call into a vectorised search cost more than the search itself.
#[inline]
pub(super) fn quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    first_in_words(
        bytes,
        from,
        |w| zeros(w ^ QUOTES) | zeros(w ^ BACKSLASHES),
        |b| b == b'"' || b == b'\\',
    )
}

/// The position of the first `"`, `\\` or control character (below 0x20) at or after `from`:
/// where a string ends, or stops being plain text.
#[inline]
pub(super) fn quote_backslash_or_control(bytes: &[u8], from: usize) -> Option<usize> {
    first_in_words(
        bytes,
        from,
        // Bytes below 0x20: subtracting 0x20 borrows into their high bit (bytes of 0x80 and
        // above keep theirs set in `w` and are masked out by `!w`).
        |w| zeros(w ^ QUOTES) | zeros(w ^ BACKSLASHES) | (w.wrapping_sub(SPACES) & !w & HIGHS),
        |b| b == b'"' || b == b'\\' || b < 0x20,
    )
}

/// Whether `bytes` has a byte a canonical JSON string escapes: `"`, `\\`, a control character
/// (below 0x20) or DEL (0x7f). Eight bytes at a time, for builds without vector instructions.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(super) fn has_escape_in_words(bytes: &[u8]) -> bool {
    first_in_words(
        bytes,
        0,
        |w| {
            zeros(w ^ QUOTES)
                | zeros(w ^ BACKSLASHES)
                | zeros(w ^ DELETES)
                | (w.wrapping_sub(SPACES) & !w & HIGHS)
        },
        |b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f,
    )
    .is_some()
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
const DELETES: u64 = u64::from_le_bytes([0x7f; 8]);

/// A high bit set for each zero byte of `v` (and perhaps for bytes above the first one, which
/// the lowest set bit never reports).
#[inline]
fn zeros(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// The first position at or after `from` whose byte `is` accepts, eight bytes at a time:
/// `found` marks the high bit of each matching byte of a little-endian word (its lowest mark
/// must be exact), and `is` tests the last few bytes one by one.
#[inline(always)]
fn first_in_words(
    bytes: &[u8],
    mut from: usize,
    found: impl Fn(u64) -> u64,
    is: impl Fn(u8) -> bool,
) -> Option<usize> {
    while let Some(word) = bytes
        .get(from..from.wrapping_add(8))
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let marks = found(u64::from_le_bytes(word));
        if marks != 0 {
            return Some(from + (marks.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    let rest = bytes.get(from..)?;
    rest.iter().position(|&b| is(b)).map(|at| from + at)
}

/// The digits of 2^1024 - 2^970, the smallest magnitude a 64-bit float rounds to infinity
/// (halfway between the largest float and 2^1024); its decimal exponent is 308.
const FLOAT_OVERFLOW_DIGITS: &[u8] = b"179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

/// Whether `token`, a JSON number, is well-formed but too large for a 64-bit float (`1e400`, an
/// integer of 400 digits). JSON allows it; no runtime can hold it, so it is refused here with its
/// path rather than reported by the parser as malformed. Tokens that are not numbers are left to
/// the parser. Decided on the digits (no float parsing, which would grow the WebAssembly build).
fn number_out_of_range(token: &[u8]) -> bool {
    let could_be_huge = token.len() > 300 || token.iter().any(|b| matches!(b, b'e' | b'E'));
    if !could_be_huge {
        return false;
    }
    let rest = token.strip_prefix(b"-").unwrap_or(token);
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int, rest) = rest.split_at(int_len);
    let (frac, rest) = match rest.strip_prefix(b".") {
        Some(r) => r.split_at(r.iter().take_while(|b| b.is_ascii_digit()).count()),
        None => (&b""[..], rest),
    };
    let exp: i64 = match rest {
        [] => 0,
        [b'e' | b'E', tail @ ..] => {
            let (negative, digits) = match tail {
                [b'-', d @ ..] => (true, d),
                [b'+', d @ ..] => (false, d),
                d => (false, d),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return false;
            }
            let magnitude = digits.iter().fold(0i64, |acc, d| {
                acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
            });
            if negative { -magnitude } else { magnitude }
        }
        _ => return false,
    };
    if int.is_empty() {
        return false;
    }
    // The significant digits, and the decimal exponent of the first one.
    let digits: Vec<u8> = int.iter().chain(frac).copied().collect();
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return false;
    };
    let int_len = i64::try_from(int.len()).unwrap_or(i64::MAX);
    let first_at = i64::try_from(first).unwrap_or(i64::MAX);
    let e10 = int_len
        .saturating_sub(1)
        .saturating_sub(first_at)
        .saturating_add(exp);
    match e10.cmp(&308) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => {
            let significant = digits.get(first..).unwrap_or_default();
            let end = significant
                .iter()
                .rposition(|&d| d != b'0')
                .map_or(0, |i| i + 1);
            significant.get(..end).unwrap_or_default() >= FLOAT_OVERFLOW_DIGITS
        }
    }
}

fn count_item(
    stack: &mut [Frame],
    expect_item: &mut bool,
    limits: &Limits,
    bytes: &[u8],
) -> Result<(), Error> {
    if !*expect_item {
        return Ok(());
    }
    *expect_item = false;
    let over = match stack.last_mut() {
        Some(f) if f.is_array => {
            f.items += 1;
            f.items > limits.max_items
        }
        _ => false,
    };
    if over {
        return Err(limit_error(
            "an array's length",
            "max_items",
            limits.max_items,
            pointer(bytes, stack),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escape test a byte at a time, as the native build runs it.
    fn has_escape(bytes: &[u8]) -> bool {
        bytes
            .iter()
            .any(|&b| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)
    }

    #[test]
    fn the_word_at_a_time_escape_test_finds_each_escaped_byte_at_every_position() {
        for len in 0..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut text = vec![b'a'; len];
                    if let Some(slot) = text.get_mut(at) {
                        *slot = b;
                    }
                    assert_eq!(
                        has_escape_in_words(&text),
                        has_escape(&text),
                        "byte {b:#04x} at {at} of {len}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_word_at_a_time_escape_test_agrees_with_the_byte_test(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)
        ) {
            proptest::prop_assert_eq!(has_escape_in_words(&bytes), has_escape(&bytes));
        }
    }

    fn small() -> Limits {
        Limits {
            max_bytes: 1000,
            max_depth: 3,
            max_items: 3,
            max_string_bytes: 5,
        }
    }

    #[test]
    fn nesting_past_the_depth_limit_names_the_path() {
        let e = check_limits(br#"{"a":{"b":[[1]]}}"#, &small()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InputLimitExceeded);
        assert_eq!(e.path, "/a/b/0");
        assert_eq!(e.details.get("limit").unwrap(), "max_depth");
    }

    #[test]
    fn long_arrays_and_strings_are_refused() {
        assert_eq!(check_limits(b"[1,2,3,4]", &small()).unwrap_err().path, "/3");
        assert_eq!(
            check_limits(br#"{"k":"abcdef"}"#, &small())
                .unwrap_err()
                .path,
            "/k"
        );
        assert!(check_limits(br#"[1,"ab\"c",{"x":[]}]"#, &small()).is_ok());
    }

    #[test]
    fn ten_thousand_open_brackets_stop_at_the_limit() {
        let deep = "[".repeat(10_000);
        let e = check_limits(deep.as_bytes(), &Limits::DEFAULT).unwrap_err();
        assert_eq!(e.details.get("max").unwrap(), 64);
    }

    #[test]
    fn a_number_beyond_the_float_range_is_refused_at_its_path() {
        let e = check_limits(br#"{"a":[1,1e400]}"#, &Limits::DEFAULT).unwrap_err();
        assert_eq!(e.code, ErrorCode::InputLimitExceeded);
        assert_eq!(e.path, "/a/1");
        assert_eq!(e.details.get("limit").unwrap(), "number_range");
        let long = format!("{{\"n\":-1{}}}", "0".repeat(400));
        assert_eq!(
            check_limits(long.as_bytes(), &Limits::DEFAULT)
                .unwrap_err()
                .path,
            "/n"
        );
        // Tiny, zero-significand and ordinary numbers are within range; garbage is the parser's.
        for ok in ["1e-400", "0e99999", "1.5E300", "-0", "1e", "1ee400", "12"] {
            assert!(
                check_limits(ok.as_bytes(), &Limits::DEFAULT).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn the_word_search_finds_the_first_quote_or_backslash_at_every_offset() {
        let text: Vec<u8> = (0..40u8)
            .map(|i| match i % 13 {
                5 => b'"',
                11 => b'\\',
                _ => b'a' + i % 26,
            })
            .chain([0x80, 0xff, 0x21, 0x5d, 0x5b, 0x23, 0x5c])
            .collect();
        for from in 0..=text.len() + 2 {
            let expected = text
                .get(from..)
                .and_then(|rest| rest.iter().position(|&b| b == b'"' || b == b'\\'))
                .map(|at| from + at);
            assert_eq!(quote_or_backslash(&text, from), expected, "from {from}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        for s in ["", "\"", "\\", "}}}]]]", "{\"a\":", "[\"\\", "\u{0}"] {
            let _ = check_limits(s.as_bytes(), &small());
        }
    }
}
