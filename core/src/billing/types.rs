//! The billing run's request, preview and ledger documents.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::text::Text;

use crate::error::Problem;
pub use crate::ledger::{BilledLedger, ItemKind, LedgerCredit, LedgerEntry};
use crate::model::{
    ChangeOrder, Contract, Date, Dec, Expense, Id, Milestone, Money, Project, ProjectStatus,
    RateUnit, SchemaVersion, TimeEntry,
};

/// Why an item is not billed, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Billed in full already (net of credits).
    AlreadyBilled,
    /// Breaks a check `validate` makes (negative hours, an amount below its currency's minor
    /// unit, ...), with the run's `hold_invalid_items`; its `problems` say which.
    Invalid,
    /// Not approved (time, expense) or not accepted (milestone).
    NotApproved,
    /// Marked non-billable, on a non-billable task, or in a non-billable expense category.
    NotBillable,
    /// Its project is unknown, belongs to another contract, or is not in a billable status.
    ProjectStatus,
    /// Dated outside the contract period.
    OutsideContractPeriod,
    /// Dated outside the billing period.
    OutsideBillingPeriod,
    /// Its project's legal entity is not the contract's.
    LegalEntityMismatch,
    /// In another currency without an exchange rate.
    CurrencyMismatch,
    /// No rate prices it.
    MissingRate,
    /// The ceiling has no room for it.
    CeilingExceeded,
}

impl HoldReason {
    /// Every reason, in check order.
    pub const ALL: &'static [HoldReason] = &[
        Self::AlreadyBilled,
        Self::Invalid,
        Self::NotApproved,
        Self::NotBillable,
        Self::ProjectStatus,
        Self::OutsideContractPeriod,
        Self::OutsideBillingPeriod,
        Self::LegalEntityMismatch,
        Self::CurrencyMismatch,
        Self::MissingRate,
        Self::CeilingExceeded,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AlreadyBilled => "already_billed",
            Self::Invalid => "invalid",
            Self::NotApproved => "not_approved",
            Self::NotBillable => "not_billable",
            Self::ProjectStatus => "project_status",
            Self::OutsideContractPeriod => "outside_contract_period",
            Self::OutsideBillingPeriod => "outside_billing_period",
            Self::LegalEntityMismatch => "legal_entity_mismatch",
            Self::CurrencyMismatch => "currency_mismatch",
            Self::MissingRate => "missing_rate",
            Self::CeilingExceeded => "ceiling_exceeded",
        }
    }
}

/// An inclusive range of dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Last day (inclusive).
    pub end: Date,
    /// First day.
    pub start: Date,
}

impl Period {
    /// Whether `d` is within the period.
    pub fn contains(&self, d: Date) -> bool {
        self.start <= d && d <= self.end
    }
}

/// Options of a billing run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BillingOptions {
    /// Project statuses whose work may be billed (default `active`, `completed`).
    #[serde(default = "default_billable_statuses")]
    pub billable_project_statuses: Vec<ProjectStatus>,
    /// Hold a time entry, expense or milestone that breaks a check of `validate` with reason
    /// `invalid` and its problems, and bill the rest (default false: such an item refuses the
    /// run, with the first problem and `details.problems` counting them).
    #[serde(default)]
    pub hold_invalid_items: bool,
}

fn default_billable_statuses() -> Vec<ProjectStatus> {
    vec![ProjectStatus::Active, ProjectStatus::Completed]
}

impl Default for BillingOptions {
    fn default() -> Self {
        Self {
            billable_project_statuses: default_billable_statuses(),
            hold_invalid_items: false,
        }
    }
}

/// Everything a billing run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewInvoiceRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The contract as signed.
    pub contract: Contract,
    /// Its change orders (any status; only approved ones by `as_of` count).
    #[serde(default)]
    pub change_orders: Vec<ChangeOrder>,
    /// The projects delivering it.
    #[serde(default)]
    pub projects: Vec<Project>,
    /// Time entries.
    #[serde(default)]
    pub time_entries: Vec<TimeEntry>,
    /// Expenses.
    #[serde(default)]
    pub expenses: Vec<Expense>,
    /// Milestones with their current status (default: the contract's, as amended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestones: Option<Vec<Milestone>>,
    /// What earlier runs billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<BilledLedger>,
    /// The work dates this run bills.
    pub period: Period,
    /// The day of the run.
    pub as_of: Date,
    /// Options.
    #[serde(default)]
    pub options: BillingOptions,
}

/// The unit of a line's quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LineUnit {
    /// Hours.
    Hour,
    /// Days.
    Day,
    /// One expense or milestone.
    Item,
}

impl From<RateUnit> for LineUnit {
    fn from(u: RateUnit) -> Self {
        match u {
            RateUnit::Hour => Self::Hour,
            RateUnit::Day => Self::Day,
        }
    }
}

/// A line the run would bill.
// It borrows ids, names and rate sources from the request; see `into_owned`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewLine<'a> {
    /// The amount, rounded once.
    pub amount: Money,
    /// Hours billed after time rounding and any ceiling split (time only): what the ledger
    /// records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_hours: Option<Dec>,
    /// The exact share of the item an expense or milestone line bills (to 12 decimals), when
    /// `quantity` shows it rounded: what the ledger records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_quantity: Option<Dec>,
    /// Whether the line is the part of a larger item that fitted under the ceiling.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ceiling_split: bool,
    /// The contract version that priced it.
    pub contract_version: u32,
    /// The item's date.
    pub date: Date,
    /// A description for the customer.
    pub description: Text<'a>,
    /// What it bills.
    pub kind: ItemKind,
    /// The quantity billed, in `unit`.
    pub quantity: Dec,
    /// What priced it (`rate_card:role=...@date`, `change_order:CO-1`, `override`, `expense_policy`, `milestone`).
    pub rate_source: Text<'a>,
    /// The item billed.
    pub source_ids: Cow<'a, [Id]>,
    /// Hours, days or items.
    pub unit: LineUnit,
    /// Price per unit.
    pub unit_price: Money,
    /// Hours worked (time only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worked_hours: Option<Dec>,
}

impl PreviewLine<'_> {
    /// The same line, owning its ids and text.
    pub fn into_owned(self) -> PreviewLine<'static> {
        PreviewLine {
            description: self.description.into_owned(),
            rate_source: self.rate_source.into_owned(),
            source_ids: Cow::Owned(self.source_ids.into_owned()),
            amount: self.amount,
            billed_hours: self.billed_hours,
            billed_quantity: self.billed_quantity,
            ceiling_split: self.ceiling_split,
            contract_version: self.contract_version,
            date: self.date,
            kind: self.kind,
            quantity: self.quantity,
            unit: self.unit,
            unit_price: self.unit_price,
            worked_hours: self.worked_hours,
        }
    }
}

/// An item the run does not bill, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeldItem<'a> {
    /// What it would have billed, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// For a retroactive adjustment of the item the ceiling has no room for: its change order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_order_id: Option<Cow<'a, Id>>,
    /// Its date.
    pub date: Date,
    /// Its id.
    pub id: Cow<'a, Id>,
    /// What it is.
    pub kind: ItemKind,
    /// For an `invalid` item: every problem, at its path in the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// The first check it failed.
    pub reason: HoldReason,
    /// A sentence naming the value that failed.
    pub sentence: Text<'a>,
}

impl HeldItem<'_> {
    /// The same item, owning its ids and sentence.
    pub fn into_owned(self) -> HeldItem<'static> {
        HeldItem {
            amount: self.amount,
            change_order_id: self.change_order_id.map(|c| Cow::Owned(c.into_owned())),
            date: self.date,
            id: Cow::Owned(self.id.into_owned()),
            kind: self.kind,
            problems: self.problems,
            reason: self.reason,
            sentence: self.sentence.into_owned(),
        }
    }
}

/// A correction of an earlier bill after a retroactive change order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AdjustmentLine {
    /// New amount minus billed amount (rounded once).
    pub amount: Money,
    /// The change order that re-priced it.
    pub change_order_id: Id,
    /// The version that now prices it.
    pub contract_version: u32,
    /// Its work date.
    pub date: Date,
    /// The item re-priced.
    pub item_id: Id,
    /// Net billed hours.
    pub quantity: Dec,
    /// The rate now in force.
    pub rate_after: Money,
    /// The rate billed before.
    pub rate_before: Money,
    /// What now prices it.
    pub rate_source: String,
}

/// Where the run leaves the ceiling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CeilingStatus {
    /// Billed against it before this run (net of credits).
    pub billed_before: Money,
    /// The limit in force at `as_of`.
    pub limit: Money,
    /// What is left.
    pub remaining: Money,
    /// What counts against it.
    pub scope: crate::model::CeilingScope,
    /// Billed against it by this run.
    pub this_run: Money,
    /// (billed before + this run) / limit, in percent, two decimals.
    pub utilisation_percent: Dec,
}

/// Where a retainer stands after the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RetainerStatus {
    /// The prepaid amount.
    pub amount: Money,
    /// Drawn down by earlier runs.
    pub drawn_before: Money,
    /// Drawn down by this run.
    pub drawn_this_run: Money,
    /// Billed time beyond the retainer in this run (invoiced).
    pub excess: Money,
    /// Prepaid amount left.
    pub remaining: Money,
}

/// The totals of the preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Adjustment lines.
    pub adjustments: Money,
    /// Expense lines.
    pub expenses: Money,
    /// Milestone lines.
    pub milestones: Money,
    /// Retainer draw-down (negative: prepaid time is not invoiced again).
    pub retainer_drawdown: Money,
    /// Time lines.
    pub time: Money,
    /// The invoice total: the sum of every line.
    pub total: Money,
}

/// Approved, billable time not billed by this run, by age.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AgingBucket {
    /// Amount where a rate prices it.
    pub amount: Money,
    /// `0-30`, `31-60`, `61-90` or `90+` days before `as_of`.
    pub bucket: String,
    /// Entries.
    pub entries: u64,
    /// Hours.
    pub hours: Dec,
}

/// Held items of one reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeldByReason {
    /// What they would have billed, where known.
    pub amount: Money,
    /// How many items.
    pub count: u64,
    /// The reason.
    pub reason: HoldReason,
}

/// Figures a finance team watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Contract value not yet billed (ceiling, fixed fee, retainer or milestones), when the contract has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<Money>,
    /// Held items by reason (reasons with none are omitted).
    pub held_by_reason: Vec<HeldByReason>,
    /// Unbilled approved time, aged.
    pub unbilled_approved: Vec<AgingBucket>,
}

/// The invoice preview.
// It borrows from the request it was computed from; see `into_owned`. (Doc comments here become
// the JSON Schema's descriptions.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InvoicePreview<'a> {
    /// Adjustments for retroactive change orders.
    pub adjustments: Vec<AdjustmentLine>,
    /// The day of the run.
    pub as_of: Date,
    /// The ceiling, when the contract has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<CeilingStatus>,
    /// The contract.
    pub contract_id: Id,
    /// The contract version in force at `as_of`.
    pub contract_version: u32,
    /// The invoice currency.
    pub currency: crate::model::Currency,
    /// Items not billed, by date, kind and id.
    pub held: Vec<HeldItem<'a>>,
    /// Lines, by date, kind and id.
    pub lines: Vec<PreviewLine<'a>>,
    /// The period billed.
    pub period: Period,
    /// The retainer, for retainer contracts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retainer: Option<RetainerStatus>,
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// Summary figures.
    pub summary: Summary,
    /// Totals.
    pub totals: Totals,
}

impl InvoicePreview<'_> {
    /// The same preview, independent of the request it was computed from.
    pub fn into_owned(self) -> InvoicePreview<'static> {
        InvoicePreview {
            adjustments: self.adjustments,
            as_of: self.as_of,
            ceiling: self.ceiling,
            contract_id: self.contract_id,
            contract_version: self.contract_version,
            currency: self.currency,
            held: self.held.into_iter().map(HeldItem::into_owned).collect(),
            lines: self
                .lines
                .into_iter()
                .map(PreviewLine::into_owned)
                .collect(),
            period: self.period,
            retainer: self.retainer,
            schema_version: self.schema_version,
            summary: self.summary,
            totals: self.totals,
        }
    }
}
