//! What a run adds up: held items by reason, unbilled approved time by age, totals, the
//! retainer, the ceiling status and the backlog (`spec/domain/billing.md`, "Retainer" and
//! "Summary figures"); and the identities every preview must satisfy, checked before it is
//! returned ("Every amount at its currency's scale").

use rust_decimal::{Decimal, RoundingStrategy};

use super::pricing::{Pricing, add, div, mul, sub};
use crate::billing::sum::Sum;
use crate::billing::types::{
    AdjustmentLine, AgingBucket, CeilingStatus, HeldByReason, HeldItem, HoldReason, InvoicePreview,
    ItemKind, PreviewLine, RetainerStatus, Totals,
};
use crate::error::Error;
use crate::ledger::LedgerIndex;
use crate::model::{BillingModel, CeilingScope, Contract, Date, Dec, Milestone, Money};

/// The aging buckets of unbilled approved time: name and the oldest age (days before `as_of`).
const BUCKETS: [(&str, i64); 4] = [
    ("0-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", i64::MAX),
];

/// Held items, with the summary figures that count them as they are filed.
pub(super) struct Held<'a> {
    pub(super) items: Vec<HeldItem<'a>>,
    /// Count and amount per reason, in [`HoldReason::ALL`] order.
    by_reason: [(u64, Sum); HoldReason::ALL.len()],
    /// Unbilled approved time per aging bucket: entries, hours, amount.
    aging: [(u64, Sum, Sum); BUCKETS.len()],
    /// The run's `as_of`, in days since 1970-01-01.
    as_of_day: i64,
}

impl<'a> Held<'a> {
    /// Held items written into `items`' memory, with room for `capacity` of them.
    pub(super) fn new(mut items: Vec<HeldItem<'a>>, as_of: Date, capacity: usize) -> Self {
        items.reserve(capacity);
        Held {
            items,
            by_reason: [(0, Sum::ZERO); HoldReason::ALL.len()],
            aging: [(0, Sum::ZERO, Sum::ZERO); BUCKETS.len()],
            as_of_day: as_of.days_since_epoch(),
        }
    }

    pub(super) fn push(&mut self, item: HeldItem<'a>) -> Result<(), Error> {
        if let Some(slot) = self.by_reason.get_mut(item.reason as usize) {
            slot.0 += 1;
            // (Adding zero gives the sum unchanged, so an item without an amount adds nothing.)
            if let Some(m) = item.amount {
                at_scale(&m)?;
                slot.1.add(m.amount, "the total")?;
            }
        }
        self.items.push(item);
        Ok(())
    }

    /// Counts approved time worked on `date` that the run does not bill (held for reasons 4-10).
    pub(super) fn unbilled(
        &mut self,
        date: Date,
        hours: Decimal,
        amount: Option<Decimal>,
    ) -> Result<(), Error> {
        let age = self
            .as_of_day
            .saturating_sub(date.days_since_epoch())
            .max(0);
        let idx = BUCKETS
            .iter()
            .position(|(_, max)| age <= *max)
            .unwrap_or(BUCKETS.len() - 1);
        if let Some(slot) = self.aging.get_mut(idx) {
            slot.0 += 1;
            slot.1.add(hours, "the total")?;
            if let Some(amount) = amount {
                slot.2.add(amount, "the total")?;
            }
        }
        Ok(())
    }

    /// The summary's held-by-reason and aging figures.
    pub(super) fn figures(&self, pricing: &Pricing) -> (Vec<HeldByReason>, Vec<AgingBucket>) {
        let held_by_reason = HoldReason::ALL
            .iter()
            .zip(self.by_reason)
            .filter(|(_, (count, _))| *count > 0)
            .map(|(&reason, (count, amount))| HeldByReason {
                reason,
                count,
                amount: pricing.money(amount.value()),
            })
            .collect();
        let aging = BUCKETS
            .iter()
            .zip(self.aging)
            .map(|((name, _), (n, hours, amount))| AgingBucket {
                bucket: (*name).to_owned(),
                entries: n,
                hours: Dec(hours.value()),
                amount: pricing.money(amount.value()),
            })
            .collect();
        (held_by_reason, aging)
    }
}

/// Line totals by kind, summed as the ceiling keeps lines.
#[derive(Clone, Copy)]
pub(super) struct KindTotals([Sum; 3]);

impl KindTotals {
    pub(super) const ZERO: KindTotals = KindTotals([Sum::ZERO; 3]);

    /// Adds a line the ceiling keeps (which must be at the currency's minor unit).
    pub(super) fn add(&mut self, line: &PreviewLine<'_>) -> Result<(), Error> {
        at_scale(&line.amount)?;
        match self.0.get_mut(line.kind as usize) {
            Some(t) => t.add(line.amount.amount, "the total"),
            None => Ok(()),
        }
    }

    fn values(self) -> [Decimal; 3] {
        self.0.map(|t| t.value())
    }
}

/// An output amount must be at its currency's minor unit: one that is not is a defect.
#[inline]
fn at_scale(m: &Money) -> Result<(), Error> {
    if m.is_at_minor_unit() {
        return Ok(());
    }
    Err(Error::internal(format!(
        "the amount {} {} of a preview is not at the currency's minor unit",
        Dec(m.amount),
        m.currency
    )))
}

/// The totals and the retainer: only what the retainer does not cover is invoiced.
pub(super) fn totals(
    contract: &Contract,
    ledger: &LedgerIndex<'_>,
    kinds: KindTotals,
    adjustments: &[AdjustmentLine],
    pricing: &Pricing,
) -> Result<(Totals, Option<RetainerStatus>), Error> {
    let [time, expenses, milestones] = kinds.values();
    let adjusted = adjustments
        .iter()
        .try_fold(Decimal::ZERO, |acc, a| add(acc, a.amount.amount))?;
    let retainer = match (&contract.retainer, contract.billing_model) {
        (Some(r), BillingModel::Retainer) => {
            // The retainer covers time billed net (adjustments included), within [0, retainer];
            // this run draws the difference it makes, negative when a decrease gives back.
            let covered = |t: Decimal| t.max(Decimal::ZERO).min(r.amount.amount);
            let time_before = ledger.amount_of(ItemKind::Time)?;
            let drawn_before = covered(time_before);
            let this_run = add(time, adjusted)?;
            let drawn = sub(covered(add(time_before, this_run)?), drawn_before)?;
            Some(RetainerStatus {
                amount: r.amount,
                drawn_before: pricing.money(drawn_before),
                drawn_this_run: pricing.money(drawn),
                remaining: pricing.money(sub(r.amount.amount, add(drawn_before, drawn)?)?),
                excess: pricing.money(sub(this_run, drawn)?),
            })
        }
        _ => None,
    };
    let drawdown = retainer
        .as_ref()
        .map_or(Decimal::ZERO, |r| -r.drawn_this_run.amount);
    let total = [expenses, milestones, adjusted, drawdown]
        .into_iter()
        .try_fold(time, add)?;
    Ok((
        Totals {
            time: pricing.money(time),
            expenses: pricing.money(expenses),
            milestones: pricing.money(milestones),
            adjustments: pricing.money(adjusted),
            retainer_drawdown: pricing.money(drawdown),
            total: pricing.money(total),
        },
        retainer,
    ))
}

/// `used ÷ limit × 100`, rounded down to 2 decimals (100.00 means used up); 0 for a limit of 0.
/// The engine's metrics show the same figure.
pub fn utilisation_percent(used: Decimal, limit: Decimal) -> Result<Dec, Error> {
    if limit.is_zero() {
        return Ok(Dec(Decimal::ZERO));
    }
    // Divided first: `used × 100` can overflow where the share cannot, and a share that is a
    // whole number of hundredths of a percent divides exactly.
    let percent = mul(
        div(used, limit, "the utilisation")?,
        Decimal::ONE_HUNDRED,
        "the utilisation",
    )?;
    Ok(Dec(percent
        .round_dp_with_strategy(2, RoundingStrategy::ToZero)
        .normalize()))
}

/// Where the run leaves the ceiling.
pub(super) fn ceiling_status(
    limit: Money,
    scope: CeilingScope,
    billed_before: Decimal,
    used: Decimal,
    pricing: &Pricing,
) -> Result<CeilingStatus, Error> {
    Ok(CeilingStatus {
        limit,
        scope,
        billed_before: pricing.money(billed_before),
        this_run: pricing.money(sub(used, billed_before)?),
        remaining: pricing.money(sub(limit.amount, used)?.max(Decimal::ZERO)),
        utilisation_percent: utilisation_percent(used, limit.amount)?,
    })
}

/// Contract value not yet billed: the ceiling's remaining room, the fixed fee or the milestones'
/// value less the milestones billed, or the retainer left.
pub(super) fn backlog(
    contract: &Contract,
    ledger: &LedgerIndex<'_>,
    milestones: &[&Milestone],
    totals: &Totals,
    retainer: Option<&RetainerStatus>,
    ceiling: Option<&CeilingStatus>,
    pricing: &Pricing,
) -> Result<Option<Money>, Error> {
    let milestone_billed = add(
        ledger.amount_of(ItemKind::Milestone)?,
        totals.milestones.amount,
    )?;
    let backlog = match contract.billing_model {
        BillingModel::FixedFee => contract
            .fixed_fee
            .map(|f| sub(f.amount, milestone_billed))
            .transpose()?,
        BillingModel::Milestone => {
            let value = milestones
                .iter()
                .filter_map(|m| m.amount.map(|a| a.amount))
                .try_fold(Decimal::ZERO, add)?;
            Some(sub(value, milestone_billed)?)
        }
        BillingModel::Retainer => retainer.map(|r| r.remaining.amount),
        BillingModel::TimeAndMaterials => ceiling.map(|c| c.remaining.amount),
    };
    Ok(backlog.map(|b| pricing.money(b.max(Decimal::ZERO))))
}

/// The identities of a preview (`spec/domain/billing.md`, "Every amount at its currency's
/// scale"): the totals sum to the total, nothing counting against the ceiling is billed past it
/// when what was billed before was within it, every amount of the summary at the currency's minor
/// unit. A failure is a defect of billwise (`INTERNAL_ERROR`), never an invoice.
///
/// Each line and held amount was checked as the run kept or filed it ([`KindTotals::add`],
/// [`Held::push`]), which is where the totals come from. Builds with debug assertions (the
/// tests') also add the lines up again; a release build leaves that second pass out (its cost on
/// a large run is in `benches/PERFORMANCE.md`), and the property tests check the same sums from
/// the outside.
pub(super) fn check_identities(p: &InvoicePreview<'_>) -> Result<(), Error> {
    let fail = |what: &str| {
        Err(Error::internal(format!(
            "the preview of `{}` breaks an identity: {what}",
            p.contract_id
        )))
    };
    let t = &p.totals;
    if cfg!(debug_assertions) {
        let mut by_kind = KindTotals::ZERO;
        for l in &p.lines {
            by_kind.add(l)?;
        }
        for h in p.held.iter().filter_map(|h| h.amount.as_ref()) {
            at_scale(h)?;
        }
        if by_kind.values() != [t.time.amount, t.expenses.amount, t.milestones.amount] {
            return fail("the lines do not sum to the totals");
        }
    }
    let adjusted = p
        .adjustments
        .iter()
        .try_fold(Decimal::ZERO, |acc, a| add(acc, a.amount.amount))?;
    let total = [
        t.expenses.amount,
        t.milestones.amount,
        adjusted,
        t.retainer_drawdown.amount,
    ]
    .into_iter()
    .try_fold(t.time.amount, add)?;
    if adjusted != t.adjustments.amount || total != t.total.amount {
        return fail("the totals do not sum to the total");
    }
    if let Some(c) = &p.ceiling {
        let after = add(c.billed_before.amount, c.this_run.amount)?;
        if c.billed_before.amount <= c.limit.amount && after > c.limit.amount {
            return fail("the run bills past the ceiling");
        }
    }
    let summary = [
        &t.time,
        &t.expenses,
        &t.milestones,
        &t.adjustments,
        &t.retainer_drawdown,
        &t.total,
    ]
    .into_iter()
    .chain(p.adjustments.iter().map(|a| &a.amount))
    .chain(p.summary.held_by_reason.iter().map(|h| &h.amount))
    .chain(p.summary.unbilled_approved.iter().map(|b| &b.amount))
    .chain(p.summary.backlog.as_ref())
    .chain(
        p.ceiling
            .iter()
            .flat_map(|c| [&c.limit, &c.billed_before, &c.this_run, &c.remaining]),
    )
    .chain(p.retainer.iter().flat_map(|r| {
        [
            &r.amount,
            &r.drawn_before,
            &r.drawn_this_run,
            &r.excess,
            &r.remaining,
        ]
    }));
    for m in summary {
        if m.currency != p.currency {
            return fail("an amount is not in the contract's currency");
        }
        at_scale(m)?;
    }
    Ok(())
}
