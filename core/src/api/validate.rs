//! `validate`: every problem in one canonical document.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, ErrorClass, ErrorCode, Problem};
use crate::json::Limits;
use crate::model::{Contract, DocumentKind, SchemaVersion};
use crate::validate::Document;

/// What to validate.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The document's kind; when absent, the document's own `kind` field decides.
    #[serde(default)]
    pub kind: Option<DocumentKind>,
    /// The document.
    #[cfg_attr(feature = "schema", schemars(with = "serde_json::Value"))]
    pub document: Box<RawValue>,
    /// For a change order: the contract it amends, to check its targets.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<serde_json::Value>"))]
    pub contract: Option<Box<RawValue>>,
}

/// The validation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidateResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The kind the document was read as.
    pub kind: DocumentKind,
    /// Whether no problem was found.
    pub valid: bool,
    /// Every problem, in document order.
    pub problems: Vec<Problem>,
}

/// Whether a parse error describes the document (a problem) rather than unreadable input (an error).
fn is_document_problem(e: &Error) -> bool {
    e.class() == ErrorClass::Input
        && !matches!(
            e.code,
            ErrorCode::InputMalformedJson | ErrorCode::InputUnknownKind
        )
}

/// Validates one document and reports every problem found.
///
/// Input that cannot be read at all (malformed JSON, over a limit, unknown kind or schema version)
/// is an error; a document that reads but breaks a rule gives a report with `valid: false`.
pub fn validate(req: &ValidateRequest, limits: &Limits) -> Result<ValidateResponse, Error> {
    validate_document(
        req.document.get().as_bytes(),
        req.kind,
        req.contract.as_ref().map(|c| c.get().as_bytes()),
        limits,
    )
    .map_err(|(prefix, e)| e.under(prefix))
}

/// [`validate`] on raw JSON bytes: the document, its kind if known, and the contract a change
/// order amends. Errors carry the part they came from (`/document` or `/contract`).
pub fn validate_document(
    document: &[u8],
    kind: Option<DocumentKind>,
    contract: Option<&[u8]>,
    limits: &Limits,
) -> Result<ValidateResponse, (&'static str, Error)> {
    let kind = match kind {
        Some(k) => k,
        None => Document::detect_kind(document, limits).map_err(|e| ("/document", e))?,
    };
    let contract: Option<Contract> = match contract {
        Some(raw) => Some(crate::json::from_slice(raw, limits).map_err(|e| ("/contract", e))?),
        None => None,
    };
    let problems = match Document::parse(document, Some(kind), limits) {
        Ok(doc) => doc.validate(contract.as_ref()),
        Err(e) if is_document_problem(&e) => vec![Problem::from(e)],
        Err(e) => return Err(("/document", e)),
    };
    Ok(ValidateResponse {
        schema_version: SchemaVersion,
        kind,
        valid: problems.is_empty(),
        problems,
    })
}
