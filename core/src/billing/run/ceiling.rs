//! The ceiling: `spec/domain/billing.md`, "The ceiling". One [`Meter`] takes everything that
//! counts against it, adjustments first (they correct earlier bills), then the items in their
//! order; it keeps, splits or holds each, and never lets what it has taken pass the limit.

use std::borrow::Cow;

use rust_decimal::{Decimal, RoundingStrategy};

use super::Priced;
use super::pricing::{Pricing, add, div, mul, shown_quantity, sub};
use super::summary::Held;
use crate::billing::text::{Text, Words};
use crate::billing::types::{AdjustmentLine, HeldItem, HoldReason, ItemKind, PreviewLine};
use crate::error::Error;
use crate::ledger::QUANTITY_DECIMALS;
use crate::model::{CeilingMode, Dec, Money};

/// What the ceiling has taken so far.
pub(super) struct Meter {
    /// The limit in force and its mode; `None` without a ceiling.
    limit: Option<(Money, CeilingMode)>,
    /// What the ledger bills against the ceiling, net of credits.
    pub(super) billed_before: Decimal,
    /// `billed_before` plus what this run has taken.
    pub(super) used: Decimal,
    /// Whether an adjustment or an item has found no room: nothing later is taken.
    crossed: bool,
    /// The limit as text, for sentences.
    limit_text: String,
}

impl Meter {
    pub(super) fn new(limit: Option<(Money, CeilingMode)>, billed_before: Decimal) -> Self {
        Meter {
            limit_text: limit.map_or_else(String::new, |(l, _)| l.amount_string()),
            limit,
            billed_before,
            used: billed_before,
            crossed: false,
        }
    }

    /// The room left, or none once the ceiling is crossed (never negative: a ledger may already
    /// bill more than the limit).
    fn room(&self, limit: Decimal) -> Result<Decimal, Error> {
        if self.crossed {
            return Ok(Decimal::ZERO);
        }
        Ok(sub(limit, self.used)?.max(Decimal::ZERO))
    }

    /// Whether an earlier adjustment or item was held while the limit still had room: what is
    /// held after it waits behind it (items count in order), and its sentence says so rather than
    /// show room that is there.
    fn held_behind(&self, limit: Decimal) -> bool {
        self.crossed && self.used < limit
    }

    /// Whether `amount` fits, and if so takes it. Once the ceiling is crossed nothing is added to
    /// what it has taken (adding could overflow past the largest decimal for nothing).
    fn fits(&mut self, limit: Decimal, amount: Decimal) -> Result<bool, Error> {
        if self.crossed {
            return Ok(false);
        }
        let next = add(self.used, amount)?;
        if next <= limit {
            self.used = next;
            return Ok(true);
        }
        Ok(false)
    }

    /// Step 2: adjustments, decreases first (they free room), then increases by date and item; an
    /// increase without room is held whole, whatever the mode (billing part of it would lose the
    /// rest, as the ledger then records the item re-priced), and crosses the ceiling. Returns the
    /// adjustments kept, by date and item.
    ///
    /// Each adjustment comes with the part of it that counts against the ceiling
    /// (`ledger::adjustment_ceiling_part`): an increase in full, a decrease up to what its item
    /// has against the ceiling.
    pub(super) fn adjustments<'a>(
        &mut self,
        adjustments: Vec<(AdjustmentLine, Decimal)>,
        held: &mut Held<'a>,
        pricing: &Pricing,
    ) -> Result<Vec<AdjustmentLine>, Error> {
        let Some((limit, _)) = self.limit else {
            return Ok(adjustments.into_iter().map(|(a, _)| a).collect());
        };
        let (decreases, increases): (Vec<_>, Vec<_>) = adjustments
            .into_iter()
            .partition(|(a, _)| a.amount.amount <= Decimal::ZERO);
        let mut kept = Vec::with_capacity(decreases.len() + increases.len());
        for (a, against) in decreases {
            self.used = add(self.used, against)?;
            kept.push(a);
        }
        for (a, against) in increases {
            if self.fits(limit.amount, against)? {
                kept.push(a);
                continue;
            }
            let room = self.room(limit.amount)?;
            let sentence = if self.held_behind(limit.amount) {
                format!(
                    "the adjustment of time entry {} for {} waits behind an earlier one held at the ceiling of {} (they count in order)",
                    a.item_id, a.change_order_id, self.limit_text
                )
            } else {
                format!(
                    "the adjustment of time entry {} for {} would bring the total billed against the ceiling to more than {} ({} left)",
                    a.item_id,
                    a.change_order_id,
                    self.limit_text,
                    pricing.money(room).amount_string()
                )
            };
            self.crossed = true;
            held.push(HeldItem {
                amount: Some(a.amount),
                sentence: Text::from(sentence),
                change_order_id: Some(Cow::Owned(a.change_order_id)),
                date: a.date,
                id: Cow::Owned(a.item_id),
                kind: ItemKind::Time,
                problems: Vec::new(),
                reason: HoldReason::CeilingExceeded,
            })?;
        }
        kept.sort_unstable_by(|a, b| (a.date, &a.item_id).cmp(&(b.date, &b.item_id)));
        Ok(kept)
    }

    /// Steps 3-6 for one priced item, whose line is the last of `lines` (its quantity as
    /// priced): kept (its quantity shown), split to the room (`split` mode) with the rest held,
    /// or taken back and held whole. Returns whether a line stays, for the totals.
    pub(super) fn item<'a>(
        &mut self,
        priced: &Priced<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
        held: &mut Held<'a>,
        pricing: &Pricing,
    ) -> Result<bool, Error> {
        let Some(line) = lines.last_mut() else {
            return Ok(false);
        };
        let Some((limit, mode)) = self.limit.filter(|_| priced.counts_against_ceiling) else {
            line.quantity = shown_quantity(line.quantity.0);
            return Ok(true);
        };
        let limit = limit.amount;
        if self.fits(limit, line.amount.amount)? {
            line.quantity = shown_quantity(line.quantity.0);
            return Ok(true);
        }
        let room = self.room(limit)?;
        let behind = self.held_behind(limit);
        self.crossed = true;
        let (kind, date, id, amount) = (line.kind, line.date, priced.id, line.amount);
        let billed_hours = line.billed_hours.map(|h| h.0);
        // The item (or what the room leaves of it) held over the ceiling.
        let over_ceiling = |sentence: Text<'a>, amount: Money| HeldItem {
            change_order_id: None,
            kind,
            problems: Vec::new(),
            id: Cow::Borrowed(id),
            date,
            reason: HoldReason::CeilingExceeded,
            sentence,
            amount: Some(amount),
        };
        if mode == CeilingMode::Split && room > Decimal::ZERO {
            // The part of the item the room pays for: shown rounded down to 4 decimals, recorded
            // (hours, or the share of an item) rounded down to 12, so the rest billed later
            // prices the rest of the item.
            let part = |q: Decimal| -> Result<Decimal, Error> {
                // Multiply before dividing: `8 h × 1000 ÷ 1600` is exactly 5 h, where
                // `8 h × (1000 ÷ 1600)` can fall a hair short of it and show 4.9999.
                div(
                    mul(q, room, "the split quantity")?,
                    amount.amount,
                    "the ceiling share",
                )
            };
            let exact = |q: Decimal| -> Result<Decimal, Error> {
                Ok(part(q)?
                    .round_dp_with_strategy(QUANTITY_DECIMALS, RoundingStrategy::ToZero)
                    .normalize())
            };
            let priced_quantity = line.quantity.0;
            let shown = part(priced_quantity)?
                .round_dp_with_strategy(4, RoundingStrategy::ToZero)
                .normalize();
            let split_hours = billed_hours.map(exact).transpose()?;
            let rest = sub(amount.amount, room)?;
            self.used = add(self.used, room)?;
            line.quantity = Dec(shown);
            line.billed_hours = split_hours.map(Dec);
            if kind != ItemKind::Time {
                let share = exact(priced_quantity)?;
                line.billed_quantity = (share != shown).then_some(Dec(share));
            }
            line.amount = pricing.money(room);
            line.ceiling_split = true;
            // The hours still to bill, less what the split bills now.
            if kind == ItemKind::Time
                && let (Some(left), Some(billed)) = (billed_hours, split_hours)
            {
                let hours = sub(left, billed)?.max(Decimal::ZERO);
                held.unbilled(date, hours, Some(rest))?;
            }
            held.push(over_ceiling(
                Text::from(format!(
                    "{} {id} was billed up to the ceiling of {}; {} is over it",
                    kind.noun(),
                    self.limit_text,
                    pricing.money(rest).amount_string()
                )),
                pricing.money(rest),
            ))?;
            return Ok(true);
        }
        // The whole item is held: its line is taken back.
        lines.pop();
        if kind == ItemKind::Time
            && let Some(left) = billed_hours
        {
            held.unbilled(date, left, Some(amount.amount))?;
        }
        // Once the ceiling is crossed there is no room for any later item: one sentence shape,
        // kept as words (no text per item).
        let sentence = if behind {
            Text::words(Words::CeilingHeldBehind {
                kind,
                id,
                limit: pricing.money(limit),
            })
        } else if room.is_zero() {
            Text::words(Words::CeilingFull {
                kind,
                id,
                limit: pricing.money(limit),
            })
        } else {
            Text::from(format!(
                "{} {id} would bring the total billed against the ceiling to more than {} ({} left)",
                kind.noun(),
                self.limit_text,
                pricing.money(room).amount_string()
            ))
        };
        held.push(over_ceiling(sentence, amount))?;
        Ok(false)
    }
}
