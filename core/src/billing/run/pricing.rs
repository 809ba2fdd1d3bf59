//! What an item costs: `spec/domain/billing.md`, "Amounts". Every line is computed exactly and
//! rounded once, to the currency's minor unit with the contract's mode.

use rust_decimal::{Decimal, RoundingStrategy};

use super::super::terms::Resolved;
use super::super::types::LineUnit;
use crate::error::Error;
use crate::ledger::NetBilled;
use crate::model::decimal::normalized;
use crate::model::{Currency, Dec, Money, RateUnit, RoundingMode, TimeRounding};

pub(super) use crate::model::decimal::{div, mul};

pub(super) fn add(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    crate::model::decimal::add(a, b, "the total")
}

pub(super) fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    crate::model::decimal::sub(a, b, "the total")
}

/// The currency and rounding mode every amount of a run is made in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pricing {
    pub(super) currency: Currency,
    pub(super) mode: RoundingMode,
}

impl Pricing {
    /// An amount in the contract currency, as it is.
    pub(super) fn money(&self, amount: Decimal) -> Money {
        Money::new(amount, self.currency)
    }

    /// An amount rounded once to the currency's minor unit.
    pub(super) fn round(&self, amount: Decimal) -> Money {
        Money::new(amount, self.currency).rounded(self.mode)
    }

    /// `hours` at rate `r`: the quantity in the rate's unit, and the amount rounded once. Day
    /// rates bill `hours × rate ÷ hours_per_day`, multiplied first so that `1.25 h × 999.99 ÷ 7.5`
    /// is exactly 166.665 (166.66 half even), where `1.25 ÷ 7.5 × 999.99` is a hair above it.
    pub(super) fn time(
        &self,
        hours: Decimal,
        r: &Resolved<'_>,
    ) -> Result<(Decimal, LineUnit, Money), Error> {
        let amount = mul(hours, r.rate.amount, "the line amount")?;
        match r.unit {
            RateUnit::Hour => Ok((hours, LineUnit::Hour, self.round(amount))),
            RateUnit::Day => {
                let days = div(hours, r.hours_per_day, "the days billed")?;
                let amount = div(amount, r.hours_per_day, "the line amount")?;
                Ok((days.normalize(), LineUnit::Day, self.round(amount)))
            }
        }
    }

    /// An expense's full price: `amount × (1 + markup ÷ 100) × fx`, rounded once.
    pub(super) fn expense(
        &self,
        amount: Decimal,
        markup_percent: Decimal,
        fx: Decimal,
    ) -> Result<Money, Error> {
        let factor = add(
            Decimal::ONE,
            div(markup_percent, Decimal::ONE_HUNDRED, "the markup")?,
        )?;
        Ok(self.round(mul(
            mul(amount, factor, "the expense amount")?,
            fx,
            "the expense amount",
        )?))
    }

    /// `share` of an item whose full price is `full`, rounded once (the full price itself when the
    /// share is the whole item).
    pub(super) fn share_of(&self, share: Decimal, full: Money) -> Result<Money, Error> {
        if share == Decimal::ONE {
            return Ok(full);
        }
        Ok(self.round(mul(share, full.amount, "the line amount")?))
    }
}

/// Rounds hours to the contract's increment (validated: more than 0, at most 24).
#[inline]
pub(super) fn round_hours(
    hours: Decimal,
    increment: Option<Dec>,
    direction: Option<TimeRounding>,
) -> Result<Decimal, Error> {
    let Some(inc) = increment.map(|d| d.0) else {
        return Ok(hours);
    };
    let steps = div(hours, inc, "the rounded hours")?;
    let strategy = match direction.unwrap_or(TimeRounding::Nearest) {
        TimeRounding::Up => RoundingStrategy::AwayFromZero,
        TimeRounding::Down => RoundingStrategy::ToZero,
        TimeRounding::Nearest => RoundingStrategy::MidpointAwayFromZero,
    };
    mul(
        steps.round_dp_with_strategy(0, strategy),
        inc,
        "the rounded hours",
    )
    .map(|d| d.normalize())
}

/// What is left to bill of an expense or a milestone (one item) after earlier bills and credits:
/// `1 − net billed quantity`, at most 1; zero or less when it is billed in full.
#[inline]
pub(super) fn item_left(net: Option<&NetBilled>) -> Result<Decimal, Error> {
    match net {
        None => Ok(Decimal::ONE),
        Some(n) => sub(Decimal::ONE, n.quantity),
    }
}

/// A quantity as a line shows it: at most 4 decimals, rounded half up. The ledger records the
/// exact one (`billed_hours`, `billed_quantity`).
pub(super) fn shown_quantity(quantity: Decimal) -> Dec {
    if quantity.scale() <= 4 {
        // (Rounding to 4 decimals leaves it as it is.)
        return Dec(normalized(quantity));
    }
    Dec(normalized(quantity.round_dp_with_strategy(
        4,
        RoundingStrategy::MidpointAwayFromZero,
    )))
}

/// The exact quantity of an expense or milestone line, when the shown one rounds it.
pub(super) fn exact_if_rounded(quantity: Decimal) -> Option<Dec> {
    (quantity.normalize().scale() > 4).then(|| Dec(quantity.normalize()))
}
