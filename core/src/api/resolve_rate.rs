//! `resolve_rate`: the rate for one piece of work, and why.

use serde::{Deserialize, Serialize};

use crate::changes::ContractHistory;
use crate::error::Error;
use crate::json::Limits;
use crate::model::{ChangeOrder, Contract, Date, Dec, Id, Money, RateUnit, SchemaVersion};
use crate::rates::{RateQuery, RateResolution, Specificity};

/// The work to price.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RateQueryDoc {
    /// The role worked in.
    pub role: String,
    /// Who worked.
    #[serde(default)]
    pub resource_id: Option<Id>,
    /// The task.
    #[serde(default)]
    pub task_id: Option<Id>,
    /// The day worked.
    pub work_date: Date,
    /// A manual rate on the time entry (wins over the rate card).
    #[serde(default)]
    pub rate_override: Option<Money>,
}

impl RateQueryDoc {
    /// The borrowed query.
    pub fn as_query(&self) -> RateQuery<'_> {
        RateQuery {
            role: &self.role,
            resource_id: self.resource_id.as_ref().map(Id::as_str),
            task_id: self.task_id.as_ref().map(Id::as_str),
            work_date: self.work_date,
            rate_override: self.rate_override,
        }
    }
}

/// What to resolve.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResolveRateRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The contract (version 0).
    pub contract: Contract,
    /// Its approved or applied change orders (any order; sequences 1..n).
    #[serde(default)]
    pub change_orders: Vec<ChangeOrder>,
    /// The work to price.
    pub query: RateQueryDoc,
}

/// Whether a rate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RateOutcome {
    /// A rate applies.
    Rate,
    /// No rate applies; the work is held with `missing_rate`.
    MissingRate,
}

/// The rate and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ResolveRateResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The contract.
    pub contract_id: Id,
    /// The contract version resolved against (0 for the original, n after change order n).
    pub contract_version: u32,
    /// The day worked.
    pub work_date: Date,
    /// `rate` or `missing_rate`.
    pub outcome: RateOutcome,
    /// The rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Money>,
    /// Per hour or per day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<RateUnit>,
    /// For day rates: hours in a billable day (the entry bills `hours / hours_per_day` days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours_per_day: Option<Dec>,
    /// The winning entry (`rate_card:role=...@from`, `change_order:CO-1`, `rate_override`) or
    /// `missing_rate`.
    pub rate_source: String,
    /// Which precedence step won.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specificity: Option<Specificity>,
    /// The winning entry's first day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<Date>,
    /// The winning entry's last day, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<Date>,
    /// The decision in one sentence.
    pub explanation: String,
}

fn who(q: &RateQuery<'_>) -> String {
    let mut s = format!("role `{}`", q.role);
    if let Some(r) = q.resource_id {
        s.push_str(&format!(", resource `{r}`"));
    }
    if let Some(t) = q.task_id {
        s.push_str(&format!(", task `{t}`"));
    }
    s
}

/// The response for one resolution.
pub fn describe(
    contract_id: &Id,
    q: &RateQuery<'_>,
    r: &RateResolution<'_>,
) -> ResolveRateResponse {
    let mut resp = ResolveRateResponse {
        schema_version: SchemaVersion,
        contract_id: contract_id.clone(),
        contract_version: r.contract_version(),
        work_date: q.work_date,
        outcome: RateOutcome::MissingRate,
        rate: None,
        unit: None,
        hours_per_day: None,
        rate_source: r.rate_source().to_owned(),
        specificity: r.specificity(),
        effective_from: None,
        effective_to: None,
        explanation: String::new(),
    };
    match r {
        RateResolution::Rate {
            rate,
            unit,
            rule,
            hours_per_day,
            contract_version,
        } => {
            resp.outcome = RateOutcome::Rate;
            resp.rate = Some(*rate);
            resp.unit = Some(*unit);
            resp.hours_per_day = hours_per_day.map(Dec);
            let per = match hours_per_day {
                Some(h) => format!("per day of {} hours", Dec(*h)),
                None => format!("per {unit}"),
            };
            resp.explanation = match rule {
                None => format!(
                    "the time entry's manual rate override of {rate} {per} wins over the rate card"
                ),
                Some(rule) => {
                    resp.effective_from = Some(rule.effective_from);
                    resp.effective_to = rule.effective_to;
                    let range = match rule.effective_to {
                        Some(to) => format!("from {} to {to}", rule.effective_from),
                        None => format!("from {}", rule.effective_from),
                    };
                    let spec = rule.key.specificity();
                    let what = match spec {
                        Specificity::ResourceTask => "resource and task",
                        Specificity::Resource => "resource",
                        Specificity::RoleTask => "role and task",
                        Specificity::Role | Specificity::Override => "role",
                    };
                    format!(
                        "{rate} {per}: the {what} rate `{}` ({range}) is the most specific rate in force on {} in contract version {contract_version}",
                        rule.source, q.work_date
                    )
                }
            };
        }
        RateResolution::Missing { contract_version } => {
            resp.explanation = format!(
                "no rate for {} is in force on {} in contract version {contract_version}; the work is held with `missing_rate`",
                who(q),
                q.work_date
            );
        }
    }
    resp
}

/// Resolves the rate for one piece of work against a contract and its change orders.
pub fn resolve_rate(
    req: &ResolveRateRequest,
    _limits: &Limits,
) -> Result<ResolveRateResponse, Error> {
    let history = ContractHistory::new(&req.contract, &req.change_orders)?;
    let q = req.query.as_query();
    if let Some(o) = &q.rate_override
        && o.currency != history.currency()
    {
        return Err(Error::new(
            crate::error::ErrorCode::MoneyCurrencyMismatch,
            format!(
                "the rate override is in `{}` but the contract is in `{}`",
                o.currency,
                history.currency()
            ),
        )
        .at("/query/rate_override/currency"));
    }
    let r = history.resolve(&q);
    Ok(describe(history.contract_id(), &q, &r))
}
