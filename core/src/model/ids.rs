//! Identifiers and system names.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};

/// The longest id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// The identifier of a document or item: 1 to 128 bytes of text, no control characters.
///
/// Natively, ids of up to 24 bytes (nearly all) are held inline, not on the heap: a map keyed by
/// ids compares keys stored in its own nodes, and reading one allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id(IdText);

// The same order as `str`'s (the maps keyed by ids are also searched by `&str`), compared eight
// bytes at a time in line rather than by a call to `memcmp`: ids are short, and a map lookup
// compares a key some twenty times.
impl Ord for Id {
    fn cmp(&self, other: &Id) -> std::cmp::Ordering {
        compare_bytes(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl PartialOrd for Id {
    fn partial_cmp(&self, other: &Id) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Lexicographic byte order, as `<[u8]>::cmp` (which the WebAssembly module keeps, for its size).
#[cfg(target_arch = "wasm32")]
fn compare_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.cmp(b)
}

/// Lexicographic byte order, as `<[u8]>::cmp`.
#[cfg(not(target_arch = "wasm32"))]
fn compare_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let mut i = 0;
    while let (Some(p), Some(q)) = (a.get(i..i + 8), b.get(i..i + 8)) {
        let (p, q) = (word(p), word(q));
        if p != q {
            return p.cmp(&q);
        }
        i += 8;
    }
    let (x, y) = (
        a.get(i..).unwrap_or_default(),
        b.get(i..).unwrap_or_default(),
    );
    for (p, q) in x.iter().zip(y) {
        if p != q {
            return p.cmp(q);
        }
    }
    x.len().cmp(&y.len())
}

/// Eight bytes as a big-endian number: comparing the numbers compares the bytes in order.
#[cfg(not(target_arch = "wasm32"))]
fn word(bytes: &[u8]) -> u64 {
    u64::from_be_bytes(<[u8; 8]>::try_from(bytes).unwrap_or_default())
}

/// The text of an id. The WebAssembly module keeps a plain `String`: inline storage would cost
/// it about 5 KB gzip of its size budget for little gain at its scale.
#[cfg(not(target_arch = "wasm32"))]
type IdText = compact_str::CompactString;
#[cfg(target_arch = "wasm32")]
type IdText = String;

impl Id {
    /// Validates and wraps an id.
    pub fn new(s: impl Into<String>) -> Result<Id, Error> {
        let s = s.into();
        check(&s)?;
        Ok(Id(IdText::from(s)))
    }

    /// Validates and copies an id.
    #[inline]
    pub fn from_text(s: &str) -> Result<Id, Error> {
        check(s)?;
        Ok(Id(IdText::from(s)))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check(s: &str) -> Result<(), Error> {
    let shown = || {
        s.chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect::<String>()
    };
    if s.is_empty() {
        return Err(Error::new(
            ErrorCode::InputInvalidId,
            "an id must not be empty",
        ));
    }
    if s.len() > MAX_ID_BYTES {
        return Err(Error::new(
            ErrorCode::InputInvalidId,
            format!("id `{}…` is longer than {MAX_ID_BYTES} bytes", shown()),
        ));
    }
    // Printable ASCII (nearly every id) has no control character; anything else is decoded.
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) && s.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorCode::InputInvalidId,
            format!("id `{}` contains a control character", shown()),
        ));
    }
    Ok(())
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Id::from_text(v).map_err(crate::json::de_error)
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Id, E> {
                Id::new(v).map_err(crate::json::de_error)
            }
        }
        deserializer.deserialize_string(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Id {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Id".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_ID_BYTES,
            "pattern": "^[^\\u0000-\\u001f\\u007f]+$",
            "description": "An identifier: 1 to 128 bytes, no control characters."
        })
    }
}

/// Free text that names something, such as a time entry's role: any string, unchecked here
/// (the documents' validation checks it where it matters).
///
/// Natively, held inline when it has up to 24 bytes, as [`Id`] is: a million time entries read
/// a million roles, and each was an allocation of its own, and a cache miss when a run read it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Name(IdText);

impl Name {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(IdText::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(IdText::from(s))
    }
}

impl From<Name> for String {
    // `IdText` is `String` itself in the WebAssembly build.
    #[allow(clippy::useless_conversion)]
    fn from(n: Name) -> String {
        n.0.into()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Name;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Name, E> {
                Ok(Name::from(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Name, E> {
                Ok(Name::from(v))
            }
        }
        deserializer.deserialize_string(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Name {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
    fn inline_schema() -> bool {
        true
    }
}

/// A connected system: `crm`, `psa`, `erp`, `billing`, or any lowercase identifier a firm uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct System(IdText);

impl System {
    /// Validates a system name: `[a-z][a-z0-9_]{0,31}`.
    pub fn new(s: impl Into<String>) -> Result<System, Error> {
        let s = s.into();
        System::from_text(&s)
    }

    /// Validates and copies a system name.
    pub fn from_text(s: &str) -> Result<System, Error> {
        let mut chars = s.chars();
        let ok = s.len() <= 32
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(System(IdText::from(s)))
        } else {
            Err(Error::new(
                ErrorCode::InputInvalidSystem,
                format!(
                    "`{}` is not a system name (lowercase letters, digits and `_`, starting with a letter, at most 32)",
                    s.chars()
                        .filter(|c| !c.is_control())
                        .take(40)
                        .collect::<String>()
                ),
            ))
        }
    }

    /// The system name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for System {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for System {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for System {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = System;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a system name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<System, E> {
                System::from_text(v).map_err(crate::json::de_error)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for System {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "System".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]{0,31}$",
            "description": "A connected system: `crm`, `psa`, `erp`, `billing` or another lowercase identifier."
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_id_is_refused_for_a_control_character_exactly_when_char_calls_it_one() {
        for c in (0..=0x3000u32)
            .chain(0x10_fff0..=0x10_ffff)
            .filter_map(char::from_u32)
        {
            for text in [c.to_string(), format!("TE-{c}1"), format!("é{c}")] {
                assert_eq!(check(&text).is_err(), c.is_control(), "{:#x}", c as u32);
            }
        }
    }

    #[test]
    fn a_name_reads_and_writes_as_the_string_it_holds() {
        for text in [
            "Consultant",
            "",
            "Ré",
            "a\u{1}b",
            "Senior Engagement Manager, EMEA north",
        ] {
            let json = serde_json::to_string(text).unwrap();
            let name: Name = serde_json::from_str(&json).unwrap();
            assert_eq!(name, text);
            assert_eq!(name.as_str(), text);
            assert_eq!(serde_json::to_string(&name).unwrap(), json);
            assert_eq!(format!("{name:?}"), format!("{text:?}"));
            assert_eq!(name.to_string(), text);
            assert_eq!(String::from(name.clone()), text);
            assert_eq!(Name::from(text.to_owned()), name);
        }
    }

    proptest! {
        #[test]
        fn ids_order_as_their_text_does(
            a in "[ab\\-0-9é]{1,40}",
            b in "[ab\\-0-9é]{1,40}",
            shared in "[a-z0-9\\-]{0,20}",
        ) {
            for (x, y) in [(a.clone(), b.clone()), (format!("{shared}{a}"), format!("{shared}{b}")),
                           (shared.clone() + "x", format!("{shared}x{b}"))] {
                let (p, q) = (Id::new(x.as_str()).unwrap(), Id::new(y.as_str()).unwrap());
                prop_assert_eq!(p.cmp(&q), x.as_str().cmp(y.as_str()));
                prop_assert_eq!(p == q, x == y);
            }
        }
    }

    #[test]
    fn ids_with_control_characters_or_no_text_are_refused() {
        for s in ["", "a\u{0}b", "tab\there", &"x".repeat(129)] {
            assert_eq!(Id::new(s).unwrap_err().code, ErrorCode::InputInvalidId);
        }
        assert_eq!(Id::new("TE-1 ü").unwrap().as_str(), "TE-1 ü");
    }

    #[test]
    fn system_names_are_lowercase_identifiers() {
        for s in ["crm", "erp", "netsuite_eu", "psa2"] {
            assert!(System::new(s).is_ok());
        }
        for s in ["CRM", "", "2psa", "my-crm", "a b"] {
            assert_eq!(
                System::new(s).unwrap_err().code,
                ErrorCode::InputInvalidSystem
            );
        }
    }
}
