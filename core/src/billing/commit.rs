//! Committing a preview: its lines and adjustments recorded in the ledger as one invoice.

use rust_decimal::Decimal;

use super::types::InvoicePreview;
use crate::error::{Error, ErrorCode};
use crate::ledger::{BilledLedger, ItemKind, LedgerEntry, LedgerIndex};
use crate::model::{Dec, Id, Money, TimeEntry};

/// Records a preview's lines in the ledger as invoice `invoice_id`.
///
/// Adjustment lines are recorded as billings of their item at the new price, so the item's net
/// billed amount becomes what the new rate gives. Time items also record the role, resource and
/// task a retroactive change order re-prices by: a line those of its entry in `time_entries` (the
/// run's entries), an adjustment those its item was billed with.
pub fn commit(
    ledger: Option<BilledLedger>,
    preview: &InvoicePreview<'_>,
    invoice_id: &Id,
    time_entries: &[TimeEntry],
) -> Result<BilledLedger, Error> {
    let mut ledger = match &ledger {
        // Credits written by hand with one side are written back with both (frozen now, so a
        // later bill cannot change what they gave back).
        Some(l) => LedgerIndex::new(Some(l), preview.currency)?
            .completed()
            .unwrap_or_else(|| l.clone()),
        None => BilledLedger {
            schema_version: crate::model::SchemaVersion,
            contract_id: preview.contract_id.clone(),
            entries: Vec::new(),
            credits: Vec::new(),
        },
    };
    if ledger.contract_id != preview.contract_id {
        return Err(Error::new(
            ErrorCode::LedgerWrongContract,
            format!(
                "the ledger is for `{}` but the preview is for `{}`",
                ledger.contract_id, preview.contract_id
            ),
        )
        .at("/ledger/contract_id"));
    }
    if ledger.entries.iter().any(|e| &e.invoice_id == invoice_id) {
        return Err(Error::new(
            ErrorCode::LedgerDuplicateInvoice,
            format!("invoice `{invoice_id}` is already in the ledger"),
        )
        .at("/invoice_id"));
    }
    let against = |kind: ItemKind| match (&preview.ceiling, kind) {
        (None, _) => false,
        (Some(_), ItemKind::Time | ItemKind::Milestone) => true,
        (Some(c), ItemKind::Expense) => c.scope == crate::model::CeilingScope::FeesAndExpenses,
    };
    let entries = super::time_entries_by_id(time_entries);
    // What a retroactive change order re-prices by. A line bills the run's entry as it is now:
    // its role, resource and task. An adjustment re-prices an item as it was billed
    // (`changes::billed_query`): each of them from its latest bill, else from the run's entry, so
    // the ledger records what priced the adjustment.
    let index = LedgerIndex::new(Some(&ledger), preview.currency)?;
    let last_bill = |id: &Id| {
        index
            .get(ItemKind::Time, id.as_str())
            .and_then(|n| index.last_entry(n))
    };
    let described = |id: &Id| match entries.get(id.as_str()) {
        Some(e) => (
            Some(e.role.to_string()),
            Some(e.resource_id.clone()),
            Some(e.task_id.clone()),
        ),
        None => (None, None, None),
    };
    let as_billed = |id: &Id| {
        let (role, resource_id, task_id) = described(id);
        match last_bill(id) {
            Some(b) => (
                b.role.clone().or(role),
                b.resource_id.clone().or(resource_id),
                b.task_id.clone().or(task_id),
            ),
            None => (role, resource_id, task_id),
        }
    };
    let mut new_entries = Vec::with_capacity(preview.lines.len() + preview.adjustments.len());
    for line in &preview.lines {
        let Some(item_id) = line.source_ids.first() else {
            continue;
        };
        let (role, resource_id, task_id) = if line.kind == ItemKind::Time {
            described(item_id)
        } else {
            (None, None, None)
        };
        new_entries.push(LedgerEntry {
            invoice_id: invoice_id.clone(),
            kind: line.kind,
            item_id: item_id.clone(),
            date: line.date,
            quantity: line
                .billed_hours
                .or(line.billed_quantity)
                .unwrap_or(line.quantity),
            unit_price: line.unit_price,
            amount: line.amount,
            contract_version: line.contract_version,
            against_ceiling: against(line.kind),
            rate_source: (line.kind == ItemKind::Time).then(|| line.rate_source.to_string()),
            role,
            resource_id,
            task_id,
        });
    }
    // An adjustment counts against the ceiling as the run metered it: an increase in full, a
    // decrease up to what its item had against the ceiling; the part beyond is recorded apart.
    for adj in &preview.adjustments {
        let (role, resource_id, task_id) = as_billed(&adj.item_id);
        let against = match &preview.ceiling {
            None => Decimal::ZERO,
            Some(_) => {
                let net = index
                    .get(ItemKind::Time, adj.item_id.as_str())
                    .map_or(Decimal::ZERO, |n| n.against_ceiling);
                crate::ledger::adjustment_ceiling_part(adj.amount.amount, net)
            }
        };
        let rest = crate::model::decimal::sub(adj.amount.amount, against, "the adjustment")?;
        let parts = [(against, true), (rest, false)];
        let parts = parts
            .iter()
            .filter(|(part, _)| !part.is_zero())
            .collect::<Vec<_>>();
        // (An adjustment of zero is never shown, so one part at least is left.)
        for &&(part, against_ceiling) in &parts {
            new_entries.push(LedgerEntry {
                invoice_id: invoice_id.clone(),
                kind: ItemKind::Time,
                item_id: adj.item_id.clone(),
                date: adj.date,
                quantity: Dec(Decimal::ZERO),
                unit_price: adj.rate_after,
                amount: Money::new(part, preview.currency),
                contract_version: adj.contract_version,
                against_ceiling,
                rate_source: Some(adj.rate_source.clone()),
                role: role.clone(),
                resource_id: resource_id.clone(),
                task_id: task_id.clone(),
            });
        }
    }
    ledger.entries.extend(new_entries);
    Ok(ledger)
}
