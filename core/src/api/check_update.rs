//! `check_update`: may this inbound change be applied? Field by field, against the ownership policy.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode};
use crate::json::Limits;
use crate::model::{OwnershipPolicy, SchemaVersion, System};
use crate::ownership::{self, CompiledPolicy, Decision, entity_kinds};

/// How a rejected field affects the rest of the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    /// Apply the fields the source owns; refuse the others (default).
    #[default]
    Lenient,
    /// Refuse the whole update if any field is refused.
    Strict,
}

/// An inbound change to check.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckUpdateRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The ownership policy.
    pub policy: OwnershipPolicy,
    /// The entity kind (`account`, `contract`, ...).
    pub entity: String,
    /// The entity's lifecycle stage; when absent, only fields with one owner at every stage
    /// have an owner.
    #[serde(default)]
    pub stage: Option<String>,
    /// The system the change comes from.
    pub source: System,
    /// The changed fields and their new values.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "std::collections::BTreeMap<String, serde_json::Value>")
    )]
    pub changes: Map<String, Value>,
    /// `lenient` (default) or `strict`.
    #[serde(default)]
    pub mode: UpdateMode,
}

/// The decision on one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FieldDecision {
    /// The field.
    pub field: String,
    /// Whether the change to it may be applied.
    pub accepted: bool,
    /// The system that owns it at the stage, if one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<System>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// Why it was refused, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The whole update's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateOutcome {
    /// Every field may be applied.
    Accepted,
    /// Some fields may be applied (lenient mode only).
    PartiallyAccepted,
    /// Nothing may be applied.
    Rejected,
}

/// The decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckUpdateResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The whole update's fate.
    pub outcome: UpdateOutcome,
    /// One decision per changed field, by field name.
    pub decisions: Vec<FieldDecision>,
    /// The changes that may be applied.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "std::collections::BTreeMap<String, serde_json::Value>")
    )]
    pub accepted_changes: Map<String, Value>,
}

/// Compiles the request's policy, or fails with its problems.
pub(crate) fn compile(policy: &OwnershipPolicy) -> Result<CompiledPolicy, Error> {
    CompiledPolicy::compile(policy).map_err(|p| ownership::policy_error(&p, "/policy"))
}

/// Decides each changed field: accepted when the source owns it at the stage.
pub fn check_update(req: &CheckUpdateRequest, _: &Limits) -> Result<CheckUpdateResponse, Error> {
    let policy = compile(&req.policy)?;
    let kind = ownership::entity_arg(&req.entity, "/entity")?;
    let stage = ownership::stage_arg(kind, req.stage.as_deref(), "/stage")?;
    let name = entity_kinds().get(kind).map_or("", |k| k.name);
    let at_stage = req.stage.as_deref().map_or_else(
        || "at every stage".to_owned(),
        |s| format!("at stage `{s}`"),
    );
    let source = policy.system_index(req.source.as_str());
    let mut decisions = Vec::with_capacity(req.changes.len());
    for field in req.changes.keys() {
        let d = match policy.decide(kind, stage, source, field) {
            Decision::Accepted => FieldDecision {
                field: field.clone(),
                accepted: true,
                owner: Some(req.source.clone()),
                code: None,
                message: None,
            },
            Decision::NotOwner(o) => {
                let owner = policy.system(o).cloned();
                let owner_name = owner.as_ref().map_or("", |s| s.as_str());
                FieldDecision {
                    field: field.clone(),
                    accepted: false,
                    message: Some(format!(
                        "`{owner_name}` owns `{name}.{field}` {at_stage}; `{}` may not change it",
                        req.source
                    )),
                    owner,
                    code: Some(ErrorCode::OwnershipNotOwner),
                }
            }
            Decision::NoOwner => FieldDecision {
                field: field.clone(),
                accepted: false,
                owner: None,
                code: Some(ErrorCode::OwnershipNoOwner),
                message: Some(format!(
                    "no rule gives `{name}.{field}` one owner {at_stage}"
                )),
            },
            Decision::UnknownField => FieldDecision {
                field: field.clone(),
                accepted: false,
                owner: None,
                code: Some(ErrorCode::OwnershipUnknownField),
                message: Some(format!("`{name}` has no field `{field}`")),
            },
        };
        decisions.push(d);
    }
    let refused = decisions.iter().filter(|d| !d.accepted).count();
    if req.mode == UpdateMode::Strict && refused > 0 {
        for d in decisions.iter_mut().filter(|d| d.accepted) {
            d.accepted = false;
            d.code = Some(ErrorCode::OwnershipStrictRejected);
            d.message = Some(format!(
                "`{}` owns `{name}.{}`, but strict mode refuses the whole update because {refused} other field(s) were refused",
                req.source, d.field
            ));
        }
    }
    let mut accepted_changes = Map::new();
    for d in decisions.iter().filter(|d| d.accepted) {
        if let Some(v) = req.changes.get(&d.field) {
            accepted_changes.insert(d.field.clone(), v.clone());
        }
    }
    let accepted = decisions.iter().filter(|d| d.accepted).count();
    let outcome = if accepted == decisions.len() {
        UpdateOutcome::Accepted
    } else if accepted == 0 {
        UpdateOutcome::Rejected
    } else {
        UpdateOutcome::PartiallyAccepted
    };
    Ok(CheckUpdateResponse {
        schema_version: SchemaVersion,
        outcome,
        decisions,
        accepted_changes,
    })
}
