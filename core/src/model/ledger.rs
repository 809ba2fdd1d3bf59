//! The billed ledger: what earlier billing runs billed against a contract.
//!
//! A billing run reads it to avoid billing an item twice and to know how much of the ceiling is
//! used; applying a change order reads it to refuse a ceiling below what is billed or the removal
//! of a billed milestone, and to list the adjustments a retroactive rate change needs.

use serde::{Deserialize, Serialize};

use super::{Date, Dec, Id, Money, RateUnit, SchemaVersion};

macro_rules! item_kind {
    ($($variant:ident = $s:literal),+ $(,)?) => {
        /// What a billed item is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub enum BilledItemKind {
            $( #[doc = $s] #[serde(rename = $s)] $variant, )+
        }

        impl BilledItemKind {
            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $s, )+ }
            }
        }
    };
}

item_kind! { Time = "time", Expense = "expense", Milestone = "milestone" }

/// One item an earlier run billed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BilledItem {
    /// The time entry, expense or milestone id.
    pub item_id: Id,
    /// What the item is.
    pub kind: BilledItemKind,
    /// For time: the hours billed (after time rounding); for expenses and milestones: 1.
    pub quantity: Dec,
    /// The amount billed (rounded once).
    pub amount: Money,
    /// The contract version that priced it (0 for the original contract).
    pub contract_version: u32,
    /// For time: the rate applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Money>,
    /// For time: the unit of `rate` (`day` rates bill `quantity / hours_per_day` days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<RateUnit>,
    /// For time: the winning rate entry (`rate_source` of the resolution; `rate_override` for a
    /// manual rate, which is never re-priced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_source: Option<String>,
    /// For time: the day worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_date: Option<Date>,
    /// For time: the role worked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// For time: who worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<Id>,
    /// For time: the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Id>,
}

/// What has been billed against one contract so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BilledLedger {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The contract billed.
    pub contract_id: Id,
    /// The items billed, in billing order.
    #[serde(default)]
    pub items: Vec<BilledItem>,
    /// The cumulative amount billed that counts against the ceiling (per the ceiling's scope).
    pub billed_total: Money,
}
