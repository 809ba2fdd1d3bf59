//! Applying one change order: the checks, the new version and its impact.

use rust_decimal::Decimal;
use serde::Serialize;

use super::lifecycle::{ChangeOrderEvent, transition};
use super::retro::{Adjustment, retroactive_adjustments};
use super::{ContractHistory, ContractVersion};
use crate::error::{Error, ErrorCode, Pointer};
use crate::ledger::{BilledLedger, ItemKind, LedgerIndex};
use crate::model::{
    Ceiling, CeilingMode, CeilingScope, Change, ChangeOrder, Date, Dec, Id, Milestone,
    MilestoneStatus, Money, RateTarget, RateUnit,
};
use crate::rates::{RateKey, RateRule};
use crate::validate::Problems;

/// A rate that a change order sets or ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RateChange {
    /// What the rate prices.
    #[serde(flatten)]
    pub key: RateKey,
    /// The first work date the change applies to (the change order's effective date).
    pub from: Date,
    /// The rate of this key in force on `from` before the change (absent when none was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Money>,
    /// Its unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_unit: Option<RateUnit>,
    /// The new rate (absent when the change ends the rate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Money>,
    /// Its unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_unit: Option<RateUnit>,
}

/// What a change order changes, in money and dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Impact {
    /// The version it makes.
    pub version: u32,
    /// The change order.
    pub change_order_id: Id,
    /// Rate changes apply to work dated on or after this day.
    pub effective_date: Date,
    /// The day it was approved. Its ceiling, end-date and milestone changes apply from the day it
    /// is in force: this day, or a predecessor's later approval.
    pub approved_on: Option<Date>,
    /// Whether billed work on or after `effective_date` is re-priced.
    pub retroactive: bool,
    /// Milestones added minus milestones removed (percent milestones at their share of the fixed fee).
    pub contract_value_delta: Money,
    /// The ceiling before (absent when there was none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling_before: Option<Money>,
    /// The ceiling after (absent when there is none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling_after: Option<Money>,
    /// `ceiling_after - ceiling_before` (zero when unchanged).
    pub ceiling_delta: Money,
    /// The end date before.
    pub end_date_before: Date,
    /// The end date after.
    pub end_date_after: Date,
    /// The expense markup before, in percent.
    pub expense_markup_before: Dec,
    /// The expense markup after, in percent.
    pub expense_markup_after: Dec,
    /// Ids of milestones added.
    pub milestones_added: Vec<Id>,
    /// Ids of milestones removed.
    pub milestones_removed: Vec<Id>,
    /// The rates set or ended, in the order of the changes.
    pub rate_changes: Vec<RateChange>,
}

/// The result of applying a change order.
#[derive(Debug, Clone, PartialEq)]
pub struct Amendment {
    /// The history with the new version appended.
    pub history: ContractHistory,
    /// What changed.
    pub impact: Impact,
    /// For a retroactive change order with a billed ledger: the adjustment each billed item needs.
    pub adjustments: Vec<Adjustment>,
}

fn first_problem(p: Problems, at: &Pointer) -> Result<(), Error> {
    let all = p.into_vec();
    match all.first() {
        None => Ok(()),
        Some(first) => Err(Error::new(
            first.code,
            format!("the change order cannot be applied: {}", first.message),
        )
        .at(format!("{}{}", at.as_str(), first.path))
        .with("problems", all.len())),
    }
}

fn key_of(t: &RateTarget) -> RateKey {
    RateKey {
        role: t.role.clone(),
        resource_id: t.resource_id.clone(),
        task_id: t.task_id.clone(),
    }
}

/// Ends every rule of `key` the day before `from`; rules starting on or after `from` go.
fn truncate(rates: &mut Vec<RateRule>, key: &RateKey, from: Date) {
    let day_before = from.pred();
    rates.retain_mut(|r| {
        if r.key != *key {
            return true;
        }
        if r.effective_from >= from {
            return false;
        }
        if r.effective_to.is_none_or(|to| to >= from) {
            r.effective_to = day_before;
        }
        true
    });
}

fn in_force(rates: &[RateRule], key: &RateKey, on: Date) -> Option<(Money, RateUnit)> {
    rates
        .iter()
        .filter(|r| r.key == *key && r.in_force_on(on))
        .max_by_key(|r| r.effective_from)
        .map(|r| (r.rate, r.unit))
}

/// A milestone's value, as a run bills it ([`Milestone::price`]); zero when nothing prices it.
fn milestone_value(m: &Milestone, h: &ContractHistory) -> Result<Money, Error> {
    Ok(m.price(h.fixed_fee, h.rounding)?
        .unwrap_or(Money::zero(h.currency)))
}

fn currency_check(m: &Money, h: &ContractHistory, at: Pointer) -> Result<(), Error> {
    if m.currency == h.currency {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::MoneyCurrencyMismatch,
            format!(
                "the amount is in `{}` but contract `{}` is in `{}`",
                m.currency, h.contract_id, h.currency
            ),
        )
        .at(at.key("currency")))
    }
}

/// Refuses a change order of another contract (`CHANGES_WRONG_CONTRACT`); `at` is its path.
pub(super) fn same_contract(co: &ChangeOrder, contract_id: &Id, at: &Pointer) -> Result<(), Error> {
    if &co.contract_id == contract_id {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::ChangesWrongContract,
        format!(
            "change order `{}` amends `{}`, not `{contract_id}`",
            co.id, co.contract_id
        ),
    )
    .at(at.key("contract_id")))
}

/// Refuses a ceiling below what `ledger` bills against it, net of credits
/// (`CHANGES_CEILING_BELOW_BILLED` at `at`, the last change that set the ceiling).
pub(super) fn ceiling_not_below_billed(
    v: &ContractVersion,
    ledger: &LedgerIndex<'_>,
    at: &Pointer,
) -> Result<(), Error> {
    let Some(c) = &v.terms.ceiling else {
        return Ok(());
    };
    let billed = Money::new(ledger.against_ceiling()?, c.amount.currency);
    if c.amount.amount < billed.amount {
        return Err(Error::new(
            ErrorCode::ChangesCeilingBelowBilled,
            format!(
                "the new ceiling {} is below the {} already billed",
                c.amount, billed
            ),
        )
        .at(at.clone())
        .with("ceiling", c.amount.amount_string())
        .with("billed", billed.amount_string()));
    }
    Ok(())
}

/// The version change order `co` makes from `prev` (errors point under `at`), what it changed,
/// and the index of its last change that set the ceiling (which the caller checks against the
/// ledger: a later change order may raise the ceiling again).
pub(super) fn next_version(
    h: &ContractHistory,
    prev: &ContractVersion,
    co: &ChangeOrder,
    at: &Pointer,
    ledger: Option<&LedgerIndex<'_>>,
) -> Result<(ContractVersion, Impact, Option<usize>), Error> {
    same_contract(co, &h.contract_id, at)?;
    let expected = prev.version.saturating_add(1);
    if co.sequence != expected {
        return Err(Error::new(
            ErrorCode::ChangesOutOfSequence,
            format!(
                "change order `{}` has sequence {} but the contract is at version {}; the next change order must have sequence {expected}",
                co.id, co.sequence, prev.version
            ),
        )
        .at(at.key("sequence"))
        .with("expected", expected)
        .with("got", co.sequence));
    }
    let mut p = Problems::new();
    crate::validate::documents::change_order(co, &Pointer::root(), &mut p);
    first_problem(p, at)?;
    let zero = Money::zero(h.currency);
    let mut terms = prev.terms.clone();
    let mut rates = prev.rates.clone();
    let mut markups = prev.markups.clone();
    let mut rate_changes = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut value_delta = zero;
    let mut last_ceiling_change: Option<usize> = None;
    let version = co.sequence;
    let changes = at.key("changes");
    for (j, ch) in co.changes.iter().enumerate() {
        let cat = changes.index(j);
        match ch {
            Change::SetRate { target, rate, unit } => {
                currency_check(rate, h, cat.key("rate"))?;
                let key = key_of(target);
                known_target(&prev.rates, &key, &cat, false)?;
                let before = in_force(&rates, &key, co.effective_date);
                truncate(&mut rates, &key, co.effective_date);
                rates.push(RateRule {
                    key: key.clone(),
                    rate: *rate,
                    unit: *unit,
                    effective_from: co.effective_date,
                    effective_to: None,
                    source: format!("change_order:{}", co.id),
                    introduced_in: version,
                    origin: crate::rates::RuleOrigin::Unknown,
                });
                rate_changes.push(RateChange {
                    key,
                    from: co.effective_date,
                    before: before.map(|b| b.0),
                    before_unit: before.map(|b| b.1),
                    after: Some(*rate),
                    after_unit: Some(*unit),
                });
            }
            Change::EndRate { target } => {
                let key = key_of(target);
                known_target(&prev.rates, &key, &cat, true)?;
                let before = in_force(&rates, &key, co.effective_date);
                truncate(&mut rates, &key, co.effective_date);
                rate_changes.push(RateChange {
                    key,
                    from: co.effective_date,
                    before: before.map(|b| b.0),
                    before_unit: before.map(|b| b.1),
                    after: None,
                    after_unit: None,
                });
            }
            Change::SetCeiling { amount } => {
                currency_check(amount, h, cat.key("amount"))?;
                let (scope, mode) = terms
                    .ceiling
                    .as_ref()
                    .map_or((CeilingScope::Fees, CeilingMode::Split), |c| {
                        (c.scope, c.mode)
                    });
                terms.ceiling = Some(Ceiling {
                    amount: *amount,
                    scope,
                    mode,
                });
                last_ceiling_change = Some(j);
            }
            Change::AdjustCeiling { delta } => {
                currency_check(delta, h, cat.key("delta"))?;
                let Some(c) = terms.ceiling.as_mut() else {
                    return Err(Error::new(
                        ErrorCode::ChangesNoCeiling,
                        format!(
                            "contract `{}` has no ceiling to adjust; use `set_ceiling`",
                            h.contract_id
                        ),
                    )
                    .at(cat));
                };
                c.amount = c.amount.checked_add(*delta)?;
                last_ceiling_change = Some(j);
            }
            Change::AddMilestone { milestone } => {
                // Checked as any milestone of the contract is (amount in its currency and at
                // scale, not negative; a percent in (0, 100] of a fixed fee it has).
                let at = cat.key("milestone");
                let mut p = Problems::new();
                crate::validate::documents::milestone_of(
                    milestone,
                    h.currency,
                    h.fixed_fee.is_some(),
                    &Pointer::root(),
                    &mut p,
                );
                first_problem(p, &at)?;
                if terms.milestones.iter().any(|m| m.id == milestone.id) {
                    return Err(Error::new(
                        ErrorCode::DocumentDuplicateId,
                        format!(
                            "milestone `{}` already exists on contract `{}`",
                            milestone.id, h.contract_id
                        ),
                    )
                    .at(cat.key("milestone").key("id")));
                }
                value_delta = value_delta.checked_add(milestone_value(milestone, h)?)?;
                added.push(milestone.id.clone());
                terms.milestones.push(milestone.clone());
                let percent: Decimal = terms
                    .milestones
                    .iter()
                    .filter_map(|m| m.percent.map(|d| d.0))
                    .fold(Decimal::ZERO, Decimal::saturating_add);
                if percent > Decimal::ONE_HUNDRED {
                    return Err(Error::new(
                        ErrorCode::DocumentInvalidPercent,
                        format!("milestone percents would add up to {percent}, more than 100"),
                    )
                    .at(at.key("percent")));
                }
            }
            Change::RemoveMilestone { milestone_id } => {
                let Some(pos) = terms.milestones.iter().position(|m| m.id == *milestone_id) else {
                    return Err(Error::new(
                        ErrorCode::ChangesUnknownTarget,
                        format!(
                            "milestone `{milestone_id}` is not on contract `{}`",
                            h.contract_id
                        ),
                    )
                    .at(cat.key("milestone_id")));
                };
                let billed_in_ledger = ledger
                    .and_then(|l| l.get(ItemKind::Milestone, milestone_id.as_str()))
                    .is_some_and(|n| n.quantity > Decimal::ZERO);
                let m = terms.milestones.remove(pos);
                if m.status == MilestoneStatus::Billed || billed_in_ledger {
                    return Err(Error::new(
                        ErrorCode::ChangesMilestoneBilled,
                        format!(
                            "milestone `{milestone_id}` is already billed and cannot be removed"
                        ),
                    )
                    .at(cat.key("milestone_id")));
                }
                value_delta = value_delta.checked_sub(milestone_value(&m, h)?)?;
                removed.push(milestone_id.clone());
            }
            Change::SetEndDate { end_date } => {
                if *end_date < h.start_date {
                    return Err(Error::new(
                        ErrorCode::DocumentDateOrder,
                        format!(
                            "end_date {end_date} is before the contract's start_date {}",
                            h.start_date
                        ),
                    )
                    .at(cat.key("end_date")));
                }
                terms.end_date = *end_date;
            }
            Change::SetExpenseMarkup { markup_percent } => {
                // Dated like a rate: from the effective date on, this markup replaces any set
                // before (whichever change order takes effect first).
                terms.expense_markup_percent = *markup_percent;
                markups.retain(|(from, _)| from.is_none_or(|f| f < co.effective_date));
                markups.push((Some(co.effective_date), *markup_percent));
            }
        }
    }
    let ceiling_before = prev.terms.ceiling.as_ref().map(|c| c.amount);
    let ceiling_after = terms.ceiling.as_ref().map(|c| c.amount);
    let ceiling_delta = ceiling_after
        .unwrap_or(zero)
        .checked_sub(ceiling_before.unwrap_or(zero))?;
    let impact = Impact {
        version,
        change_order_id: co.id.clone(),
        effective_date: co.effective_date,
        approved_on: co.approved_on,
        retroactive: co.retroactive,
        contract_value_delta: value_delta,
        ceiling_before,
        ceiling_after,
        ceiling_delta,
        end_date_before: prev.terms.end_date,
        end_date_after: terms.end_date,
        expense_markup_before: prev.terms.expense_markup_percent,
        expense_markup_after: terms.expense_markup_percent,
        milestones_added: added,
        milestones_removed: removed,
        rate_changes,
    };
    let v = ContractVersion {
        version,
        change_order_id: Some(co.id.clone()),
        effective_date: Some(co.effective_date),
        approved_on: co.approved_on,
        in_force_from: match (prev.in_force_from, co.approved_on) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => b.or(a),
        },
        retroactive: co.retroactive,
        terms,
        hours_per_day: prev.hours_per_day,
        rates,
        markups,
    };
    Ok((v, impact, last_ceiling_change))
}

/// A role must already be on the card; a resource may get its first rate but can only lose one
/// it has.
fn known_target(
    rates: &[RateRule],
    key: &RateKey,
    at: &Pointer,
    ending: bool,
) -> Result<(), Error> {
    if let Some(role) = &key.role
        && !rates
            .iter()
            .any(|r| r.key.role.as_deref() == Some(role.as_str()))
    {
        return Err(Error::new(
            ErrorCode::ChangesUnknownTarget,
            format!("role `{role}` is not on the rate card"),
        )
        .at(at.key("role")));
    }
    if ending
        && let Some(res) = &key.resource_id
        && !rates
            .iter()
            .any(|r| r.key.resource_id.as_ref() == Some(res))
    {
        return Err(Error::new(
            ErrorCode::ChangesUnknownTarget,
            format!("resource `{res}` has no rate on the rate card"),
        )
        .at(at.key("resource_id")));
    }
    Ok(())
}

/// Applies an approved change order to the latest version of `history`.
///
/// Refused with `CHANGES_NOT_APPROVED` (not approved), `CHANGES_WRONG_CONTRACT`,
/// `CHANGES_OUT_OF_SEQUENCE` (not version + 1; approvals may arrive in any order),
/// `CHANGES_UNKNOWN_TARGET` (a role, resource or milestone the contract does not have),
/// `CHANGES_NO_CEILING`, `CHANGES_CEILING_BELOW_BILLED` and `CHANGES_MILESTONE_BILLED` (against
/// `ledger`), or the first validation problem of the change order. Error paths point into
/// `{change_order, ledger}`.
pub fn apply_change_order(
    history: &ContractHistory,
    co: &ChangeOrder,
    ledger: Option<&BilledLedger>,
) -> Result<Amendment, Error> {
    let at = Pointer::root().key("change_order");
    transition(co.status, ChangeOrderEvent::Apply).map_err(|e| {
        let mut e = e.at(at.key("status"));
        e.message = format!(
            "change order `{}` is `{}`; only an approved change order can be applied",
            co.id, co.status
        );
        e
    })?;
    if history
        .versions()
        .any(|v| v.change_order_id.as_ref() == Some(&co.id))
    {
        return Err(Error::new(
            ErrorCode::DocumentDuplicateId,
            format!(
                "change order `{}` is already in the contract's history: a version, an adjustment and a milestone name their change order by id",
                co.id
            ),
        )
        .at(at.key("id")));
    }
    let index = ledger
        .map(|l| LedgerIndex::for_contract(Some(l), &history.contract_id, history.currency))
        .transpose()?;
    let (v, impact, last_ceiling_change) =
        next_version(history, history.current(), co, &at, index.as_ref())?;
    if let Some(j) = last_ceiling_change {
        // Without a ledger, nothing is billed: the ceiling may not go below zero.
        let none = LedgerIndex::new(None, history.currency)?;
        ceiling_not_below_billed(
            &v,
            index.as_ref().unwrap_or(&none),
            &at.key("changes").index(j),
        )?;
    }
    let mut next = history.clone();
    next.push(v);
    let adjustments = match (ledger, &index) {
        (Some(l), Some(i)) => retroactive_adjustments(&next, co, l, i)?,
        _ => Vec::new(),
    };
    Ok(Amendment {
        history: next,
        impact,
        adjustments,
    })
}
