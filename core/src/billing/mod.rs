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

pub use crate::ledger::{LedgerIndex, NetBilled, QUANTITY_DECIMALS, credited_quantity};
pub use commit::commit;
pub use run::{PreviewBuffers, preview_invoice, preview_invoice_with, utilisation_percent};
pub use terms::milestones_as_amended;
pub use text::Text;
pub use types::*;
pub use write::preview_json;
