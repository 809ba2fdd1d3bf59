//! `reconcile`: the same entities across several systems, compared field by field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::check_update::compile;
use crate::error::Error;
use crate::json::Limits;
use crate::model::{OwnershipPolicy, SchemaVersion, System};
use crate::ownership;
use crate::reconcile::{self, Correction, CrossRef, Finding, Summary, SystemRecords};

/// The records to reconcile.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReconcileRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The ownership policy.
    pub policy: OwnershipPolicy,
    /// The entity kind.
    pub entity: String,
    /// One stage to judge every entity at; when absent each entity's stage is read from its
    /// records.
    #[serde(default)]
    pub stage: Option<String>,
    /// Each system's records: objects with a text `id`, the system's own id for the record.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "BTreeMap<String, Vec<BTreeMap<String, serde_json::Value>>>")
    )]
    pub records: BTreeMap<System, Vec<Map<String, Value>>>,
    /// Entities known by other ids in some systems.
    #[serde(default)]
    pub cross_refs: Vec<CrossRef>,
}

/// The reconciliation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReconcileResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The entity kind.
    pub entity: String,
    /// The systems compared, sorted.
    pub systems: Vec<System>,
    /// Counts.
    pub summary: Summary,
    /// Entities with something wrong, by id.
    pub findings: Vec<Finding>,
    /// The changes that make the systems agree, by system, id and field.
    pub corrections: Vec<Correction>,
}

/// Reconciles the records.
pub fn reconcile(req: &ReconcileRequest, _: &Limits) -> Result<ReconcileResponse, Error> {
    let policy = compile(&req.policy)?;
    let kind = ownership::entity_arg(&req.entity, "/entity")?;
    let stage = ownership::stage_arg(kind, req.stage.as_deref(), "/stage")?;
    let systems: Vec<SystemRecords<'_>> = req
        .records
        .iter()
        .map(|(system, records)| SystemRecords { system, records })
        .collect();
    let r = reconcile::reconcile(&policy, kind, stage, &systems, &req.cross_refs)?;
    Ok(ReconcileResponse {
        schema_version: SchemaVersion,
        entity: req.entity.clone(),
        systems: r.systems,
        summary: r.summary,
        findings: r.findings,
        corrections: r.corrections,
    })
}
