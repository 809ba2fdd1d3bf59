//! The operations every binding calls: typed request and response documents, one function each,
//! and [`run`], which takes an operation name and JSON bytes and returns canonical JSON.
//!
//! Bindings convert their native values to and from these documents and map [`Error`]s; they hold
//! no rule of their own.

mod validate;

pub use validate::{ValidateRequest, ValidateResponse, validate, validate_document};

mod check_activation;
mod check_update;
mod golden_record;
mod reconcile;

pub use check_activation::{
    ActivationStatus, CheckActivationRequest, CheckActivationResponse, check_activation,
};
pub use check_update::{
    CheckUpdateRequest, CheckUpdateResponse, FieldDecision, UpdateMode, UpdateOutcome, check_update,
};
pub use golden_record::{
    GoldenRecordRequest, GoldenRecordResponse, UnresolvedField, golden_record,
};
pub use reconcile::{ReconcileRequest, ReconcileResponse, reconcile};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorCode};
use crate::json::{self, Limits};

/// The names of the operations [`run`] accepts.
pub const OPERATIONS: &[&str] = &[
    "validate",
    "check_update",
    "golden_record",
    "reconcile",
    "check_activation",
];

fn call<Req, Resp>(
    input: &[u8],
    limits: &Limits,
    op: impl FnOnce(&Req, &Limits) -> Result<Resp, Error>,
) -> Result<String, Error>
where
    Req: DeserializeOwned,
    Resp: Serialize,
{
    let request: Req = json::from_slice(input, limits)?;
    let response = op(&request, limits)?;
    json::to_canonical_string(&response)
}

/// Runs operation `op` on a JSON request and returns the canonical JSON response.
pub fn run(op: &str, input: &[u8], limits: &Limits) -> Result<String, Error> {
    match op {
        "validate" => call(input, limits, validate),
        "check_update" => call(input, limits, check_update),
        "golden_record" => call(input, limits, golden_record),
        "reconcile" => call(input, limits, reconcile),
        "check_activation" => call(input, limits, check_activation),
        _ => Err(Error::new(
            ErrorCode::InputInvalidValue,
            format!(
                "`{}` is not an operation; expected one of {}",
                op.chars().take(40).collect::<String>(),
                OPERATIONS.join(", ")
            ),
        )),
    }
}
