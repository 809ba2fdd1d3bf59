//! Billed work re-priced by a retroactive change order: which change order re-prices an item, and
//! at which rate. `apply_change_order` (the adjustments one change order needs) and the billing
//! run (the adjustment lines of a run) both ask [`repricing`].

use serde::Serialize;

use super::ContractHistory;
use crate::error::{Error, ErrorCode, Pointer};

use rust_decimal::Decimal;

use crate::ledger::{BilledLedger, ItemKind, LedgerEntry, LedgerIndex};
use crate::model::{ChangeOrder, Date, Dec, Id, Money, RateUnit, TimeEntry};
use crate::rates::{RATE_OVERRIDE_SOURCE, RateQuery, RateResolution};

/// The adjustment one billed time item needs: new amount minus billed amount.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Adjustment {
    /// The billed time entry.
    pub item_id: Id,
    /// The day worked.
    pub work_date: Date,
    /// The hours billed.
    pub quantity: Dec,
    /// The version that priced it.
    pub billed_version: u32,
    /// The rate billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billed_rate: Option<Money>,
    /// The amount billed.
    pub billed_amount: Money,
    /// The version that re-prices it.
    pub new_version: u32,
    /// The rate now (absent when no rate applies any more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_rate: Option<Money>,
    /// Its unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_unit: Option<RateUnit>,
    /// The winning entry now, or `missing_rate`.
    pub rate_source: String,
    /// The amount now, rounded once (absent when no rate applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_amount: Option<Money>,
    /// `new_amount - billed_amount` (absent when no rate applies: the item is held with
    /// `missing_rate` for a person to decide).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjustment: Option<Money>,
}

/// How a retroactive change order re-prices one billed time item.
#[derive(Debug, Clone, Copy)]
pub struct Repricing<'h> {
    /// The change order's version.
    pub version: u32,
    /// The change order.
    pub change_order_id: &'h Id,
    /// The item's rate in that version (`Missing` when the change order left it none).
    pub resolution: RateResolution<'h>,
}

/// The change order that re-prices billed work `q` (billed by version `since`): the latest
/// retroactive one after `since` whose rate changes change `q`'s rate, that is whose version and
/// the one before it resolve `q` to different rates. A change order that changes other rates, or
/// only other terms, re-prices nothing. See `spec/domain/billing.md` ("Retroactive change
/// orders").
pub fn repricing<'h>(
    history: &'h ContractHistory,
    q: &RateQuery<'_>,
    since: u32,
) -> Option<Repricing<'h>> {
    for v in history.versions().rev() {
        if v.version <= since {
            break;
        }
        if !v.retroactive {
            continue;
        }
        // (A version that changes no rate changes no item's rate: no look-up needed.)
        if history
            .get(v.version.saturating_sub(1))
            .is_some_and(|prev| prev.rates == v.rates)
        {
            continue;
        }
        let after = history.resolve_in(v.version, q);
        let before = history.resolve_in(v.version.saturating_sub(1), q);
        if before.rate() != after.rate() {
            return Some(Repricing {
                version: v.version,
                change_order_id: v.change_order_id.as_ref()?,
                resolution: after,
            });
        }
    }
    None
}

/// What billed time is re-priced by: the role, resource, task and work date of its latest bill
/// (`bill`, at `at` in the ledger), each taken from the run's time entry of that id (`entry`)
/// when the bill does not record it. A bill without a role and no entry to read it from is
/// refused (`INPUT_MISSING_FIELD` at the bill's `role`).
pub fn billed_query<'a>(
    bill: &'a LedgerEntry,
    entry: Option<&'a TimeEntry>,
    at: &Pointer,
) -> Result<RateQuery<'a>, Error> {
    let role = match (bill.role.as_deref(), entry) {
        (Some(role), _) => role,
        (None, Some(e)) => &*e.role,
        (None, None) => {
            return Err(Error::new(
                ErrorCode::InputMissingField,
                format!(
                    "billed time item `{}` needs `role` to be re-priced",
                    bill.item_id
                ),
            )
            .at(at.key("role")));
        }
    };
    let resource_id = bill
        .resource_id
        .as_ref()
        .or(entry.map(|e| &e.resource_id))
        .map(Id::as_str);
    let task_id = bill
        .task_id
        .as_ref()
        .or(entry.map(|e| &e.task_id))
        .map(Id::as_str);
    Ok(RateQuery {
        role,
        resource_id,
        task_id,
        work_date: bill.date,
        rate_override: None,
    })
}

/// Whether a bill was priced at a manual rate, which no change order re-prices.
pub fn billed_at_override(bill: &LedgerEntry) -> bool {
    bill.rate_source.as_deref() == Some(RATE_OVERRIDE_SOURCE)
}

/// For a retroactive change order `co`, the last version of `after`: every billed time item whose
/// rate it changes, with the adjustment its hours billed net of credits need. Items billed at a
/// manual `rate_override` are never re-priced; items credited in full are skipped. Empty for a
/// prospective change order. `index` is `ledger` netted.
pub fn retroactive_adjustments(
    after: &ContractHistory,
    co: &ChangeOrder,
    ledger: &BilledLedger,
    index: &LedgerIndex<'_>,
) -> Result<Vec<Adjustment>, Error> {
    let mut out = Vec::new();
    if !co.retroactive {
        return Ok(out);
    }
    let entries = Pointer::root().key("ledger").key("entries");
    // In the ledger's order, each item at its latest bill.
    for (i, bill) in ledger.entries.iter().enumerate() {
        let Some(net) = index
            .get(ItemKind::Time, bill.item_id.as_str())
            .filter(|n| bill.kind == ItemKind::Time && n.last_entry == i)
        else {
            continue;
        };
        if net.quantity <= Decimal::ZERO
            || billed_at_override(bill)
            || bill.date < co.effective_date
        {
            continue;
        }
        let q = billed_query(bill, None, &entries.index(i))?;
        let Some(r) = repricing(after, &q, co.sequence.saturating_sub(1)) else {
            continue;
        };
        let billed_amount = Money::new(net.amount, after.currency());
        let new_amount = r.resolution.price_hours(net.quantity, after.rounding())?;
        let adjustment = match new_amount {
            Some(n) => Some(n.checked_sub(billed_amount)?),
            None => None,
        };
        out.push(Adjustment {
            item_id: bill.item_id.clone(),
            work_date: bill.date,
            quantity: Dec(net.quantity),
            billed_version: net.contract_version,
            billed_rate: Some(bill.unit_price),
            billed_amount,
            new_version: r.version,
            new_rate: r.resolution.rate().map(|r| r.0),
            new_unit: r.resolution.rate().map(|r| r.1),
            rate_source: r.resolution.rate_source().to_owned(),
            new_amount,
            adjustment,
        });
    }
    Ok(out)
}
