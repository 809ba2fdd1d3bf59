//! The ledger's documents: what earlier runs billed and what credit notes gave back.

use serde::{Deserialize, Serialize};

use crate::model::{Date, Dec, Id, Money, SchemaVersion};

/// What a line or a held item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A time entry.
    Time,
    /// An expense.
    Expense,
    /// A milestone.
    Milestone,
}

impl ItemKind {
    /// Every kind, in order.
    pub const ALL: [ItemKind; 3] = [ItemKind::Time, ItemKind::Expense, ItemKind::Milestone];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::Expense => "expense",
            Self::Milestone => "milestone",
        }
    }

    /// The noun used in sentences (`time entry`, `expense`, `milestone`).
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Time => "time entry",
            Self::Expense => "expense",
            Self::Milestone => "milestone",
        }
    }
}

/// One item billed by an earlier run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// Whether it counted against the ceiling.
    pub against_ceiling: bool,
    /// The amount billed (rounded).
    pub amount: Money,
    /// The contract version that priced it.
    pub contract_version: u32,
    /// The item's date (work date, expense date, milestone due date).
    pub date: Date,
    /// The run (invoice) that billed it.
    pub invoice_id: Id,
    /// The time entry, expense or milestone.
    pub item_id: Id,
    /// What was billed.
    pub kind: ItemKind,
    /// Hours for time (also for day rates); for an expense or a milestone, the share of the one
    /// item billed (1, or a part of it to 12 decimals); 0 for an adjustment, which re-prices
    /// hours billed before.
    pub quantity: Dec,
    /// For time: the rate entry that priced it (`rate_source` of its line; `rate_override` for a
    /// manual rate, which a change order never re-prices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_source: Option<String>,
    /// For time: who worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<Id>,
    /// For time: the role worked in (a retroactive change order re-prices by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// For time: the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Id>,
    /// The unit price on the line that billed it (per hour, per day or per item).
    pub unit_price: Money,
}

/// A credit note line giving back part or all of a billed item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LedgerCredit {
    /// The credit note.
    pub credit_note_id: Id,
    /// What is credited.
    pub kind: ItemKind,
    /// The item credited.
    pub item_id: Id,
    /// Hours (or the share of an item) given back. A credit a ledger operation records has both
    /// this and `amount`; one written by hand with only `amount` has this derived (see
    /// `spec/domain/billing.md`, the ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Dec>,
    /// Amount given back; derived from `quantity` when a ledger written by hand leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// How much of `amount` had counted against the ceiling, which the credit gives back to it.
    /// Recorded with the credit; derived in proportion to the item's share billed against the
    /// ceiling when a ledger written by hand leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_share: Option<Money>,
}

/// What earlier runs billed and credit notes gave back, for one contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BilledLedger {
    /// The contract.
    pub contract_id: Id,
    /// Credits, in the order issued.
    #[serde(default)]
    pub credits: Vec<LedgerCredit>,
    /// Billed items, in the order billed.
    #[serde(default)]
    pub entries: Vec<LedgerEntry>,
    /// Always 1.
    #[serde(default)]
    pub schema_version: SchemaVersion,
}
