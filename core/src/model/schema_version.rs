//! The `schema_version` every top-level document carries.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};

/// The only schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A document's `schema_version`: always `1` in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(SCHEMA_VERSION)
    }
}

fn unsupported<E: serde::de::Error>(shown: &str) -> E {
    crate::json::de_error(
        Error::new(
            ErrorCode::SchemaVersionUnsupported,
            format!(
                "schema_version {shown} is not supported; this build reads version {SCHEMA_VERSION}"
            ),
        )
        .with("supported", SCHEMA_VERSION),
    )
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SchemaVersion;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the integer 1")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SchemaVersion, E> {
                if v == u64::from(SCHEMA_VERSION) {
                    Ok(SchemaVersion)
                } else {
                    Err(unsupported(&v.to_string()))
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SchemaVersion, E> {
                Err(unsupported(&v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SchemaVersion, E> {
                Err(unsupported(&v.to_string()))
            }
        }
        deserializer.deserialize_u64(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for SchemaVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SchemaVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "const": SCHEMA_VERSION, "description": "The document schema version." })
    }
}
