//! The canonical documents of schema version 1.
//!
//! Every struct rejects unknown fields, uses snake_case keys, carries money as [`Money`] and
//! quantities as [`Dec`] strings. Top-level documents carry `schema_version` and an optional `kind`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Currency, Date, Dec, Id, Money, Name, RoundingMode, SchemaVersion, System};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $s:literal ),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $s)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s, )+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// The kind of a top-level document (the optional `kind` field, or `--kind` on the CLI).
    DocumentKind {
        /// A customer.
        Account = "account",
        /// A sales opportunity.
        Opportunity = "opportunity",
        /// A signed (or draft) contract with its terms.
        Contract = "contract",
        /// An amendment to a contract.
        ChangeOrder = "change_order",
        /// A delivery project.
        Project = "project",
        /// A batch of time entries and expenses exported from a PSA.
        WorkLog = "work_log",
        /// An invoice.
        Invoice = "invoice",
        /// A payment against an invoice.
        Payment = "payment",
        /// Which system owns which field at which stage.
        OwnershipPolicy = "ownership_policy",
    }
}

string_enum! {
    /// How a contract bills.
    BillingModel {
        /// Hours (or days) times a rate, plus expenses.
        TimeAndMaterials = "time_and_materials",
        /// A fixed fee, billed by milestones.
        FixedFee = "fixed_fee",
        /// Fixed amounts billed when milestones are accepted.
        Milestone = "milestone",
        /// A prepaid amount drawn down by billed time.
        Retainer = "retainer",
    }
}

string_enum! {
    /// A customer's status.
    AccountStatus { Prospect = "prospect", Active = "active", Inactive = "inactive" }
}

string_enum! {
    /// A sales opportunity's stage.
    OpportunityStage {
        Prospecting = "prospecting",
        Qualification = "qualification",
        Proposal = "proposal",
        Negotiation = "negotiation",
        ClosedWon = "closed_won",
        ClosedLost = "closed_lost",
    }
}

string_enum! {
    /// A contract's lifecycle stage (ownership moves from CRM to ERP at signature).
    ContractStatus {
        Draft = "draft",
        Negotiation = "negotiation",
        Signed = "signed",
        Active = "active",
        Completed = "completed",
        Terminated = "terminated",
    }
}

string_enum! {
    /// What a ceiling (not-to-exceed) covers.
    CeilingScope {
        /// Time and milestone fees only.
        Fees = "fees",
        /// Fees and expenses.
        FeesAndExpenses = "fees_and_expenses",
    }
}

string_enum! {
    /// What happens to the item that crosses a ceiling.
    CeilingMode {
        /// Bill exactly the remaining ceiling; hold the rest.
        Split = "split",
        /// Hold the whole crossing item.
        HoldWhole = "hold_whole",
    }
}

string_enum! {
    /// The unit a rate is quoted in.
    RateUnit { Hour = "hour", Day = "day" }
}

string_enum! {
    /// How worked hours are rounded to the billing increment.
    TimeRounding { Up = "up", Down = "down", Nearest = "nearest" }
}

string_enum! {
    /// A project's status.
    ProjectStatus {
        Planned = "planned",
        Active = "active",
        OnHold = "on_hold",
        Completed = "completed",
        Closed = "closed",
    }
}

string_enum! {
    /// A time entry's or expense's status.
    WorkStatus {
        Draft = "draft",
        Submitted = "submitted",
        Approved = "approved",
        Rejected = "rejected",
        Billed = "billed",
    }
}

string_enum! {
    /// A milestone's status.
    MilestoneStatus {
        Pending = "pending",
        Completed = "completed",
        Accepted = "accepted",
        Rejected = "rejected",
        Billed = "billed",
    }
}

string_enum! {
    /// A change order's status.
    ChangeOrderStatus {
        Draft = "draft",
        Submitted = "submitted",
        Approved = "approved",
        Applied = "applied",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
    }
}

string_enum! {
    /// An invoice's status.
    InvoiceStatus {
        Draft = "draft",
        Approved = "approved",
        Posted = "posted",
        PartiallyPaid = "partially_paid",
        Paid = "paid",
        Disputed = "disputed",
        Voided = "voided",
        /// Reversed in full by credit notes after posting.
        Credited = "credited",
    }
}

string_enum! {
    /// What an invoice line bills.
    LineKind {
        Time = "time",
        Expense = "expense",
        Milestone = "milestone",
        Retainer = "retainer",
        Adjustment = "adjustment",
    }
}

/// `Serialize` for a document, writing its fields in key order (the order of canonical JSON)
/// whatever order they are declared in (the order "missing field" errors name them in, so the
/// most telling comes first): its canonical text comes out in one pass, never read back to be
/// sorted. The fields are listed in key order, each with the test that skips it, if any (the
/// same as its `skip_serializing_if`); the list must name every field, or it does not compile.
macro_rules! serialize_in_key_order {
    ($ty:ident { $( $field:ident $(skip_if $skip:path)? ),+ $(,)? }) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let $ty { $( $field ),+ } = self;
                let len = 0 $( + usize::from(true $( && !$skip($field) )?) )+;
                let mut st = s.serialize_struct(stringify!($ty), len)?;
                $(
                    if true $( && !$skip($field) )? {
                        st.serialize_field(stringify!($field), $field)?;
                    } else {
                        st.skip_field(stringify!($field))?;
                    }
                )+
                st.end()
            }
        }
    };
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"account"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// The account id.
    pub id: Id,
    /// The customer's name.
    pub name: String,
    /// The parent account in a hierarchy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Id>,
    /// The firm's legal entity that contracts with this customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_entity: Option<Id>,
    /// The tax profile (e.g. `US-EXEMPT`, `EU-REVERSE-CHARGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_profile: Option<String>,
    /// The billing currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Payment terms agreed with the customer (e.g. `NET30`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<String>,
    /// The status.
    pub status: AccountStatus,
    /// The account's id in each connected system.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_ids: BTreeMap<System, String>,
}

/// A sales opportunity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Opportunity {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"opportunity"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// The opportunity id.
    pub id: Id,
    /// The customer.
    pub account_id: Id,
    /// A short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sales stage.
    pub stage: OpportunityStage,
    /// The expected value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The contract currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// The billing model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_model: Option<BillingModel>,
    /// The expected start of delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_start: Option<Date>,
    /// The firm's contracting legal entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_entity: Option<Id>,
    /// The tax profile the contract will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_profile: Option<String>,
    /// The service line (practice) that delivers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_line: Option<String>,
    /// The contract template to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_template: Option<String>,
}

/// A not-to-exceed amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Ceiling {
    /// The limit.
    pub amount: Money,
    /// What counts against it (default `fees`).
    #[serde(default = "default_scope")]
    pub scope: CeilingScope,
    /// What happens to the crossing item (default `split`).
    #[serde(default = "default_ceiling_mode")]
    pub mode: CeilingMode,
}

fn default_scope() -> CeilingScope {
    CeilingScope::Fees
}

fn default_ceiling_mode() -> CeilingMode {
    CeilingMode::Split
}

/// A rate card: dated rates by role or resource, optionally per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RateCard {
    /// Hours in a billable day, for day rates (default 8).
    #[serde(default = "default_hours_per_day")]
    pub hours_per_day: Dec,
    /// The entries.
    pub entries: Vec<RateEntry>,
}

fn default_hours_per_day() -> Dec {
    Dec(rust_decimal::Decimal::from(8u32))
}

/// One rate: for a role or a named resource, optionally for one task, from a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RateEntry {
    /// The role this rate prices (exactly one of `role` and `resource_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The person this rate prices (exactly one of `role` and `resource_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<Id>,
    /// Narrows the entry to one task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Id>,
    /// The rate, in the contract currency.
    pub rate: Money,
    /// Per hour (default) or per day.
    #[serde(default = "default_unit")]
    pub unit: RateUnit,
    /// First work date the rate applies to.
    pub effective_from: Date,
    /// Last work date the rate applies to (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<Date>,
}

fn default_unit() -> RateUnit {
    RateUnit::Hour
}

/// Which expenses are billable and at what markup.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ExpensePolicy {
    /// Categories that may be billed (e.g. `travel`, `lodging`).
    #[serde(default)]
    pub billable_categories: Vec<String>,
    /// Markup in percent (e.g. `"10"` adds 10 %).
    #[serde(default)]
    pub markup_percent: Dec,
}

/// A billable milestone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    /// The milestone id.
    pub id: Id,
    /// What is delivered.
    pub name: String,
    /// A fixed amount (exactly one of `amount` and `percent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// A percentage of the contract's fixed fee (exactly one of `amount` and `percent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Dec>,
    /// When it is due.
    pub due_date: Date,
    /// Its status; only `accepted` milestones bill.
    pub status: MilestoneStatus,
}

impl Milestone {
    /// What the milestone bills in full: its `amount`, or `percent ÷ 100` of `fixed_fee`,
    /// rounded once with `mode`; `None` for a percent of a fee the contract does not have.
    pub fn price(
        &self,
        fixed_fee: Option<Money>,
        mode: RoundingMode,
    ) -> Result<Option<Money>, crate::Error> {
        match (&self.amount, &self.percent, fixed_fee) {
            (Some(a), _, _) => Ok(Some(a.rounded(mode))),
            (None, Some(p), Some(fee)) => {
                let share = super::decimal::mul(fee.amount, p.0, "the milestone amount")?;
                let share = super::decimal::div(
                    share,
                    rust_decimal::Decimal::ONE_HUNDRED,
                    "the milestone amount",
                )?;
                Ok(Some(Money::new(share, fee.currency).rounded(mode)))
            }
            _ => Ok(None),
        }
    }
}

serialize_in_key_order!(Milestone {
    amount skip_if Option::is_none,
    due_date,
    id,
    name,
    percent skip_if Option::is_none,
    status,
});

/// A prepaid amount drawn down by billed time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Retainer {
    /// The prepaid amount.
    pub amount: Money,
}

/// How amounts and hours are rounded.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RoundingPolicy {
    /// Rounding of each line to the currency's minor unit (default `half_up`).
    #[serde(default)]
    pub mode: RoundingMode,
    /// Round each entry's hours to this increment before pricing (e.g. `"0.25"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_increment: Option<Dec>,
    /// Direction of time rounding (default `nearest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_rounding: Option<TimeRounding>,
}

/// A contract with its terms (version 0, before change orders).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"contract"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// The contract id.
    pub id: Id,
    /// The customer.
    pub account_id: Id,
    /// The firm's contracting legal entity.
    pub legal_entity: Id,
    /// The billing currency.
    pub currency: Currency,
    /// How the contract bills.
    pub billing_model: BillingModel,
    /// Lifecycle stage.
    pub status: ContractStatus,
    /// First day of the contract period.
    pub start_date: Date,
    /// Last day of the contract period (inclusive).
    pub end_date: Date,
    /// Optional not-to-exceed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<Ceiling>,
    /// The rate card.
    pub rate_card: RateCard,
    /// Expense billability and markup.
    #[serde(default)]
    pub expense_policy: ExpensePolicy,
    /// Milestones (fixed-fee and milestone contracts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
    /// The fixed fee (fixed-fee contracts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_fee: Option<Money>,
    /// The prepaid retainer (retainer contracts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retainer: Option<Retainer>,
    /// Rounding policy.
    #[serde(default)]
    pub rounding: RoundingPolicy,
    /// Ids of the change orders applied so far, in sequence (the contract's versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub change_orders: Vec<Id>,
}

/// The role, resource and task a rate change targets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RateTarget {
    /// The role (exactly one of `role` and `resource_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The resource (exactly one of `role` and `resource_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<Id>,
    /// Narrows to one task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Id>,
}

// Deserialisation is written by hand (`ChangeFields`, below): serde's derive for an internally
// tagged enum with flattened fields buffers each change into an untyped tree first, which costs
// code size (WebAssembly) and loses the position of an error (it was reported after the list).
/// One change in a change order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// A new rate for a role or resource from the effective date.
    SetRate {
        /// Who the rate prices.
        #[serde(flatten)]
        target: RateTarget,
        /// The new rate.
        rate: Money,
        /// Per hour (default) or per day.
        #[serde(default = "default_unit")]
        unit: RateUnit,
    },
    /// Ends a rate the day before the effective date.
    EndRate {
        /// Whose rate ends.
        #[serde(flatten)]
        target: RateTarget,
    },
    /// Replaces the ceiling.
    SetCeiling {
        /// The new limit.
        amount: Money,
    },
    /// Raises (positive) or lowers (negative) the ceiling.
    AdjustCeiling {
        /// The change in the limit.
        delta: Money,
    },
    /// Adds a milestone.
    AddMilestone {
        /// The milestone.
        milestone: Milestone,
    },
    /// Removes a milestone that is not yet billed.
    RemoveMilestone {
        /// Its id.
        milestone_id: Id,
    },
    /// Moves the contract end date.
    SetEndDate {
        /// The new last day.
        end_date: Date,
    },
    /// Changes the expense markup.
    SetExpenseMarkup {
        /// The new markup, in percent.
        markup_percent: Dec,
    },
}

/// A change's `type`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ChangeTag {
    SetRate,
    EndRate,
    SetCeiling,
    AdjustCeiling,
    AddMilestone,
    RemoveMilestone,
    SetEndDate,
    SetExpenseMarkup,
}

/// Every field any change may have, read in one pass whatever the key order;
/// [`ChangeFields::into_change`] then checks that the fields present are those of its type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeFields {
    #[serde(rename = "type", default)]
    tag: Option<ChangeTag>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    resource_id: Option<Id>,
    #[serde(default)]
    task_id: Option<Id>,
    #[serde(default)]
    rate: Option<Money>,
    #[serde(default)]
    unit: Option<RateUnit>,
    #[serde(default)]
    amount: Option<Money>,
    #[serde(default)]
    delta: Option<Money>,
    #[serde(default)]
    milestone: Option<Milestone>,
    #[serde(default)]
    milestone_id: Option<Id>,
    #[serde(default)]
    end_date: Option<Date>,
    #[serde(default)]
    markup_percent: Option<Dec>,
}

impl ChangeFields {
    /// Fails with `unknown field` for a field present that `allowed` does not name.
    fn only<E: serde::de::Error>(&self, allowed: &'static [&'static str]) -> Result<(), E> {
        let present = [
            ("role", self.role.is_some()),
            ("resource_id", self.resource_id.is_some()),
            ("task_id", self.task_id.is_some()),
            ("rate", self.rate.is_some()),
            ("unit", self.unit.is_some()),
            ("amount", self.amount.is_some()),
            ("delta", self.delta.is_some()),
            ("milestone", self.milestone.is_some()),
            ("milestone_id", self.milestone_id.is_some()),
            ("end_date", self.end_date.is_some()),
            ("markup_percent", self.markup_percent.is_some()),
        ];
        match present
            .iter()
            .find(|(name, is)| *is && !allowed.contains(name))
        {
            Some((name, _)) => Err(E::unknown_field(name, allowed)),
            None => Ok(()),
        }
    }

    fn into_change<E: serde::de::Error>(self) -> Result<Change, E> {
        fn need<T, E: serde::de::Error>(v: Option<T>, name: &'static str) -> Result<T, E> {
            v.ok_or_else(|| E::missing_field(name))
        }
        const TARGET: [&str; 4] = ["type", "role", "resource_id", "task_id"];
        let target = |f: &ChangeFields| RateTarget {
            role: f.role.clone(),
            resource_id: f.resource_id.clone(),
            task_id: f.task_id.clone(),
        };
        Ok(match need(self.tag, "type")? {
            ChangeTag::SetRate => {
                self.only(&["type", "role", "resource_id", "task_id", "rate", "unit"])?;
                Change::SetRate {
                    target: target(&self),
                    rate: need(self.rate, "rate")?,
                    unit: self.unit.unwrap_or_else(default_unit),
                }
            }
            ChangeTag::EndRate => {
                self.only(&TARGET)?;
                Change::EndRate {
                    target: target(&self),
                }
            }
            ChangeTag::SetCeiling => {
                self.only(&["type", "amount"])?;
                Change::SetCeiling {
                    amount: need(self.amount, "amount")?,
                }
            }
            ChangeTag::AdjustCeiling => {
                self.only(&["type", "delta"])?;
                Change::AdjustCeiling {
                    delta: need(self.delta, "delta")?,
                }
            }
            ChangeTag::AddMilestone => {
                self.only(&["type", "milestone"])?;
                Change::AddMilestone {
                    milestone: need(self.milestone, "milestone")?,
                }
            }
            ChangeTag::RemoveMilestone => {
                self.only(&["type", "milestone_id"])?;
                Change::RemoveMilestone {
                    milestone_id: need(self.milestone_id, "milestone_id")?,
                }
            }
            ChangeTag::SetEndDate => {
                self.only(&["type", "end_date"])?;
                Change::SetEndDate {
                    end_date: need(self.end_date, "end_date")?,
                }
            }
            ChangeTag::SetExpenseMarkup => {
                self.only(&["type", "markup_percent"])?;
                Change::SetExpenseMarkup {
                    markup_percent: need(self.markup_percent, "markup_percent")?,
                }
            }
        })
    }
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Change, D::Error> {
        /// Checks the fields while the parser is still at the change's closing brace, so an
        /// error about the change as a whole is reported at the change (not after its list).
        struct ChangeVisitor;
        impl<'de> serde::de::Visitor<'de> for ChangeVisitor {
            type Value = Change;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a change object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Change, A::Error> {
                ChangeFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?
                    .into_change()
            }
        }
        deserializer.deserialize_map(ChangeVisitor)
    }
}

/// An amendment to a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeOrder {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"change_order"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// The change order id.
    pub id: Id,
    /// The contract it amends.
    pub contract_id: Id,
    /// 1 for the first amendment, then 2, 3, ...
    pub sequence: u32,
    /// Its status; only `approved` change orders can be applied.
    pub status: ChangeOrderStatus,
    /// Rate changes apply to work dated on or after this day.
    pub effective_date: Date,
    /// The day it was approved; ceiling and end-date changes apply from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_on: Option<Date>,
    /// Whether already-billed work on or after the effective date is re-priced (by adjustment lines).
    #[serde(default, skip_serializing_if = "is_false")]
    pub retroactive: bool,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The changes.
    pub changes: Vec<Change>,
}

/// A task of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The task id.
    pub id: Id,
    /// Its name.
    pub name: String,
    /// Whether time on it may be billed (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub billable: bool,
}

/// A delivery project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"project"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// The project id.
    pub id: Id,
    /// The contract it delivers.
    pub contract_id: Id,
    /// The legal entity that delivers it.
    pub legal_entity: Id,
    /// Its status.
    pub status: ProjectStatus,
    /// Its tasks.
    #[serde(default)]
    pub tasks: Vec<Task>,
}

/// Hours a person worked on a task on a day.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TimeEntry {
    /// The entry id.
    pub id: Id,
    /// The project.
    pub project_id: Id,
    /// The task.
    pub task_id: Id,
    /// Who worked.
    pub resource_id: Id,
    /// In which role.
    pub role: Name,
    /// The day worked.
    pub work_date: Date,
    /// Hours worked.
    pub hours: Dec,
    /// Whether the person marked it billable (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub billable: bool,
    /// Its status; only `approved` entries bill.
    pub status: WorkStatus,
    /// A manual rate that wins over the rate card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_override: Option<Money>,
}

serialize_in_key_order!(TimeEntry {
    billable skip_if is_true,
    hours,
    id,
    project_id,
    rate_override skip_if Option::is_none,
    resource_id,
    role,
    status,
    task_id,
    work_date,
});

/// An expense incurred on a project.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Expense {
    /// The expense id.
    pub id: Id,
    /// The project.
    pub project_id: Id,
    /// The day incurred.
    pub date: Date,
    /// The amount, in the currency it was paid in.
    pub amount: Money,
    /// Its category (`travel`, `lodging`, `meals`, ...).
    pub category: String,
    /// Whether it may be billed (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub billable: bool,
    /// Its status; only `approved` expenses bill.
    pub status: WorkStatus,
    /// Conversion rate to the contract currency (1 unit of `amount.currency` = `fx_rate` units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fx_rate: Option<Dec>,
}

serialize_in_key_order!(Expense {
    amount,
    billable skip_if is_true,
    category,
    date,
    fx_rate skip_if Option::is_none,
    id,
    project_id,
    status,
});

/// Time entries and expenses exported from a PSA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkLog {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"work_log"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// Time entries.
    #[serde(default)]
    pub time_entries: Vec<TimeEntry>,
    /// Expenses.
    #[serde(default)]
    pub expenses: Vec<Expense>,
}

/// A line of an invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InvoiceLine {
    /// What the line bills.
    pub kind: LineKind,
    /// The time entries, expenses or milestones it bills.
    pub source_ids: Vec<Id>,
    /// A description for the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Hours, days or units.
    pub quantity: Dec,
    /// Price per unit.
    pub unit_price: Money,
    /// The line amount (rounded once).
    pub amount: Money,
}

/// An invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"invoice"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// The invoice id.
    pub id: Id,
    /// The contract billed.
    pub contract_id: Id,
    /// Its status.
    pub status: InvoiceStatus,
    /// The invoice date.
    pub issue_date: Date,
    /// The currency of every line.
    pub currency: Currency,
    /// The lines.
    pub lines: Vec<InvoiceLine>,
    /// The sum of the lines.
    pub total: Money,
}

/// A payment received against an invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// `"payment"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// The payment id.
    pub id: Id,
    /// The invoice paid.
    pub invoice_id: Id,
    /// The amount received.
    pub amount: Money,
    /// The day received.
    pub date: Date,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::de::DeserializeOwned;

    use super::*;

    /// Reads `json` as a `T`, writes it back, and checks the text is the canonical text of the
    /// input, written in one pass (keys already in order, never sorted afterwards).
    fn round_trip<T: Serialize + DeserializeOwned>(json: &str) {
        let doc: T = serde_json::from_str(json).unwrap();
        let (text, sorted_through) = crate::json::text_and_value(&doc).unwrap();
        let mut expected = String::new();
        crate::json::write_canonical(&serde_json::from_str(json).unwrap(), &mut expected);
        assert_eq!(text, expected);
        assert!(sorted_through.is_none(), "{text} was sorted afterwards");
    }

    #[test]
    fn time_entries_expenses_and_milestones_write_every_field_in_key_order() {
        round_trip::<TimeEntry>(
            r#"{"id":"TE-1","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Dev",
            "work_date":"2026-01-02","hours":"7.5","billable":false,"status":"approved",
            "rate_override":{"amount":"120.00","currency":"USD"}}"#,
        );
        round_trip::<TimeEntry>(
            r#"{"id":"TE-1","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Dev",
            "work_date":"2026-01-02","hours":"7.5","status":"approved"}"#,
        );
        round_trip::<Expense>(
            r#"{"id":"EX-1","project_id":"P-1","date":"2026-01-02",
            "amount":{"amount":"80.00","currency":"EUR"},"category":"travel","billable":false,
            "status":"approved","fx_rate":"1.1"}"#,
        );
        round_trip::<Expense>(
            r#"{"id":"EX-1","project_id":"P-1","date":"2026-01-02",
            "amount":{"amount":"80.00","currency":"EUR"},"category":"travel","status":"approved"}"#,
        );
        round_trip::<Milestone>(
            r#"{"id":"MS-1","name":"Go-live","amount":{"amount":"5000.00","currency":"USD"},
            "due_date":"2026-03-31","status":"accepted"}"#,
        );
        round_trip::<Milestone>(
            r#"{"id":"MS-1","name":"Go-live","percent":"25","due_date":"2026-03-31",
            "status":"pending"}"#,
        );
    }

    #[test]
    fn a_missing_field_is_named_in_declaration_order_not_key_order() {
        let e = serde_json::from_str::<TimeEntry>("{}").unwrap_err();
        assert!(e.to_string().contains("missing field `id`"), "{e}");
    }
}
