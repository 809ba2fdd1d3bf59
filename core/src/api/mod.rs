//! The operations every binding calls: typed request and response documents, one function each,
//! and [`run`], which takes an operation name and JSON bytes and returns canonical JSON.
//!
//! Bindings convert their native values to and from these documents and map [`Error`]s; they hold
//! no rule of their own.

mod billing;
mod validate;
// Lifecycle state machines.
mod machines;
// Event engine.
mod engine;
mod session;

pub use billing::{
    CommitInvoiceRequest, CommitInvoiceResponse, RecordCreditRequest, commit_invoice,
    preview_invoice, record_credit,
};
pub use validate::{
    ItemReport, ValidateBatchRequest, ValidateBatchResponse, ValidateRequest, ValidateResponse,
    validate, validate_batch, validate_document, validate_each,
};
// Lifecycle state machines.
pub use machines::{
    DescribeMachinesRequest, DescribeMachinesResponse, TransitionRejection, TransitionRequest,
    TransitionResponse, describe_machines, transition,
};
// Event engine.
pub use engine::{
    EngineApplyRequest, EngineReplayRequest, EngineResponse, PreviewQuery, engine_apply,
    engine_replay,
};
pub use session::{
    ApplyBatchRequest, ApplyBatchResponse, ENGINE_METHODS, EngineOptions, EngineSession,
    EngineVersion, MetricsQuery,
};

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
// Rates and change orders.
mod apply_change_order;
mod resolve_rate;

pub use apply_change_order::{
    ApplyChangeOrderRequest, ApplyChangeOrderResponse, apply_change_order,
};
pub use resolve_rate::{
    RateOutcome, RateQueryDoc, ResolveRateRequest, ResolveRateResponse, describe as describe_rate,
    resolve_rate,
};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorCode};
use crate::json::{self, Limits};

/// The names of the operations [`run`] accepts.
pub const OPERATIONS: &[&str] = &[
    "validate",
    "validate_batch",
    "check_update",
    "golden_record",
    "reconcile",
    "check_activation",
    "preview_invoice",
    "commit_invoice",
    "record_credit",
    // Lifecycle state machines.
    "transition",
    "describe_machines",
    // Event engine.
    "engine_replay",
    "engine_apply",
    // Rates and change orders.
    "resolve_rate",
    "apply_change_order",
];

fn call<Req, Resp>(
    input: &[u8],
    limits: &Limits,
    op: impl FnOnce(&Req, &Limits) -> Result<Resp, Error>,
) -> Result<String, Error>
where
    Req: DeserializeOwned + 'static,
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
        "validate_batch" => call(input, limits, validate_batch),
        "check_update" => call(input, limits, check_update),
        "golden_record" => call(input, limits, golden_record),
        "reconcile" => call(input, limits, reconcile),
        "check_activation" => call(input, limits, check_activation),
        // The preview borrows from the request while it is written out (no owned copy).
        "preview_invoice" => {
            let request = json::preview_request_from_slice(input, limits)?;
            crate::billing::preview_json(&crate::billing::preview_invoice(&request)?)
        }
        "commit_invoice" => call(input, limits, commit_invoice),
        "record_credit" => call(input, limits, record_credit),
        // Lifecycle state machines.
        "transition" => call(input, limits, transition),
        "describe_machines" => call(input, limits, describe_machines),
        // Event engine.
        "engine_replay" => call(input, limits, engine_replay),
        "engine_apply" => call(input, limits, engine_apply),
        "resolve_rate" => call(input, limits, resolve_rate),
        "apply_change_order" => call(input, limits, apply_change_order),
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
