//! `preview_invoice`, `commit_invoice` and `record_credit`: the billing run and its ledger.

use serde::{Deserialize, Serialize};

use crate::billing::{
    self, BilledLedger, InvoicePreview, LedgerCredit, LedgerIndex, PreviewInvoiceRequest,
};
use crate::error::Error;
use crate::json::Limits;
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
    let preview = billing::preview_invoice(&req.run)?;
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

/// Adds credits to a ledger after checking each gives back no more than was billed.
pub fn record_credit(req: &RecordCreditRequest, _limits: &Limits) -> Result<BilledLedger, Error> {
    let mut ledger = req.ledger.clone();
    // Each credit is recorded with both its quantity and its amount, derived from what the item
    // is billed net at the time of the credit: bills committed later must not change what an
    // earlier credit gave back.
    for c in &req.credits {
        let mut c = c.clone();
        let net = LedgerIndex::new(Some(&ledger), req.currency)?
            .get(c.kind, c.item_id.as_str())
            .map(|n| (n.quantity, n.amount));
        if let Some((q, a)) = net
            && !q.is_zero()
            && !a.is_zero()
        {
            match (&c.quantity, &c.amount) {
                (Some(cq), None) => {
                    let amount = cq.0.checked_mul(a).and_then(|x| x.checked_div(q));
                    c.amount = amount.map(|x| {
                        crate::model::Money::new(x, req.currency)
                            .rounded(crate::model::RoundingMode::HalfUp)
                    });
                }
                (None, Some(ca)) => {
                    let quantity = crate::billing::credited_quantity(ca.amount, q, a);
                    c.quantity = quantity.map(crate::model::Dec);
                }
                _ => {}
            }
        }
        ledger.credits.push(c);
        LedgerIndex::new(Some(&ledger), req.currency)?;
    }
    Ok(ledger)
}
