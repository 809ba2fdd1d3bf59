//! Rate resolution: which rate prices a piece of work, and why.
//!
//! The rules are in `spec/domain/rate-cards.md`. A contract's rate card (with the rate changes of
//! its change orders folded in, see [`crate::changes`]) is compiled once into a [`CompiledCard`]:
//! names are interned, and every (role or resource, task) key gets a timeline of disjoint dated
//! segments. Resolving a [`RateQuery`] is then a few map look-ups and one binary search per
//! specificity, with no allocation.

mod compiled;
mod validate;

pub use compiled::CompiledCard;
pub use validate::validate_rate_card;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::{Date, Id, Money, RateEntry, RateUnit, RoundingMode};

/// How specific the winning rate is; earlier variants win over later ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Specificity {
    /// A manual `rate_override` on the time entry.
    Override,
    /// A rate for one resource on one task.
    ResourceTask,
    /// A rate for one resource.
    Resource,
    /// A rate for a role on one task.
    RoleTask,
    /// A rate for a role.
    Role,
}

impl Specificity {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Override => "override",
            Self::ResourceTask => "resource_task",
            Self::Resource => "resource",
            Self::RoleTask => "role_task",
            Self::Role => "role",
        }
    }
}

/// What a rate prices: a role or a resource, optionally narrowed to one task.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RateKey {
    /// The role (exactly one of `role` and `resource_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The resource (exactly one of `role` and `resource_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<Id>,
    /// Narrows the rate to one task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Id>,
}

impl RateKey {
    /// The specificity of a rate with this key.
    pub fn specificity(&self) -> Specificity {
        match (&self.resource_id, &self.task_id) {
            (Some(_), Some(_)) => Specificity::ResourceTask,
            (Some(_), None) => Specificity::Resource,
            (None, Some(_)) => Specificity::RoleTask,
            (None, None) => Specificity::Role,
        }
    }

    /// `role=Senior Architect,task=T-CUTOVER` (the text used in `rate_source`).
    pub fn describe(&self) -> String {
        let mut s = match (&self.resource_id, &self.role) {
            (Some(r), _) => format!("resource={r}"),
            (None, Some(r)) => format!("role={r}"),
            (None, None) => String::new(),
        };
        if let Some(t) = &self.task_id {
            s.push_str(",task=");
            s.push_str(t.as_str());
        }
        s
    }
}

/// One dated rate of a contract version: a rate-card entry, or a rate set by a change order.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RateRule {
    /// What it prices.
    #[serde(flatten)]
    pub key: RateKey,
    /// The rate, in the contract currency.
    pub rate: Money,
    /// Per hour or per day.
    pub unit: RateUnit,
    /// First work date it applies to.
    pub effective_from: Date,
    /// Last work date it applies to (inclusive); open-ended when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<Date>,
    /// Where it comes from: `rate_card:role=Consultant@2026-01-01` or `change_order:CO-1`.
    pub source: String,
    /// The contract version that introduced it (0 for the original rate card).
    pub introduced_in: u32,
    /// Where in the request it comes from, for a billing run to name it without a copy.
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub origin: RuleOrigin,
}

/// Where a [`RateRule`] comes from in the documents a history was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleOrigin {
    /// Not recorded (a rule built on its own).
    #[default]
    Unknown,
    /// Entry `i` of the contract's rate card.
    CardEntry(usize),
    /// Change order `i` of the list the history was built from.
    ChangeOrder(usize),
}

// Two rules are equal when they price alike and name the same source: where in a request each was
// read from (`origin`) is not part of the rule.
impl PartialEq for RateRule {
    fn eq(&self, other: &Self) -> bool {
        let RateRule {
            key,
            rate,
            unit,
            effective_from,
            effective_to,
            source,
            introduced_in,
            origin: _,
        } = self;
        (
            key,
            rate,
            unit,
            effective_from,
            effective_to,
            source,
            introduced_in,
        ) == (
            &other.key,
            &other.rate,
            &other.unit,
            &other.effective_from,
            &other.effective_to,
            &other.source,
            &other.introduced_in,
        )
    }
}

impl RateRule {
    /// The rule for a rate-card entry of the original contract.
    pub fn from_entry(e: &RateEntry) -> RateRule {
        let key = RateKey {
            role: e.role.clone(),
            resource_id: e.resource_id.clone(),
            task_id: e.task_id.clone(),
        };
        let source = format!("rate_card:{}@{}", key.describe(), e.effective_from);
        RateRule {
            key,
            rate: e.rate,
            unit: e.unit,
            effective_from: e.effective_from,
            effective_to: e.effective_to,
            source,
            introduced_in: 0,
            origin: RuleOrigin::Unknown,
        }
    }

    /// Whether the rule is in force on `date` (`effective_from <= date <= effective_to`).
    pub fn in_force_on(&self, date: Date) -> bool {
        self.effective_from <= date && self.effective_to.is_none_or(|to| date <= to)
    }
}

/// What to price: the time entry's role, resource, task and work date, and its manual rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateQuery<'a> {
    /// The role worked in.
    pub role: &'a str,
    /// Who worked.
    pub resource_id: Option<&'a str>,
    /// The task.
    pub task_id: Option<&'a str>,
    /// The day worked.
    pub work_date: Date,
    /// A manual rate that wins over every rate-card entry.
    pub rate_override: Option<Money>,
}

/// The answer to a [`RateQuery`]: a rate with its source, or `missing_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateResolution<'a> {
    /// A rate was found.
    Rate {
        /// The rate.
        rate: Money,
        /// Per hour or per day.
        unit: RateUnit,
        /// The winning rule; `None` for a manual override.
        rule: Option<&'a RateRule>,
        /// For day rates: the hours in a billable day.
        hours_per_day: Option<Decimal>,
        /// The contract version resolved against.
        contract_version: u32,
    },
    /// No rate applies: the work is held with `missing_rate`.
    Missing {
        /// The contract version resolved against.
        contract_version: u32,
    },
}

/// The `rate_source` of a manual override.
pub const RATE_OVERRIDE_SOURCE: &str = "rate_override";
/// The `rate_source` (and hold reason) when no rate applies.
pub const MISSING_RATE: &str = "missing_rate";

impl RateResolution<'_> {
    /// The winning entry (`rate_card:...`, `change_order:...`, `rate_override`) or `missing_rate`.
    pub fn rate_source(&self) -> &str {
        match self {
            Self::Rate { rule: Some(r), .. } => &r.source,
            Self::Rate { rule: None, .. } => RATE_OVERRIDE_SOURCE,
            Self::Missing { .. } => MISSING_RATE,
        }
    }

    /// The contract version resolved against.
    pub fn contract_version(&self) -> u32 {
        match self {
            Self::Rate {
                contract_version, ..
            }
            | Self::Missing { contract_version } => *contract_version,
        }
    }

    /// How specific the winning rate is (`None` when missing).
    pub fn specificity(&self) -> Option<Specificity> {
        match self {
            Self::Rate { rule: Some(r), .. } => Some(r.key.specificity()),
            Self::Rate { rule: None, .. } => Some(Specificity::Override),
            Self::Missing { .. } => None,
        }
    }

    /// The rate and unit, when found.
    pub fn rate(&self) -> Option<(Money, RateUnit)> {
        match self {
            Self::Rate { rate, unit, .. } => Some((*rate, *unit)),
            Self::Missing { .. } => None,
        }
    }

    /// The amount for `hours` of work, rounded once to the currency's minor unit: `hours × rate`
    /// for hourly rates, `hours × rate ÷ hours_per_day` for day rates. `None` when missing.
    pub fn price_hours(&self, hours: Decimal, mode: RoundingMode) -> Result<Option<Money>, Error> {
        match self {
            Self::Rate {
                rate,
                unit,
                hours_per_day,
                ..
            } => price_hours(*rate, *unit, *hours_per_day, hours, mode).map(Some),
            Self::Missing { .. } => Ok(None),
        }
    }
}

/// `hours × rate` (hour) or `hours × rate ÷ hours_per_day` (day), rounded once.
pub fn price_hours(
    rate: Money,
    unit: RateUnit,
    hours_per_day: Option<Decimal>,
    hours: Decimal,
    mode: RoundingMode,
) -> Result<Money, Error> {
    let gross = rate.checked_mul(hours)?;
    let exact = match unit {
        RateUnit::Hour => gross,
        RateUnit::Day => {
            let hpd = hours_per_day.unwrap_or(Decimal::from(8u32));
            let amount = crate::model::decimal::div(gross.amount, hpd, "the day-rate amount")?;
            Money::new(amount, rate.currency)
        }
    };
    Ok(exact.rounded(mode))
}
