//! The billed ledger: what each item has been billed, net of credits, and committing a preview.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::types::{BilledLedger, InvoicePreview, ItemKind, LedgerEntry};
use crate::error::{Error, ErrorCode};
use crate::model::{Currency, Date, Dec, Id, Money, TimeEntry};

/// Decimals kept for hours (and item shares) that a division produces: a ceiling split's billed
/// hours (rounded down) and the quantity a credit by amount gives back (rounded half up). Every
/// quantity in a ledger then has a bounded scale, so summing bills and credits in any order is
/// exact and a run after a commit finds nothing left, not a residue in the 28th digit.
pub const QUANTITY_DECIMALS: u32 = 12;

/// The quantity a credit of `amount` gives back of an item billed `quantity` for `billed`: never
/// more than `quantity` (crediting all of a 0.00000000000025-item share rounds up, not past it).
pub fn credited_quantity(amount: Decimal, quantity: Decimal, billed: Decimal) -> Option<Decimal> {
    if billed.is_zero() {
        return Some(Decimal::ZERO);
    }
    let q = amount.checked_mul(quantity)?.checked_div(billed)?;
    Some(
        q.round_dp_with_strategy(
            QUANTITY_DECIMALS,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        )
        .min(quantity),
    )
}

/// What one item has been billed, net of credits.
#[derive(Debug, Clone, PartialEq)]
pub struct NetBilled {
    /// Hours (time) or items (expenses, milestones) billed minus credited.
    pub quantity: Decimal,
    /// Amount billed minus credited.
    pub amount: Decimal,
    /// Amount billed against the ceiling minus credited.
    pub against_ceiling: Decimal,
    /// The contract version of the latest billing.
    pub contract_version: u32,
    /// The unit price of the latest billing (the rate that priced it).
    pub unit_price: Decimal,
    /// The item's date.
    pub date: Date,
}

/// The ledger indexed by item: `(kind, item id) → net billed`.
#[derive(Debug, Default)]
pub struct LedgerIndex<'a> {
    items: BTreeMap<ItemKind, BTreeMap<&'a str, NetBilled>>,
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    a.checked_add(b)
        .ok_or_else(|| Error::overflow("the ledger total"))
}

fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    a.checked_sub(b)
        .ok_or_else(|| Error::overflow("the ledger total"))
}

impl<'a> LedgerIndex<'a> {
    /// Indexes a ledger; every amount must be in `currency`, and every credit must name a billed item.
    pub fn new(ledger: Option<&'a BilledLedger>, currency: Currency) -> Result<Self, Error> {
        let mut items: BTreeMap<ItemKind, BTreeMap<&'a str, NetBilled>> = BTreeMap::new();
        let Some(ledger) = ledger else {
            return Ok(Self { items });
        };
        for (i, e) in ledger.entries.iter().enumerate() {
            for (m, field) in [(&e.amount, "amount"), (&e.unit_price, "unit_price")] {
                if m.currency != currency {
                    return Err(Error::new(
                        ErrorCode::MoneyCurrencyMismatch,
                        format!(
                            "ledger entry for `{}` is in `{}`; the contract bills in `{currency}`",
                            e.item_id, m.currency
                        ),
                    )
                    .at(format!("/ledger/entries/{i}/{field}/currency")));
                }
            }
            let net = items
                .entry(e.kind)
                .or_default()
                .entry(e.item_id.as_str())
                .or_insert(NetBilled {
                    quantity: Decimal::ZERO,
                    amount: Decimal::ZERO,
                    against_ceiling: Decimal::ZERO,
                    contract_version: e.contract_version,
                    unit_price: e.unit_price.amount,
                    date: e.date,
                });
            net.quantity = add(net.quantity, e.quantity.0)?;
            net.amount = add(net.amount, e.amount.amount)?;
            if e.against_ceiling {
                net.against_ceiling = add(net.against_ceiling, e.amount.amount)?;
            }
            net.contract_version = e.contract_version;
            net.unit_price = e.unit_price.amount;
        }
        for (i, c) in ledger.credits.iter().enumerate() {
            let at = format!("/ledger/credits/{i}");
            let Some(net) = items
                .get_mut(&c.kind)
                .and_then(|m| m.get_mut(c.item_id.as_str()))
            else {
                return Err(Error::new(
                    ErrorCode::LedgerUnknownItem,
                    format!(
                        "credit note `{}` credits {} `{}`, which the ledger never billed",
                        c.credit_note_id,
                        c.kind.as_str(),
                        c.item_id
                    ),
                )
                .at(at));
            };
            // A credit by quantity gives back the matching share of the amount, and the reverse.
            let share = |num: Decimal, of: Decimal, times: Decimal| {
                if of.is_zero() {
                    Some(Decimal::ZERO)
                } else {
                    num.checked_mul(times).and_then(|x| x.checked_div(of))
                }
            };
            let (quantity, amount) = match (&c.quantity, &c.amount) {
                (Some(q), Some(a)) => (q.0, a.amount),
                (Some(q), None) => (
                    q.0,
                    share(q.0, net.quantity, net.amount)
                        .ok_or_else(|| Error::overflow("the credit"))?,
                ),
                (None, Some(a)) => (
                    credited_quantity(a.amount, net.quantity, net.amount)
                        .ok_or_else(|| Error::overflow("the credit"))?,
                    a.amount,
                ),
                (None, None) => {
                    return Err(Error::new(
                        ErrorCode::LedgerInvalidCredit,
                        "a credit needs a `quantity` or an `amount`",
                    )
                    .at(at));
                }
            };
            let amount = Money::new(amount, currency)
                .rounded(crate::model::RoundingMode::HalfUp)
                .amount;
            if let Some(a) = &c.amount
                && a.currency != currency
            {
                return Err(Error::new(
                    ErrorCode::MoneyCurrencyMismatch,
                    format!(
                        "credit note `{}` is in `{}`; the contract bills in `{currency}`",
                        c.credit_note_id, a.currency
                    ),
                )
                .at(format!("{at}/amount/currency")));
            }
            if (quantity.is_sign_negative() && !quantity.is_zero())
                || (amount.is_sign_negative() && !amount.is_zero())
            {
                return Err(Error::new(
                    ErrorCode::LedgerInvalidCredit,
                    format!(
                        "credit note `{}` gives back a negative amount of `{}` ({}); a credit \
                         gives back, a rebill is a new time entry or expense",
                        c.credit_note_id,
                        c.item_id,
                        Money::new(amount, currency).amount_string(),
                    ),
                )
                .at(at));
            }
            if quantity > net.quantity || amount > net.amount {
                // Say which of the two is over: a credit by quantity of an item billed at no
                // amount is over in quantity only.
                let (given, billed) = if quantity > net.quantity {
                    (
                        format!("quantity {}", crate::model::Dec(quantity)),
                        crate::model::Dec(net.quantity).to_string(),
                    )
                } else {
                    (
                        Money::new(amount, currency).amount_string(),
                        Money::new(net.amount, currency).amount_string(),
                    )
                };
                return Err(Error::new(
                    ErrorCode::LedgerInvalidCredit,
                    format!(
                        "credit note `{}` gives back more of `{}` than is billed ({given} of {billed})",
                        c.credit_note_id, c.item_id,
                    ),
                )
                .at(at));
            }
            let ceiling_share = if net.amount.is_zero() {
                Decimal::ZERO
            } else {
                // Credits reduce the ceiling usage in proportion to the item's share billed against it.
                amount
                    .checked_mul(net.against_ceiling)
                    .and_then(|x| x.checked_div(net.amount))
                    .unwrap_or(Decimal::ZERO)
            };
            net.quantity = sub(net.quantity, quantity)?;
            net.amount = sub(net.amount, amount)?;
            net.against_ceiling = sub(net.against_ceiling, ceiling_share)?;
        }
        Ok(Self { items })
    }

    /// What an item has been billed, net of credits.
    pub fn get(&self, kind: ItemKind, id: &str) -> Option<&NetBilled> {
        self.items.get(&kind).and_then(|m| m.get(id))
    }

    /// Every billed item, by kind and id.
    pub fn iter(&self) -> impl Iterator<Item = (ItemKind, &'a str, &NetBilled)> + '_ {
        self.items
            .iter()
            .flat_map(|(k, m)| m.iter().map(move |(id, n)| (*k, *id, n)))
    }

    /// Net amount billed against the ceiling.
    pub fn against_ceiling(&self) -> Result<Decimal, Error> {
        self.items
            .values()
            .flat_map(BTreeMap::values)
            .try_fold(Decimal::ZERO, |acc, n| add(acc, n.against_ceiling))
    }

    /// Net amount of time billed (retainer draw-down).
    pub fn time_amount(&self) -> Result<Decimal, Error> {
        self.items
            .get(&ItemKind::Time)
            .into_iter()
            .flat_map(BTreeMap::values)
            .try_fold(Decimal::ZERO, |acc, n| add(acc, n.amount))
    }

    /// Net amount billed, everything included.
    pub fn total(&self) -> Result<Decimal, Error> {
        self.items
            .values()
            .flat_map(BTreeMap::values)
            .try_fold(Decimal::ZERO, |acc, n| add(acc, n.amount))
    }
}

/// Records a preview's lines in the ledger as invoice `invoice_id`.
///
/// Adjustment lines are recorded as billings of their item at the new price, so the item's net
/// billed amount becomes what the new rate gives. Time items also record the role, resource and task
/// of their entry in `time_entries` (the run's entries), which a retroactive change order re-prices by.
pub fn commit(
    ledger: Option<BilledLedger>,
    preview: &InvoicePreview<'_>,
    invoice_id: &Id,
    time_entries: &[TimeEntry],
) -> Result<BilledLedger, Error> {
    let mut ledger = ledger.unwrap_or_else(|| BilledLedger {
        schema_version: crate::model::SchemaVersion,
        contract_id: preview.contract_id.clone(),
        entries: Vec::new(),
        credits: Vec::new(),
    });
    if ledger.contract_id != preview.contract_id {
        return Err(Error::new(
            ErrorCode::LedgerWrongContract,
            format!(
                "the ledger is for `{}` but the preview is for `{}`",
                ledger.contract_id, preview.contract_id
            ),
        )
        .at("/ledger/contract_id"));
    }
    if ledger.entries.iter().any(|e| &e.invoice_id == invoice_id) {
        return Err(Error::new(
            ErrorCode::LedgerDuplicateInvoice,
            format!("invoice `{invoice_id}` is already in the ledger"),
        )
        .at("/invoice_id"));
    }
    let against = |kind: ItemKind| match (&preview.ceiling, kind) {
        (None, _) => false,
        (Some(_), ItemKind::Time | ItemKind::Milestone) => true,
        (Some(c), ItemKind::Expense) => c.scope == crate::model::CeilingScope::FeesAndExpenses,
    };
    let entries: BTreeMap<&str, &TimeEntry> =
        time_entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let described = |kind: ItemKind, id: &Id| {
        match kind {
            ItemKind::Time => entries.get(id.as_str()).map(|e| {
                (
                    Some(e.role.to_string()),
                    Some(e.resource_id.clone()),
                    Some(e.task_id.clone()),
                )
            }),
            _ => None,
        }
        .unwrap_or((None, None, None))
    };
    for line in &preview.lines {
        let Some(item_id) = line.source_ids.first() else {
            continue;
        };
        let (role, resource_id, task_id) = described(line.kind, item_id);
        ledger.entries.push(LedgerEntry {
            invoice_id: invoice_id.clone(),
            kind: line.kind,
            item_id: item_id.clone(),
            date: line.date,
            quantity: line.billed_hours.unwrap_or(line.quantity),
            unit_price: line.unit_price,
            amount: line.amount,
            contract_version: line.contract_version,
            against_ceiling: against(line.kind),
            rate_source: (line.kind == ItemKind::Time).then(|| line.rate_source.to_string()),
            role,
            resource_id,
            task_id,
        });
    }
    for adj in &preview.adjustments {
        let (role, resource_id, task_id) = described(ItemKind::Time, &adj.item_id);
        ledger.entries.push(LedgerEntry {
            invoice_id: invoice_id.clone(),
            kind: ItemKind::Time,
            item_id: adj.item_id.clone(),
            date: adj.date,
            quantity: Dec(Decimal::ZERO),
            unit_price: adj.rate_after,
            amount: adj.amount,
            contract_version: adj.contract_version,
            against_ceiling: preview.ceiling.is_some(),
            rate_source: Some(adj.rate_source.clone()),
            role,
            resource_id,
            task_id,
        });
    }
    Ok(ledger)
}
