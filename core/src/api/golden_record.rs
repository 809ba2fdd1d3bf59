//! `golden_record`: one entity as several systems hold it, each field taken from its owner.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::check_update::compile;
use crate::error::Error;
use crate::json::Limits;
use crate::model::{OwnershipPolicy, SchemaVersion, System};
use crate::ownership::{self, entity_kinds};

/// The records to merge.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GoldenRecordRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The ownership policy.
    pub policy: OwnershipPolicy,
    /// The entity kind.
    pub entity: String,
    /// The entity's stage; when absent it is read from the records.
    #[serde(default)]
    pub stage: Option<String>,
    /// The entity as each system holds it.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "BTreeMap<String, BTreeMap<String, serde_json::Value>>")
    )]
    pub records: BTreeMap<System, Map<String, Value>>,
}

/// A field some system holds that could not be taken from its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UnresolvedField {
    /// The field.
    pub field: String,
    /// Its owner (absent when no rule gives it one owner at the stage); the owner does not
    /// hold the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<System>,
}

/// The golden record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GoldenRecordResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The stage the owners were taken at (absent when the records could not settle it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Each field's value, from its owner.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "BTreeMap<String, serde_json::Value>")
    )]
    pub record: Map<String, Value>,
    /// The system each field came from.
    pub provenance: BTreeMap<String, System>,
    /// Fields no owner's value could fill.
    pub unresolved: Vec<UnresolvedField>,
    /// Record fields the entity kind does not define (left out).
    pub ignored_fields: Vec<String>,
}

/// Builds the golden record.
pub fn golden_record(req: &GoldenRecordRequest, _: &Limits) -> Result<GoldenRecordResponse, Error> {
    let policy = compile(&req.policy)?;
    let kind = ownership::entity_arg(&req.entity, "/entity")?;
    let stage = ownership::stage_arg(kind, req.stage.as_deref(), "/stage")?;
    let records: Vec<(System, &Map<String, Value>)> =
        req.records.iter().map(|(s, r)| (s.clone(), r)).collect();
    let g = ownership::golden_record(&policy, kind, stage, &records)?;
    let mut record = Map::new();
    let mut provenance = BTreeMap::new();
    for (field, (value, system)) in g.fields {
        record.insert(field.to_owned(), value);
        provenance.insert(field.to_owned(), system);
    }
    Ok(GoldenRecordResponse {
        schema_version: SchemaVersion,
        stage: g
            .stage
            .and_then(|s| entity_kinds().get(kind).and_then(|k| k.stages.get(s)))
            .map(|s| (*s).to_owned()),
        record,
        provenance,
        unresolved: g
            .unresolved
            .into_iter()
            .map(|(field, owner)| UnresolvedField {
                field: field.to_owned(),
                owner,
            })
            .collect(),
        ignored_fields: g.ignored.into_iter().collect(),
    })
}
