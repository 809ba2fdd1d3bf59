//! A hand-written reader for the bulk of a billing run's request: its time entries.
//!
//! A request of a million time entries is almost all time entries, and serde's generic reading of
//! them (field names matched through visitors, each entry's value grown into a list by doubling)
//! was most of a request's parse (see `benches/PERFORMANCE.md`). [`preview_request`] reads the `time_entries` list by hand when it is
//! written in the plain shape exports write (known keys, strings without escapes or control
//! characters, `true`/`false`, `null`), through the same validating constructors serde's readers
//! call (`Id::from_text`, `Date::parse`, `parse_decimal`, `Currency::from_code`), and the rest of
//! the request through serde. Anything else (an escape, an unknown or repeated key, a missing
//! field, a number, a value a constructor refuses) gives `None`, and the caller reads the whole
//! request through serde again, so that an error has the same code, message and path as it
//! always had. Only valid input is read here, and it gives the same value serde gives.
//!
//! An export writes every entry's keys in one order, so the reader remembers the order of the
//! last entry's keys and first compares the key it expects in place, sixteen bytes at once;
//! only a key it does not expect is scanned as a string and looked up.
//!
//! The WebAssembly build reads the rest of the request through its one serde parser per type
//! (from bytes), so that this reader adds only itself to the module.

use super::limits::{quote_backslash_or_control, quote_or_backslash};
use super::{Limits, check_limits};
use crate::billing::PreviewInvoiceRequest;
use crate::model::{
    Currency, Date, Dec, Id, Money, Name, TimeEntry, WorkStatus, decimal::parse_decimal,
};

/// A position in JSON text that has passed the limits scan and is valid UTF-8.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `b` after whitespace.
    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    /// Consumes `word` (`true`, `false`, `null`) after whitespace.
    fn word(&mut self, word: &str) -> Option<()> {
        self.skip_ws();
        let end = self.pos.checked_add(word.len())?;
        (self.bytes.get(self.pos..end)? == word.as_bytes()).then(|| self.pos = end)
    }

    /// A string with no escape and no control character, without its quotes.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        let end = quote_backslash_or_control(self.bytes, start)?;
        if self.bytes.get(end) != Some(&b'"') || end - start > self.limits.max_string_bytes {
            return None;
        }
        self.pos = end + 1;
        self.text.get(start..end)
    }

    /// Consumes `,` (true: more follow) or `close` (false: the end).
    fn next_or_end(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Some(true)
            }
            b if b == close => {
                self.pos += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// Reads an object's members, each by `member` after its key and colon: `None` when the
    /// object is empty, has more members than the limit, has a key not among `keys`, or
    /// `member` refuses one. `member` gets the key's position in `keys`.
    ///
    /// Exports write every object's keys in one order, so `follows` remembers which key came
    /// after which (`follows[keys.len()]`: the first), and the key expected is compared in
    /// place, quotes included, before a key is scanned as a string and looked up. Either way
    /// the key read is the same.
    fn object(
        &mut self,
        keys: &[Key],
        follows: &mut [usize],
        mut member: impl FnMut(&mut Self, usize) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        let mut members = 0;
        let mut last = keys.len();
        loop {
            members += 1;
            if members > self.limits.max_items {
                return None;
            }
            self.skip_ws();
            let expected = follows.get(last).copied().unwrap_or(0);
            let at = match keys.get(expected) {
                Some(key) if self.quoted(key) => expected,
                _ => {
                    let text = self.string()?;
                    keys.iter().position(|k| k.text == text)?
                }
            };
            if let Some(slot) = follows.get_mut(last) {
                *slot = at;
            }
            last = at;
            self.eat(b':')?;
            member(self, at)?;
            if !self.next_or_end(b'}')? {
                return Some(());
            }
        }
    }

    /// Consumes `"key"` when the text has it here (and `string` would read it: within the
    /// string limit): sixteen bytes compared at once, under a mask.
    fn quoted(&mut self, key: &Key) -> bool {
        let Some(word) = self
            .bytes
            .get(self.pos..self.pos.saturating_add(16))
            .and_then(|w| <[u8; 16]>::try_from(w).ok())
        else {
            return false;
        };
        let found = u128::from_le_bytes(word) & key.mask == key.bits
            && key.text.len() <= self.limits.max_string_bytes;
        if found {
            self.pos += key.text.len() + 2;
        }
        found
    }

    /// Skips one value without checking it (serde reads it afterwards).
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            self.skip_ws();
            match *self.bytes.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    loop {
                        let at = quote_or_backslash(self.bytes, self.pos)?;
                        if self.bytes.get(at) == Some(&b'"') {
                            self.pos = at + 1;
                            break;
                        }
                        self.pos = at + 2;
                    }
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                    continue;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.pos += 1;
                }
                b',' | b':' if depth > 0 => {
                    self.pos += 1;
                    continue;
                }
                _ => {
                    // A number or a literal: up to the next delimiter.
                    while !matches!(
                        self.bytes.get(self.pos),
                        None | Some(b',' | b'}' | b']' | b':' | b' ' | b'\n' | b'\r' | b'\t')
                    ) {
                        self.pos += 1;
                    }
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
    }
}

/// Sets `slot` once: a repeated key gives `None`.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

fn id(c: &mut Cursor<'_>) -> Option<Id> {
    Id::from_text(c.string()?).ok()
}

/// A money object's keys, in the order [`money`] matches them.
const MONEY_KEYS: [Key; 2] = [Key::new("amount"), Key::new("currency")];

fn money(c: &mut Cursor<'_>) -> Option<Money> {
    let (mut amount, mut currency) = (None, None);
    let mut follows = [1, 2, 0];
    c.object(&MONEY_KEYS, &mut follows, |c, key| match key {
        0 => once(&mut amount, parse_decimal(c.string()?).ok()?),
        1 => once(&mut currency, Currency::from_code(c.string()?).ok()?),
        _ => None,
    })?;
    Some(Money::new(amount?, currency?))
}

/// A key as [`Cursor::object`] looks for it: its text and, as a little-endian word of
/// sixteen bytes, its text in quotes and the mask of those bytes.
struct Key {
    text: &'static str,
    bits: u128,
    mask: u128,
}

impl Key {
    /// `text` must have at most 14 bytes, and neither quotes nor escapes.
    const fn new(text: &'static str) -> Key {
        let n = text.len();
        let mut bits = b'"' as u128;
        let mut rest = text.as_bytes();
        let mut shift = 8;
        while let [first, tail @ ..] = rest {
            bits |= (*first as u128) << shift;
            shift += 8;
            rest = tail;
        }
        bits |= (b'"' as u128) << shift;
        let mask = if n + 2 >= 16 {
            u128::MAX
        } else {
            (1u128 << (8 * (n + 2))) - 1
        };
        Key { text, bits, mask }
    }
}

/// A time entry's keys, in the order [`time_entry`] matches them.
const TIME_KEYS: [Key; 10] = [
    Key::new("id"),
    Key::new("project_id"),
    Key::new("task_id"),
    Key::new("resource_id"),
    Key::new("role"),
    Key::new("work_date"),
    Key::new("hours"),
    Key::new("billable"),
    Key::new("status"),
    Key::new("rate_override"),
];

/// The key after each key of [`TIME_KEYS`] in the last entry (and, last, the first key).
type Follows = [usize; TIME_KEYS.len() + 1];

fn time_entry(c: &mut Cursor<'_>, follows: &mut Follows) -> Option<TimeEntry> {
    let (mut id_, mut project_id, mut task_id, mut resource_id) = (None, None, None, None);
    let (mut role, mut work_date, mut hours, mut billable) = (None, None, None, None);
    let (mut status, mut rate_override) = (None, None);
    c.object(&TIME_KEYS, follows, |c, key| match key {
        0 => once(&mut id_, id(c)?),
        1 => once(&mut project_id, id(c)?),
        2 => once(&mut task_id, id(c)?),
        3 => once(&mut resource_id, id(c)?),
        4 => once(&mut role, Name::from(c.string()?)),
        5 => once(&mut work_date, Date::parse(c.string()?).ok()?),
        6 => once(&mut hours, Dec(parse_decimal(c.string()?).ok()?)),
        7 => {
            let value = if c.peek()? == b't' {
                c.word("true")?;
                true
            } else {
                c.word("false")?;
                false
            };
            once(&mut billable, value)
        }
        8 => {
            let name = c.string()?;
            let value = WorkStatus::ALL.iter().find(|s| s.as_str() == name)?;
            once(&mut status, *value)
        }
        9 => {
            let value = if c.peek()? == b'n' {
                c.word("null")?;
                None
            } else {
                Some(money(c)?)
            };
            once(&mut rate_override, value)
        }
        _ => None,
    })?;
    Some(TimeEntry {
        id: id_?,
        project_id: project_id?,
        task_id: task_id?,
        resource_id: resource_id?,
        role: role?,
        work_date: work_date?,
        hours: hours?,
        billable: billable.unwrap_or(true),
        status: status?,
        rate_override: rate_override.flatten(),
    })
}

/// The bytes of the shortest time entry in the plain shape, with the comma after it:
/// `{"id":"a","project_id":"a","task_id":"a","resource_id":"a","role":"","work_date":"2026-01-01","hours":"1","status":"draft"},`.
const SHORTEST_ENTRY: usize = 124;

/// A list of time entries, or `None` if any is not in the plain shape.
fn time_entries(c: &mut Cursor<'_>) -> Option<Vec<TimeEntry>> {
    c.eat(b'[')?;
    // At most one entry per 124 bytes of what is left (the shortest plain entry, its comma
    // included, has 124), at most the item limit: capacity reserved and not touched costs
    // address space only, where a list that outgrows a smaller estimate is copied as it grows.
    // Where even the address space is refused, the list grows as it goes.
    let mut out = Vec::new();
    let estimate = (c.bytes.len().saturating_sub(c.pos) / SHORTEST_ENTRY).min(c.limits.max_items);
    if out.try_reserve(estimate).is_err() {
        out = Vec::new();
    }
    if c.peek()? == b']' {
        c.pos += 1;
        return Some(out);
    }
    let mut follows: Follows = std::array::from_fn(|i| i + 1);
    if let Some(first) = follows.last_mut() {
        *first = 0;
    }
    loop {
        if out.len() >= c.limits.max_items {
            return None;
        }
        out.push(time_entry(c, &mut follows)?);
        if !c.next_or_end(b']')? {
            return Some(out);
        }
    }
}

/// A billing run's request whose time entries are read by hand, or `None` when they are not in
/// the plain shape (or are absent, or the request has an error): the caller then checks and
/// reads all of it as it reads any document.
///
/// The limits are checked here, in the same pass: each string's length, each list's and object's
/// count, and the depth (the entries' objects are at most four deep); the rest of the request
/// goes through [`check_limits`]. When this gives a request, scanning the whole input for limits
/// would have passed.
pub(crate) fn preview_request(text: &str, limits: &Limits) -> Option<PreviewInvoiceRequest> {
    if text.len() > limits.max_bytes || limits.max_depth < 4 {
        return None;
    }
    let mut c = Cursor {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        limits,
    };
    c.eat(b'{')?;
    let mut found: Option<(usize, usize, Vec<TimeEntry>)> = None;
    loop {
        let key = c.string()?;
        c.eat(b':')?;
        c.skip_ws();
        let start = c.pos;
        if key == "time_entries" {
            if found.is_some() {
                return None;
            }
            let entries = time_entries(&mut c)?;
            found = Some((start, c.pos, entries));
        } else {
            c.skip_value()?;
        }
        if !c.next_or_end(b'}')? {
            break;
        }
    }
    let (start, end, entries) = found?;
    let mut rest = String::with_capacity(text.len() - (end - start) + 2);
    rest.push_str(text.get(..start)?);
    rest.push_str("[]");
    rest.push_str(text.get(end..)?);
    check_limits(rest.as_bytes(), limits).ok()?;
    // The WebAssembly build reads the rest as bytes, with the one parser it keeps per type.
    #[cfg(not(target_arch = "wasm32"))]
    let de = serde_json::Deserializer::from_str(&rest);
    #[cfg(target_arch = "wasm32")]
    let de = serde_json::Deserializer::from_slice(rest.as_bytes());
    let mut request: PreviewInvoiceRequest = super::read(de, rest.as_bytes()).ok()?;
    request.time_entries = entries;
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::{Cursor, SHORTEST_ENTRY, preview_request, time_entries};
    use crate::billing::PreviewInvoiceRequest;
    use crate::json::Limits;
    use proptest::prelude::*;

    const CASE: &str =
        include_str!("../../../spec/cases/billing/preview_invoice/001-approved-entry-billed.json");

    /// The case's request with `time_entries` written as `raw`, first.
    fn request_with(raw: &str) -> String {
        let case: serde_json::Value = serde_json::from_str(CASE).unwrap();
        let mut input = case["input"].as_object().unwrap().clone();
        input.remove("time_entries");
        let rest = serde_json::to_string(&input).unwrap();
        format!("{{ \"time_entries\" :{raw},{}", &rest[1..])
    }

    fn by_serde(text: &str) -> Result<PreviewInvoiceRequest, crate::Error> {
        super::super::read(serde_json::Deserializer::from_str(text), text.as_bytes())
    }

    /// Whatever the hand reader reads, serde reads the same; whatever serde refuses, it leaves.
    fn agrees(text: &str) -> Result<(), TestCaseError> {
        match (preview_request(text, &Limits::DEFAULT), by_serde(text)) {
            (Some(fast), Ok(slow)) => prop_assert_eq!(fast, slow),
            (Some(_), Err(e)) => prop_assert!(false, "read by hand, refused by serde: {e:?}"),
            (None, _) => {}
        }
        Ok(())
    }

    #[test]
    fn plain_entries_are_read_by_hand_as_serde_reads_them() {
        let raw = r#"[{"id":"TE-1","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Consultant","work_date":"2026-03-02","hours":"8","status":"approved"},
            { "status" : "submitted" , "hours":"1.25","work_date":"2026-03-03","role":"Ré","resource_id":"R-2","task_id":"T-1","project_id":"P-1","id":"TE-2","billable":false,"rate_override":{"currency":"USD","amount":"99.50"}},
            {"id":"TE-3","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Consultant","work_date":"2026-03-04","hours":"2","status":"approved","rate_override":null,"billable":true}]"#;
        let text = request_with(raw);
        let fast =
            preview_request(&text, &Limits::DEFAULT).expect("plain entries are read by hand");
        assert_eq!(fast.time_entries.len(), 3);
        assert_eq!(fast, by_serde(&text).unwrap());
        let fast = preview_request(&request_with("[]"), &Limits::DEFAULT).expect("an empty list");
        assert!(fast.time_entries.is_empty());
    }

    #[test]
    fn each_time_key_is_found_in_place_and_no_longer_or_shorter_key_is() {
        for key in &super::TIME_KEYS {
            for (text, found) in [
                (format!("\"{}\":\"TE-1\",\"x\":1}}", key.text), true),
                (format!("\"{}x\":\"TE-1\",\"x\":1}}", key.text), false),
                (format!("\"{} \":\"TE-1\",\"x\":1}}", key.text), false),
                (format!("\"{}\":\"TE-1\",\"x\":1}}", &key.text[1..]), false),
                (format!("\"{}\"", key.text), false),
            ] {
                let mut c = super::Cursor {
                    text: &text,
                    bytes: text.as_bytes(),
                    pos: 0,
                    limits: &Limits::DEFAULT,
                };
                assert_eq!(c.quoted(key), found, "{text}");
                assert_eq!(c.pos, if found { key.text.len() + 2 } else { 0 });
            }
        }
    }

    #[test]
    fn entries_whose_keys_change_order_are_read_as_serde_reads_them() {
        let a = r#"{"id":"TE-1","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Consultant","work_date":"2026-03-02","hours":"8","status":"approved"}"#;
        let b = r#"{"hours":"2","id":"TE-2","project_id":"P-1","resource_id":"R-1","role":"Consultant","status":"approved","task_id":"T-1","work_date":"2026-03-03"}"#;
        let c = r#"{ "id" : "TE-3" ,"project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Consultant","work_date":"2026-03-04","hours":"1","status":"submitted","billable":false}"#;
        let again = |e: &str, id: &str| e.replacen("TE-", &format!("TE-{id}"), 1);
        let list = format!("[{a},{b},{},{c},{}]", again(a, "9"), again(b, "9"));
        let text = request_with(&list);
        let fast =
            preview_request(&text, &Limits::DEFAULT).expect("plain entries are read by hand");
        assert_eq!(fast.time_entries.len(), 5);
        assert_eq!(fast, by_serde(&text).unwrap());
        // A key that starts as the expected one does, and goes on, is not the expected key.
        for (from, to) in [
            ("\"id\"", "\"idx\""),
            ("\"id\"", "\"id \""),
            ("\"hours\"", "\"hour\""),
        ] {
            let text = request_with(&format!("[{a},{}]", a.replacen(from, to, 1)));
            assert!(preview_request(&text, &Limits::DEFAULT).is_none(), "{to}");
        }
    }

    #[test]
    fn escapes_unknown_and_repeated_keys_and_numbers_are_left_to_serde() {
        let base = r#""project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Consultant","work_date":"2026-03-02","status":"approved""#;
        for entry in [
            format!(r#"{{"id":"TE-\u0031",{base},"hours":"8"}}"#),
            format!(r#"{{"id":"TE-1",{base},"hours":8}}"#),
            format!(r#"{{"id":"TE-1",{base},"hours":"8","note":"x"}}"#),
            format!(r#"{{"id":"TE-1",{base},"hours":"8","hours":"9"}}"#),
            format!(r#"{{"id":"TE-1",{base},"hours":"8","billable":null}}"#),
            format!(r#"{{"id":"TE-1",{base}}}"#),
            format!(r#"{{"id":"",{base},"hours":"8"}}"#),
            format!("{{\"id\":\"TE\t1\",{base},\"hours\":\"8\"}}"),
        ] {
            let text = request_with(&format!("[{entry}]"));
            assert!(
                preview_request(&text, &Limits::DEFAULT).is_none(),
                "{entry}"
            );
        }
        // Keys written with escapes, or `time_entries` twice.
        let text = request_with("[]").replacen("\"period\"", "\"peri\\u006fd\"", 1);
        assert!(preview_request(&text, &Limits::DEFAULT).is_none());
        let text = request_with("[]").replacen("\"period\"", "\"time_entries\":[],\"period\"", 1);
        assert!(preview_request(&text, &Limits::DEFAULT).is_none());
    }

    #[test]
    fn limits_are_met_exactly_as_a_scan_of_the_whole_request_meets_them() {
        let raw = r#"[{"id":"TE-1","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Consultant","work_date":"2026-03-02","hours":"8","status":"approved","rate_override":{"amount":"150.00","currency":"USD"}},
            {"id":"TE-2","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Consultant","work_date":"2026-03-03","hours":"1.25","status":"approved"}]"#;
        let text = request_with(raw);
        let mut limits = Vec::new();
        for n in 1..14 {
            limits.push(Limits {
                max_items: n,
                ..Limits::DEFAULT
            });
            limits.push(Limits {
                max_string_bytes: n,
                ..Limits::DEFAULT
            });
            limits.push(Limits {
                max_depth: n,
                ..Limits::DEFAULT
            });
            limits.push(Limits {
                max_bytes: text.len() + 1 - n,
                ..Limits::DEFAULT
            });
        }
        let mut refused = 0;
        for l in &limits {
            let scanned =
                crate::json::check_limits(text.as_bytes(), l).and_then(|()| by_serde(&text));
            let read = crate::json::preview_request_from_slice(text.as_bytes(), l);
            match (read, scanned) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => {
                    refused += 1;
                    assert_eq!((a.code, a.path, a.message), (b.code, b.path, b.message));
                }
                (a, b) => panic!("{l:?}: {a:?} against {b:?}"),
            }
        }
        assert!(refused > 20, "{refused}");
    }

    #[test]
    fn a_request_in_canonical_form_is_read_by_hand() {
        let text =
            crate::json::to_canonical_string(&by_serde(&request_with("[]")).unwrap()).unwrap();
        assert!(preview_request(&text, &Limits::DEFAULT).is_some());
    }

    #[test]
    fn a_list_of_the_shortest_plain_entries_is_read_without_growing() {
        let entry = r#"{"id":"a","project_id":"a","task_id":"a","resource_id":"a","role":"","work_date":"2026-01-01","hours":"1","status":"draft"}"#;
        assert_eq!(entry.len() + 1, SHORTEST_ENTRY);
        let text = format!("[{}]", vec![entry; 1000].join(","));
        let mut c = Cursor {
            text: &text,
            bytes: text.as_bytes(),
            pos: 0,
            limits: &Limits::DEFAULT,
        };
        let entries = time_entries(&mut c).unwrap();
        assert_eq!(entries.len(), 1000);
        // Reserved once, for exactly what the text can hold: never grown by doubling.
        assert_eq!(entries.capacity(), 1000);
    }

    fn value(key: &'static str) -> BoxedStrategy<String> {
        // Mostly the first (valid) value, so that many requests are read by hand.
        let pick = |v: &[&str]| {
            let all: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
            let first = all.first().cloned().unwrap_or_default();
            prop_oneof![12 => Just(first), 1 => prop::sample::select(all)]
        };
        match key {
            "id" => pick(&[r#""TE-1""#, r#""TE-2""#, r#""""#, r#""T\u0045""#, "1"]).boxed(),
            "project_id" => pick(&[r#""P-1""#, r#""P-2""#, "null"]).boxed(),
            "task_id" | "resource_id" => pick(&[r#""T-1""#, r#""R-1""#, r#""x y""#]).boxed(),
            "role" => pick(&[
                r#""Consultant""#,
                r#""Ré""#,
                r#""Caf\u00e9""#,
                "\"a\tb\"",
                r#""""#,
            ])
            .boxed(),
            "work_date" => pick(&[r#""2026-03-02""#, r#""2026-02-30""#, r#""2026-3-2""#]).boxed(),
            "hours" => pick(&[
                r#""8""#,
                r#""1.25""#,
                r#""-1""#,
                r#""1e3""#,
                "8",
                r#""0.000000000000000000000000001""#,
            ])
            .boxed(),
            "billable" => pick(&["true", "false", "null", r#""true""#]).boxed(),
            "status" => pick(&[
                r#""approved""#,
                r#""submitted""#,
                r#""billed""#,
                r#""Approved""#,
            ])
            .boxed(),
            "rate_override" => pick(&[
                "null",
                r#"{"amount":"150.00","currency":"USD"}"#,
                r#"{ "currency" : "EUR" , "amount" : "1" }"#,
                r#"{"amount":"1"}"#,
                r#"{"amount":"1","currency":"USD","x":1}"#,
                r#"{"amount":"1","currency":"XXY"}"#,
                r#"{"amount":"1","amount":"2","currency":"USD"}"#,
                "[]",
            ])
            .boxed(),
            _ => pick(&[r#""x""#, "1", "{}"]).boxed(),
        }
    }

    fn entry() -> impl Strategy<Value = String> {
        const KEYS: [&str; 11] = [
            "id",
            "project_id",
            "task_id",
            "resource_id",
            "role",
            "work_date",
            "hours",
            "billable",
            "status",
            "rate_override",
            "note",
        ];
        let fields: Vec<_> = KEYS
            .iter()
            .map(|&k| {
                (
                    prop::bool::weighted(if k == "note" { 0.05 } else { 0.93 }),
                    value(k),
                    Just(k),
                )
            })
            .collect();
        (
            fields,
            any::<prop::sample::Index>(),
            prop::sample::select(vec!["", " ", "\n  "]),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(fields, shift, ws, repeat)| {
                let mut parts: Vec<String> = fields
                    .into_iter()
                    .filter(|(present, _, _)| *present)
                    .map(|(_, v, k)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}"))
                    .collect();
                if repeat && let Some(first) = parts.first().cloned() {
                    parts.push(first);
                }
                if !parts.is_empty() {
                    let at = shift.index(parts.len());
                    parts.rotate_left(at);
                }
                format!("{{{}}}", parts.join(","))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_hand_reader_agrees_with_serde(entries in prop::collection::vec(entry(), 0..4)) {
            agrees(&request_with(&format!("[{}]", entries.join(","))))?;
        }
    }

    #[test]
    fn the_property_reads_many_requests_by_hand() {
        // The property above is only as strong as the share of requests it reads by hand.
        let read = std::cell::Cell::new(0);
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        runner
            .run(&prop::collection::vec(entry(), 1..3), |entries| {
                let text = request_with(&format!("[{}]", entries.join(",")));
                read.set(
                    read.get() + usize::from(preview_request(&text, &Limits::DEFAULT).is_some()),
                );
                agrees(&text)
            })
            .unwrap();
        let read = read.get();
        assert!(read >= 40, "only {read} of 256 requests were read by hand");
    }
}
