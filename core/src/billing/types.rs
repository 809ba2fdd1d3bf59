//! The billing run's request, preview and ledger documents.

use serde::{Deserialize, Serialize};

use crate::model::{
    ChangeOrder, Contract, Date, Dec, Expense, Id, Milestone, Money, Project, ProjectStatus,
    RateUnit, SchemaVersion, TimeEntry,
};

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

/// Why an item is not billed, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Billed in full already (net of credits).
    AlreadyBilled,
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
    /// First day.
    pub start: Date,
    /// Last day (inclusive).
    pub end: Date,
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
}

fn default_billable_statuses() -> Vec<ProjectStatus> {
    vec![ProjectStatus::Active, ProjectStatus::Completed]
}

impl Default for BillingOptions {
    fn default() -> Self {
        Self {
            billable_project_statuses: default_billable_statuses(),
        }
    }
}

/// One item billed by an earlier run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// The run (invoice) that billed it.
    pub invoice_id: Id,
    /// What was billed.
    pub kind: ItemKind,
    /// The time entry, expense or milestone.
    pub item_id: Id,
    /// The item's date (work date, expense date, milestone due date).
    pub date: Date,
    /// Hours for time (also for day rates); 1 for expenses and milestones.
    pub quantity: Dec,
    /// The unit price on the line that billed it (per hour, per day or per item).
    pub unit_price: Money,
    /// The amount billed (rounded).
    pub amount: Money,
    /// The contract version that priced it.
    pub contract_version: u32,
    /// Whether it counted against the ceiling.
    pub against_ceiling: bool,
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
    /// Hours (or items) given back; when absent, derived from `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Dec>,
    /// Amount given back; when absent, derived from `quantity` at the billed price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

/// What earlier runs billed and credit notes gave back, for one contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BilledLedger {
    /// Always 1.
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The contract.
    pub contract_id: Id,
    /// Billed items, in the order billed.
    #[serde(default)]
    pub entries: Vec<LedgerEntry>,
    /// Credits, in the order issued.
    #[serde(default)]
    pub credits: Vec<LedgerCredit>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewLine {
    /// What it bills.
    pub kind: ItemKind,
    /// The item billed.
    pub source_ids: Vec<Id>,
    /// The item's date.
    pub date: Date,
    /// A description for the customer.
    pub description: String,
    /// Hours worked (time only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worked_hours: Option<Dec>,
    /// Hours billed after time rounding and any ceiling split (time only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_hours: Option<Dec>,
    /// The quantity billed, in `unit`.
    pub quantity: Dec,
    /// Hours, days or items.
    pub unit: LineUnit,
    /// Price per unit.
    pub unit_price: Money,
    /// The amount, rounded once.
    pub amount: Money,
    /// What priced it (`rate_card:role=...@date`, `change_order:CO-1`, `override`, `expense_policy`, `milestone`).
    pub rate_source: String,
    /// The contract version that priced it.
    pub contract_version: u32,
    /// Whether the line is the part of a larger item that fitted under the ceiling.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ceiling_split: bool,
}

/// An item the run does not bill, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeldItem {
    /// What it is.
    pub kind: ItemKind,
    /// Its id.
    pub id: Id,
    /// Its date.
    pub date: Date,
    /// The first check it failed.
    pub reason: HoldReason,
    /// A sentence naming the value that failed.
    pub sentence: String,
    /// What it would have billed, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

/// A correction of an earlier bill after a retroactive change order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AdjustmentLine {
    /// The item re-priced.
    pub item_id: Id,
    /// Its work date.
    pub date: Date,
    /// The change order that re-priced it.
    pub change_order_id: Id,
    /// Net billed hours.
    pub quantity: Dec,
    /// The rate billed before.
    pub rate_before: Money,
    /// The rate now in force.
    pub rate_after: Money,
    /// New amount minus billed amount (rounded once).
    pub amount: Money,
    /// The version that now prices it.
    pub contract_version: u32,
    /// What now prices it.
    pub rate_source: String,
}

/// Where the run leaves the ceiling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CeilingStatus {
    /// The limit in force at `as_of`.
    pub limit: Money,
    /// What counts against it.
    pub scope: crate::model::CeilingScope,
    /// Billed against it before this run (net of credits).
    pub billed_before: Money,
    /// Billed against it by this run.
    pub this_run: Money,
    /// What is left.
    pub remaining: Money,
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
    /// Prepaid amount left.
    pub remaining: Money,
    /// Billed time beyond the retainer in this run (invoiced).
    pub excess: Money,
}

/// The totals of the preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Time lines.
    pub time: Money,
    /// Expense lines.
    pub expenses: Money,
    /// Milestone lines.
    pub milestones: Money,
    /// Adjustment lines.
    pub adjustments: Money,
    /// Retainer draw-down (negative: prepaid time is not invoiced again).
    pub retainer_drawdown: Money,
    /// The invoice total: the sum of every line.
    pub total: Money,
}

/// Approved, billable time not billed by this run, by age.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AgingBucket {
    /// `0-30`, `31-60`, `61-90` or `90+` days before `as_of`.
    pub bucket: String,
    /// Entries.
    pub entries: u64,
    /// Hours.
    pub hours: Dec,
    /// Amount where a rate prices it.
    pub amount: Money,
}

/// Held items of one reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HeldByReason {
    /// The reason.
    pub reason: HoldReason,
    /// How many items.
    pub count: u64,
    /// What they would have billed, where known.
    pub amount: Money,
}

/// Figures a finance team watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Unbilled approved time, aged.
    pub unbilled_approved: Vec<AgingBucket>,
    /// Held items by reason (reasons with none are omitted).
    pub held_by_reason: Vec<HeldByReason>,
    /// Contract value not yet billed (ceiling, fixed fee, retainer or milestones), when the contract has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<Money>,
}

/// The invoice preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InvoicePreview {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The contract.
    pub contract_id: Id,
    /// The invoice currency.
    pub currency: crate::model::Currency,
    /// The period billed.
    pub period: Period,
    /// The day of the run.
    pub as_of: Date,
    /// The contract version in force at `as_of`.
    pub contract_version: u32,
    /// Lines, by date, kind and id.
    pub lines: Vec<PreviewLine>,
    /// Adjustments for retroactive change orders.
    pub adjustments: Vec<AdjustmentLine>,
    /// Items not billed, by date, kind and id.
    pub held: Vec<HeldItem>,
    /// The ceiling, when the contract has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<CeilingStatus>,
    /// The retainer, for retainer contracts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retainer: Option<RetainerStatus>,
    /// Totals.
    pub totals: Totals,
    /// Summary figures.
    pub summary: Summary,
}
