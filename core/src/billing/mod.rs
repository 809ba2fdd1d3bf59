//! The billing run: what is billable now, at what amount, and why everything else is held.
//!
//! See `spec/domain/billing.md` for the rules, in order, with worked examples.

mod ledger;
mod run;
mod sum;
mod terms;
mod text;
mod types;
mod write;

pub use ledger::{LedgerIndex, NetBilled, QUANTITY_DECIMALS, commit, credited_quantity};
pub use run::{PreviewBuffers, preview_invoice, preview_invoice_with};
pub use terms::milestones_as_amended;
pub use text::Text;
pub use types::*;
pub use write::preview_json;
