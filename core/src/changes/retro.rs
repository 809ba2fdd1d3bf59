//! Billed work re-priced by a retroactive change order: which change order re-prices an item, and
//! at which rate. `apply_change_order` (the adjustments one change order needs) and the billing
//! run (the adjustment lines of a run) both ask [`repricing`].

use serde::Serialize;

use super::ContractHistory;
use crate::error::{Error, ErrorCode, Pointer};

use rust_decimal::Decimal;

use crate::ledger::{BilledLedger, ItemKind, LedgerEntry, LedgerIndex, NetBilled};
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

/// What a retroactive change order does to one billed time item.
#[derive(Debug, Clone)]
pub enum ItemRepricing<'h> {
    /// Adjust it: the new rate prices its net billed hours at `new_amount`, `delta` more (or less)
    /// than they were billed.
    Adjust {
        /// The change order's version, and the change order.
        version: u32,
        /// The change order.
        change_order_id: &'h Id,
        /// The new rate and its unit.
        rate: Money,
        /// Its unit.
        unit: RateUnit,
        /// What now prices it (`change_order:CO-1`, a rate card entry).
        rate_source: &'h str,
        /// The net billed hours at the new rate, rounded once.
        new_amount: Money,
        /// The amount the hours were billed at: their net amount plus the price reductions
        /// (money-only credits), which re-pricing keeps.
        billed_amount: Money,
        /// `new_amount - billed_amount`.
        delta: Money,
    },
    /// The change order leaves it without a rate: a person decides.
    Unpriced {
        /// The change order's version.
        version: u32,
        /// The change order.
        change_order_id: &'h Id,
        /// The role the item was billed in.
        role: String,
    },
}

/// How retroactive change orders after version `since` (and at most `until`) re-price the billed
/// time item whose latest bill is `bill` (at `at` in the ledger) and whose net is `net`; `entry`
/// is the run's time entry of that id, if any. `None` when nothing re-prices it: not time, billed
/// at a manual rate, nothing billed net, no retroactive change order after `since` that changes
/// rates and takes effect by its date, or one whose new rate is the rate it was billed at (not
/// even the cent a re-rounding of credited work could give), or an adjustment of zero. The one
/// rule `apply_change_order` and the billing run share.
#[allow(clippy::too_many_arguments)]
pub fn reprice_item<'h>(
    history: &'h ContractHistory,
    bill: &LedgerEntry,
    entry: Option<&TimeEntry>,
    net: &NetBilled,
    since: u32,
    until: u32,
    at: &Pointer,
) -> Result<Option<ItemRepricing<'h>>, Error> {
    if bill.kind != ItemKind::Time || net.quantity <= Decimal::ZERO || billed_at_override(bill) {
        return Ok(None);
    }
    // (Only then does the item need its role: a ledger entry without one is refused only when a
    // change order could re-price it.)
    let candidates = history.repricing_versions();
    let could = candidates.iter().any(|&k| {
        k > since
            && k <= until
            && history
                .get(k)
                .and_then(|v| v.effective_date)
                .is_some_and(|d| d <= bill.date)
    });
    if !could {
        return Ok(None);
    }
    let q = billed_query(bill, entry, at)?;
    let Some(r) = repricing(history, &q, since).filter(|r| r.version <= until) else {
        return Ok(None);
    };
    let (rule, (rate, unit)) = match (r.resolution, r.resolution.rate()) {
        (RateResolution::Rate { rule, .. }, Some(rate)) => (rule, rate),
        _ => {
            return Ok(Some(ItemRepricing::Unpriced {
                version: r.version,
                change_order_id: r.change_order_id,
                role: q.role.to_owned(),
            }));
        }
    };
    // The same rate in the same unit as billed (the unit the billed version gives the item; a
    // bill records its price, not its unit): a day rate of 1,400.00 become 1,400.00 an hour is a
    // new rate.
    let billed_unit = history.resolve_in(since, &q).rate().map(|(_, u)| u);
    if rate.amount == net.unit_price && billed_unit.is_none_or(|u| u == unit) {
        return Ok(None);
    }
    let Some(new_amount) = r.resolution.price_hours(net.quantity, history.rounding())? else {
        return Ok(None);
    };
    let billed_amount = Money::new(
        crate::model::decimal::add(net.amount, net.discounts, "the adjustment")?,
        history.currency(),
    );
    let delta = new_amount.checked_sub(billed_amount)?;
    if delta.amount.is_zero() {
        return Ok(None);
    }
    Ok(Some(ItemRepricing::Adjust {
        version: r.version,
        change_order_id: r.change_order_id,
        rate,
        unit,
        // (A billed item's query has no manual rate, so a rule always priced it.)
        rate_source: rule.map_or(RATE_OVERRIDE_SOURCE, |rule| rule.source.as_str()),
        new_amount,
        billed_amount,
        delta,
    }))
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
    let version = after.version();
    // In the ledger's order, each item at its latest bill.
    for (i, bill) in ledger.entries.iter().enumerate() {
        let Some(net) = index
            .get(ItemKind::Time, bill.item_id.as_str())
            .filter(|n| bill.kind == ItemKind::Time && n.last_entry == i)
        else {
            continue;
        };
        let at = entries.index(i);
        let Some(r) = reprice_item(
            after,
            bill,
            None,
            net,
            version.saturating_sub(1),
            version,
            &at,
        )?
        else {
            continue;
        };
        let billed_amount;
        let (new_version, new_rate, new_unit, rate_source, new_amount, adjustment) = match r {
            ItemRepricing::Adjust {
                version,
                rate,
                unit,
                rate_source,
                new_amount,
                billed_amount: b,
                delta,
                ..
            } => {
                billed_amount = b;
                (
                    version,
                    Some(rate),
                    Some(unit),
                    rate_source.to_owned(),
                    Some(new_amount),
                    Some(delta),
                )
            }
            ItemRepricing::Unpriced { version, .. } => {
                billed_amount = Money::new(net.amount, after.currency());
                (
                    version,
                    None,
                    None,
                    crate::rates::MISSING_RATE.to_owned(),
                    None,
                    None,
                )
            }
        };
        out.push(Adjustment {
            item_id: bill.item_id.clone(),
            work_date: bill.date,
            quantity: Dec(net.quantity),
            billed_version: net.contract_version,
            billed_rate: Some(bill.unit_price),
            billed_amount,
            new_version,
            new_rate,
            new_unit,
            rate_source,
            new_amount,
            adjustment,
        });
    }
    Ok(out)
}
