//! The ownership policy document: which system owns which field of which entity at which stage.

use serde::{Deserialize, Serialize};

use super::{DocumentKind, SchemaVersion, System};

/// One rule: `owner` owns `fields` of `entity` while it is in one of `stages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OwnershipRule {
    /// The entity kind (`account`, `contract`, `time_entry`, ...).
    pub entity: String,
    /// Field names, or `*` for every field not named by another rule.
    pub fields: Vec<String>,
    /// Lifecycle stages the rule applies in, or `*` for all.
    pub stages: Vec<String>,
    /// The owning system.
    pub owner: System,
}

/// Which system owns which field, per entity kind and lifecycle stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OwnershipPolicy {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"ownership_policy"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// The rules.
    pub rules: Vec<OwnershipRule>,
}
