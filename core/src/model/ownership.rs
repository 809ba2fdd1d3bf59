//! The ownership policy document: which system owns which field of which entity at which stage,
//! which fields compare case-insensitively, and which currencies each legal entity may bill in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Currency, DocumentKind, Id, SchemaVersion, System};

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

/// What the opportunity-to-project activation gate needs from the policy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivationPolicy {
    /// For each of the firm's legal entities, the currencies it may contract in.
    #[serde(default)]
    pub currencies_by_legal_entity: BTreeMap<Id, Vec<Currency>>,
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
    /// Per entity kind, text fields whose values compare without regard to letter case in
    /// reconciliation (e.g. `{"account": ["name"]}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub case_insensitive_fields: BTreeMap<String, Vec<String>>,
    /// The activation gate's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<ActivationPolicy>,
}
