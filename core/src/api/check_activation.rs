//! `check_activation`: may this won opportunity become a project?

use serde::{Deserialize, Serialize};

use super::check_update::compile;
use crate::error::{Error, Problem};
use crate::json::Limits;
use crate::model::{Account, Opportunity, OwnershipPolicy, SchemaVersion};

/// The opportunity and what the gate needs to judge it.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckActivationRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The ownership policy (its `activation` section lists each legal entity's currencies);
    /// without one, the currency check is skipped and listed in `skipped`.
    #[serde(default)]
    pub policy: Option<OwnershipPolicy>,
    /// The won opportunity.
    pub opportunity: Opportunity,
    /// The opportunity's account; when absent it is looked up in `accounts`.
    #[serde(default)]
    pub account: Option<Account>,
    /// The accounts of the hierarchy (the account's ancestors, and the account itself when
    /// `account` is absent).
    #[serde(default)]
    pub accounts: Vec<Account>,
}

/// Whether the opportunity may become a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivationStatus {
    /// Every check passed.
    Ready,
    /// At least one check failed; see `violations`.
    Blocked,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckActivationResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `ready` or `blocked`.
    pub status: ActivationStatus,
    /// Every failed check, in the order the checks run.
    pub violations: Vec<Problem>,
    /// Checks that could not run (`currency_allowed` when no policy was given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// Runs the activation gate.
pub fn check_activation(
    req: &CheckActivationRequest,
    _: &Limits,
) -> Result<CheckActivationResponse, Error> {
    if let Some(policy) = &req.policy {
        compile(policy)?;
    }
    let violations = crate::activation::check_activation(
        &req.opportunity,
        req.account.as_ref(),
        &req.accounts,
        req.policy.as_ref(),
    );
    Ok(CheckActivationResponse {
        schema_version: SchemaVersion,
        status: if violations.is_empty() {
            ActivationStatus::Ready
        } else {
            ActivationStatus::Blocked
        },
        violations,
        skipped: if req.policy.is_none() {
            vec!["currency_allowed".to_owned()]
        } else {
            Vec::new()
        },
    })
}
