//! `preview_invoice`, `commit_invoice` and `record_credit`: the billing run and its ledger.

use serde::{Deserialize, Serialize};

use crate::billing::{self, InvoicePreview, PreviewInvoiceRequest};
use crate::error::Error;
use crate::json::Limits;
use crate::ledger::{BilledLedger, LedgerCredit};
use crate::model::{Id, SchemaVersion};

/// Runs a billing preview (see `spec/domain/billing.md`). The preview owns its text; `run`, which
/// writes it out at once, uses the borrowing [`billing::preview_invoice`] instead.
pub fn preview_invoice(
    req: &PreviewInvoiceRequest,
    _limits: &Limits,
) -> Result<InvoicePreview<'static>, Error> {
    billing::preview_invoice(req).map(InvoicePreview::into_owned)
}

/// Commit a billing run: preview it and record its lines in the ledger.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CommitInvoiceRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The invoice number the lines are billed on.
    pub invoice_id: Id,
    /// The billing run to commit (its `ledger` is the ledger before).
    pub run: PreviewInvoiceRequest,
}

/// The committed run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CommitInvoiceResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// What was billed.
    pub preview: InvoicePreview<'static>,
    /// The ledger after the run.
    pub ledger: BilledLedger,
}

/// Previews a run and records it in its ledger as invoice `invoice_id`.
pub fn commit_invoice(
    req: &CommitInvoiceRequest,
    _limits: &Limits,
) -> Result<CommitInvoiceResponse, Error> {
    let preview = billing::preview_invoice(&req.run).map_err(|e| e.under("/run"))?;
    let ledger = billing::commit(
        req.run.ledger.clone(),
        &preview,
        &req.invoice_id,
        &req.run.time_entries,
    )?;
    Ok(CommitInvoiceResponse {
        schema_version: SchemaVersion,
        preview: preview.into_owned(),
        ledger,
    })
}

/// Record credit notes in a ledger.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordCreditRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The ledger before.
    pub ledger: BilledLedger,
    /// The contract currency (credits must be in it).
    pub currency: crate::model::Currency,
    /// The credits to add.
    pub credits: Vec<LedgerCredit>,
}

/// Adds credits to a ledger, each frozen (both its quantity and its amount) against what its item
/// is billed net once the credits before it are recorded: the one credit operation
/// ([`crate::ledger::record_credits`]) the engine's credit notes use too. Credits already in the
/// ledger with one side are written back with both.
pub fn record_credit(req: &RecordCreditRequest, _limits: &Limits) -> Result<BilledLedger, Error> {
    crate::ledger::record_credits(&req.ledger, &req.credits, req.currency)
}
