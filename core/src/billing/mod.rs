//! The billing run: what is billable now, at what amount, and why everything else is held.
//!
//! See `spec/domain/billing.md` for the rules, in order, with worked examples. The ledger it reads
//! and commits to is [`crate::ledger`]; the contract as amended, [`crate::changes`].

mod commit;
mod run;
mod sum;
mod terms;
mod text;
mod types;
mod write;

/// The run's time entries by id. Of two entries sharing an id, the earlier one is the item (the
/// later one is held invalid, billing.md "Invalid items"): collected from the end, the earlier
/// one is written last and stays. The commit and the adjustments read an item's role, resource
/// and task here, so they describe the entry the run billed.
pub(crate) fn time_entries_by_id(
    entries: &[crate::model::TimeEntry],
) -> std::collections::BTreeMap<&str, &crate::model::TimeEntry> {
    entries.iter().rev().map(|e| (e.id.as_str(), e)).collect()
}

pub use crate::ledger::{LedgerIndex, NetBilled, QUANTITY_DECIMALS, credited_quantity};
pub use commit::commit;
pub use run::{PreviewBuffers, preview_invoice, preview_invoice_with, utilisation_percent};
pub use terms::milestones_as_amended;
pub use text::Text;
pub use types::*;
pub use write::preview_json;
