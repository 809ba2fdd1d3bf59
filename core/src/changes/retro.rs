//! Adjustments for billed work re-priced by a retroactive change order.

use serde::Serialize;

use super::ContractHistory;
use crate::error::{Error, ErrorCode, Pointer};
use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::billing::{BilledLedger, ItemKind, LedgerIndex};
use crate::model::{ChangeOrder, Date, Dec, Id, Money, RateUnit};
use crate::rates::{RATE_OVERRIDE_SOURCE, RateQuery};

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

/// For a retroactive change order: every billed time item dated on or after its effective date
/// whose rate the change order changed, with the adjustment its hours billed net of credits need.
/// Items billed at a manual `rate_override` are never re-priced; items credited in full are skipped.
/// Empty for a prospective change order.
///
/// `before` is the history without the change order, `after` with it; `index` is `ledger` netted.
pub fn retroactive_adjustments(
    before: &ContractHistory,
    after: &ContractHistory,
    co: &ChangeOrder,
    ledger: &BilledLedger,
    index: &LedgerIndex<'_>,
) -> Result<Vec<Adjustment>, Error> {
    let mut out = Vec::new();
    if !co.retroactive {
        return Ok(out);
    }
    // The last entry of each billed time item describes it; the index has its net quantity.
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, e) in ledger.entries.iter().enumerate() {
        if e.kind == ItemKind::Time {
            last.insert(e.item_id.as_str(), i);
        }
    }
    let entries = Pointer::root().key("ledger").key("entries");
    for (i, item) in ledger.entries.iter().enumerate() {
        if last.get(item.item_id.as_str()) != Some(&i)
            || item.rate_source.as_deref() == Some(RATE_OVERRIDE_SOURCE)
        {
            continue;
        }
        let Some(net) = index
            .get(ItemKind::Time, item.item_id.as_str())
            .filter(|n| n.quantity > Decimal::ZERO)
        else {
            continue;
        };
        let work_date = item.date;
        if work_date < co.effective_date {
            continue;
        }
        let role = item.role.as_deref().ok_or_else(|| {
            Error::new(
                ErrorCode::InputMissingField,
                format!(
                    "billed time item `{}` needs `role` to be re-priced",
                    item.item_id
                ),
            )
            .at(entries.index(i).key("role"))
        })?;
        let q = RateQuery {
            role,
            resource_id: item.resource_id.as_ref().map(Id::as_str),
            task_id: item.task_id.as_ref().map(Id::as_str),
            work_date,
            rate_override: None,
        };
        let old = before.resolve(&q);
        let new = after.resolve(&q);
        if old.rate() == new.rate() {
            continue;
        }
        let billed_amount = Money::new(net.amount, after.currency());
        let new_amount = new.price_hours(net.quantity, after.rounding())?;
        let adjustment = match new_amount {
            Some(n) => Some(n.checked_sub(billed_amount)?),
            None => None,
        };
        out.push(Adjustment {
            item_id: item.item_id.clone(),
            work_date,
            quantity: Dec(net.quantity),
            billed_version: net.contract_version,
            billed_rate: Some(item.unit_price),
            billed_amount,
            new_version: after.version(),
            new_rate: new.rate().map(|r| r.0),
            new_unit: new.rate().map(|r| r.1),
            rate_source: new.rate_source().to_owned(),
            new_amount,
            adjustment,
        });
    }
    Ok(out)
}
