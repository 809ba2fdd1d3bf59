//! A JSON value kept as its canonical text.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::canonical::{write_canonical, write_string};

/// A JSON value held as its canonical text (see [`super::to_canonical_string`]), shared.
///
/// The engine's audit keeps what each event changed this way: an entry is hashed, and a snapshot
/// written, by copying text, and a recorded document costs one string rather than a tree of
/// values. Two values are equal exactly when their canonical texts are. It serialises as the
/// value it holds and is read from any JSON value, which it writes canonically.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CanonicalJson(Arc<str>);

impl CanonicalJson {
    /// `null` (one shared text).
    pub fn null() -> CanonicalJson {
        static NULL: OnceLock<CanonicalJson> = OnceLock::new();
        NULL.get_or_init(|| CanonicalJson(Arc::from("null")))
            .clone()
    }

    /// The canonical text of `value`.
    pub fn from_value(value: &Value) -> CanonicalJson {
        let mut text = String::new();
        write_canonical(value, &mut text);
        CanonicalJson(Arc::from(text))
    }

    /// A JSON string.
    pub fn string(s: &str) -> CanonicalJson {
        let mut text = String::with_capacity(s.len().saturating_add(2));
        write_string(s, &mut text);
        CanonicalJson(Arc::from(text))
    }

    /// Wraps text the caller wrote canonically (the crate's own writers only).
    pub(crate) fn from_canonical_text(text: &str) -> CanonicalJson {
        CanonicalJson(Arc::from(text))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        &*self.0 == "null"
    }

    /// The value, read back from its text.
    pub fn to_value(&self) -> Value {
        // The text was written from a value (or by a canonical writer), so it reads back.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

impl Default for CanonicalJson {
    fn default() -> Self {
        CanonicalJson::null()
    }
}

impl From<Value> for CanonicalJson {
    fn from(value: Value) -> Self {
        CanonicalJson::from_value(&value)
    }
}

impl From<&Value> for CanonicalJson {
    fn from(value: &Value) -> Self {
        CanonicalJson::from_value(value)
    }
}

impl PartialEq<Value> for CanonicalJson {
    fn eq(&self, other: &Value) -> bool {
        *self == CanonicalJson::from_value(other)
    }
}

impl fmt::Debug for CanonicalJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for CanonicalJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for CanonicalJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Any serializer (JSON text, a Python object, a JS value) gets the value itself.
        let value: Value = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        value.serialize(s)
    }
}

impl<'de> Deserialize<'de> for CanonicalJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(|v| CanonicalJson::from_value(&v))
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for CanonicalJson {
    fn inline_schema() -> bool {
        <Value as schemars::JsonSchema>::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <Value as schemars::JsonSchema>::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Value as schemars::JsonSchema>::json_schema(generator)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_value_is_held_as_its_canonical_text_and_reads_back() {
        let v = json!({"b": [1, "x\u{7f}"], "a": null});
        let c = CanonicalJson::from_value(&v);
        assert_eq!(c.as_str(), r#"{"a":null,"b":[1,"x\u007f"]}"#);
        assert_eq!(c.to_value(), v);
        assert_eq!(c, v);
    }

    #[test]
    fn it_serialises_as_its_value_and_reads_any_spacing_back_canonically() {
        let c: CanonicalJson = serde_json::from_str(r#"{ "z" : 1 , "a" : "q" }"#).unwrap();
        assert_eq!(c.as_str(), r#"{"a":"q","z":1}"#);
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"a":"q","z":1}"#);
        assert_eq!(
            CanonicalJson::string("say \"hi\"").as_str(),
            r#""say \"hi\"""#
        );
        assert!(CanonicalJson::default().is_null());
    }
}
