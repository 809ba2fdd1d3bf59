//! `engine_replay` and `engine_apply`: the event engine without holding one, for callers that
//! keep the engine's snapshot themselves. Bindings that hold an engine wrap [`Engine`] directly.

use serde::{Deserialize, Serialize};

use crate::billing::{InvoicePreview, Period};
use crate::engine::audit::AuditVerification;
use crate::engine::{Engine, Envelope, ExceptionEntry, Metrics, Outcome, Snapshot, World};
use crate::error::{Error, ErrorCode};
use crate::json::Limits;
use crate::model::{Date, OwnershipPolicy, SchemaVersion};

fn yes() -> bool {
    true
}

/// A billing preview to run on the engine's state after the envelopes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    /// The work dates billed.
    pub period: Period,
    /// The day of the run.
    pub as_of: Date,
}

/// Replay envelopes through a new engine.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EngineReplayRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The ownership policy the engine enforces.
    #[serde(default)]
    pub ownership_policy: Option<OwnershipPolicy>,
    /// The envelopes, in the order received.
    #[serde(default)]
    pub envelopes: Vec<Envelope>,
    /// Apply all envelopes or none (default false: each on its own).
    #[serde(default)]
    pub atomic: bool,
    /// A billing preview to run afterwards.
    #[serde(default)]
    pub preview: Option<PreviewQuery>,
    /// The day to compute metrics for afterwards.
    #[serde(default)]
    pub metrics_as_of: Option<Date>,
    /// Return the engine's state (default false).
    #[serde(default)]
    pub return_state: bool,
    /// Return the whole snapshot (default true).
    #[serde(default = "yes")]
    pub return_snapshot: bool,
}

/// Apply envelopes to an engine given by its snapshot.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EngineApplyRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The engine before (as `snapshot` returned it); a new engine when absent.
    #[serde(default)]
    pub snapshot: Option<Snapshot>,
    /// For a new engine: the ownership policy it enforces (a snapshot carries its own).
    #[serde(default)]
    pub ownership_policy: Option<OwnershipPolicy>,
    /// The envelopes, in the order received.
    #[serde(default)]
    pub envelopes: Vec<Envelope>,
    /// Apply all envelopes or none (default false: each on its own).
    #[serde(default)]
    pub atomic: bool,
    /// A billing preview to run afterwards.
    #[serde(default)]
    pub preview: Option<PreviewQuery>,
    /// The day to compute metrics for afterwards.
    #[serde(default)]
    pub metrics_as_of: Option<Date>,
    /// Return the engine's state (default false).
    #[serde(default)]
    pub return_state: bool,
    /// Return the whole snapshot (default true).
    #[serde(default = "yes")]
    pub return_snapshot: bool,
}

/// What the engine did, and where it stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EngineResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The engine version after the envelopes.
    pub version: u64,
    /// One outcome per envelope, in order.
    pub outcomes: Vec<Outcome>,
    /// The exception queue.
    pub exceptions: Vec<ExceptionEntry>,
    /// The audit chain, verified.
    pub audit: AuditVerification,
    /// The preview asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<InvoicePreview<'static>>,
    /// The metrics asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// The engine's state, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<World>,
    /// The snapshot to pass to the next `engine_apply`, unless `return_snapshot` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
}

struct Run<'a> {
    envelopes: &'a [Envelope],
    atomic: bool,
    preview: Option<&'a PreviewQuery>,
    metrics_as_of: Option<Date>,
    return_state: bool,
    return_snapshot: bool,
}

fn run(mut engine: Engine, r: &Run<'_>) -> Result<EngineResponse, Error> {
    let outcomes = engine.apply_batch(r.envelopes, r.atomic)?;
    let preview = r
        .preview
        .map(|q| {
            engine
                .preview_invoice(q.period, q.as_of)
                .map_err(|e| e.at("/preview"))
        })
        .transpose()?;
    let metrics = r
        .metrics_as_of
        .map(|d| engine.metrics(d).map_err(|e| e.at("/metrics_as_of")))
        .transpose()?;
    Ok(EngineResponse {
        schema_version: SchemaVersion,
        version: engine.version(),
        outcomes,
        exceptions: engine.exceptions().to_vec(),
        audit: engine.verify_audit()?,
        preview,
        metrics,
        state: r.return_state.then(|| engine.state().clone()),
        snapshot: r.return_snapshot.then(|| engine.to_snapshot()),
    })
}

/// Applies envelopes to a new engine and reports outcomes, the exception queue, the audit check
/// and, on request, a preview, metrics, the state and the snapshot.
pub fn engine_replay(req: &EngineReplayRequest, _: &Limits) -> Result<EngineResponse, Error> {
    let engine = match &req.ownership_policy {
        Some(p) => {
            Engine::with_ownership_policy(p.clone()).map_err(|e| e.at("/ownership_policy"))?
        }
        None => Engine::new(),
    };
    run(
        engine,
        &Run {
            envelopes: &req.envelopes,
            atomic: req.atomic,
            preview: req.preview.as_ref(),
            metrics_as_of: req.metrics_as_of,
            return_state: req.return_state,
            return_snapshot: req.return_snapshot,
        },
    )
}

/// Applies envelopes to the engine a snapshot describes (or a new one) and reports as
/// [`engine_replay`] does.
pub fn engine_apply(req: &EngineApplyRequest, _: &Limits) -> Result<EngineResponse, Error> {
    let engine = match (&req.snapshot, &req.ownership_policy) {
        (Some(_), Some(_)) => {
            return Err(Error::new(
                ErrorCode::InputInvalidValue,
                "a snapshot carries its own ownership policy; give `ownership_policy` only for a new engine",
            )
            .at("/ownership_policy"));
        }
        (Some(s), None) => Engine::from_snapshot(s.clone()).map_err(|e| {
            let path = format!("/snapshot{}", e.path);
            e.at(path)
        })?,
        (None, Some(p)) => {
            Engine::with_ownership_policy(p.clone()).map_err(|e| e.at("/ownership_policy"))?
        }
        (None, None) => Engine::new(),
    };
    run(
        engine,
        &Run {
            envelopes: &req.envelopes,
            atomic: req.atomic,
            preview: req.preview.as_ref(),
            metrics_as_of: req.metrics_as_of,
            return_state: req.return_state,
            return_snapshot: req.return_snapshot,
        },
    )
}
