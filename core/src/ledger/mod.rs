//! The billed ledger: what earlier runs billed and what credit notes gave back, per item.
//!
//! See `spec/domain/billing.md` ("The ledger, credits and billing twice"). What an item has billed
//! net of credits ([`NetBilled`]) is a quantity for every kind of item, and a credit is frozen when
//! it is recorded ([`LedgerIndex::credit`], the one credit operation `record_credit`, the engine's
//! credit notes and the reading of a ledger share). The billing run reads the ledger through
//! [`LedgerIndex`]; `billing::commit` writes a run into it.

mod index;
mod types;

pub use index::{
    FrozenCredit, LedgerIndex, NetBilled, NetByItem, QUANTITY_DECIMALS, adjustment_ceiling_part,
    ceiling_share, complete, credited_amount, credited_quantity, freeze, other_side,
    record_credits,
};
pub use types::{BilledLedger, ItemKind, LedgerCredit, LedgerEntry};
