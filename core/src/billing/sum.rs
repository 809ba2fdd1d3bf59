//! Running totals of a billing run, summed as integers.
//!
//! A run adds two or three amounts per item to its totals (per kind, per hold reason, per aging
//! bucket). `Decimal::checked_add` unpacks, aligns and packs both operands each time; a [`Sum`]
//! keeps its total as an integer count of units at its scale, so adding a rounded amount (every
//! amount of a run is at the currency's scale) is one integer addition.

use rust_decimal::Decimal;

use crate::error::Error;

/// 10^k for k in 0..=18, the factors that align an `i64` count of units to a larger scale.
const POW10: [i64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

/// A running total that gives exactly what adding each value to `Decimal::ZERO` with
/// `Decimal::checked_add` gives: the same digits, the same scale (the largest of the values',
/// where none is zero) and sign, the same overflow error.
///
/// It holds the total as `units` × 10^-`scale`, in an `i64`. Adding a value at the same scale,
/// or at a smaller one, is an integer multiplication and addition while everything fits an
/// `i64` (far inside the 96 bits of a `Decimal`, so `Decimal` would add exactly too); anything
/// else (a larger scale, a total past 2^63, a zero, whose sign `Decimal` keeps) goes through
/// `Decimal::checked_add` itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sum {
    units: i64,
    scale: u32,
    /// The total as a `Decimal` when the integer form does not keep it (a zero, or past 2^63).
    exact: Option<Decimal>,
}

impl Sum {
    /// Zero, as `Decimal::ZERO` (scale 0).
    pub(crate) const ZERO: Sum = Sum {
        units: 0,
        scale: 0,
        exact: Some(Decimal::ZERO),
    };

    /// Adds `d`; fails as `Decimal::checked_add` fails, with `what` naming the total.
    #[inline]
    pub(crate) fn add(&mut self, d: Decimal, what: &str) -> Result<(), Error> {
        if self.exact.is_none()
            && let Ok(m) = i64::try_from(d.mantissa())
        {
            let scale = d.scale();
            let aligned = if scale == self.scale {
                Some(m)
            } else {
                self.scale
                    .checked_sub(scale)
                    .and_then(|k| POW10.get(k as usize))
                    .and_then(|&f| m.checked_mul(f))
            };
            if let Some(units) = aligned.and_then(|m| m.checked_add(self.units))
                && units != 0
            {
                self.units = units;
                return Ok(());
            }
        }
        self.add_decimal(d, what)
    }

    /// Adds `d` as `Decimal` does.
    #[cold]
    fn add_decimal(&mut self, d: Decimal, what: &str) -> Result<(), Error> {
        let total = crate::model::decimal::add(self.value(), d, what)?;
        *self = Sum::of(total);
        Ok(())
    }

    /// The total as a `Decimal`.
    pub(crate) fn value(&self) -> Decimal {
        match self.exact {
            Some(d) => d,
            // An `i64` count at a scale of at most 28 (`Sum::of` and `add` keep them so).
            None => Decimal::try_from_i128_with_scale(i128::from(self.units), self.scale)
                .unwrap_or_default(),
        }
    }

    fn of(d: Decimal) -> Sum {
        match i64::try_from(d.mantissa()) {
            Ok(units) if units != 0 => Sum {
                units,
                scale: d.scale(),
                exact: None,
            },
            _ => Sum {
                units: 0,
                scale: d.scale(),
                exact: Some(d),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(m: i64, scale: u32) -> Decimal {
        Decimal::new(m, scale)
    }

    /// A total as (text, mantissa, scale, sign), or `Err` for an overflow.
    type Shown = Result<(String, i128, u32, bool), ()>;

    /// What `Decimal` gives, and what `Sum` gives.
    fn both(values: &[Decimal]) -> (Shown, Shown) {
        let show = |d: Decimal| (d.to_string(), d.mantissa(), d.scale(), d.is_sign_negative());
        let by_decimal = values
            .iter()
            .try_fold(Decimal::ZERO, |acc, &v| acc.checked_add(v))
            .map(show)
            .ok_or(());
        let mut sum = Sum::ZERO;
        let by_sum = values
            .iter()
            .try_for_each(|&v| sum.add(v, "the total").map_err(|_| ()))
            .map(|()| show(sum.value()));
        (by_decimal, by_sum)
    }

    #[test]
    fn a_sum_keeps_the_largest_scale_as_decimal_addition_does() {
        let (a, b) = both(&[dec(150, 2), dec(25, 1), dec(3, 0)]);
        assert_eq!(a, b);
        assert_eq!(b.unwrap().0, "7.00");
    }

    #[test]
    fn a_sum_of_nothing_is_zero_at_scale_zero() {
        assert_eq!(Sum::ZERO.value().to_string(), "0");
        let (a, b) = both(&[]);
        assert_eq!(a, b);
    }

    #[test]
    fn amounts_that_cancel_give_the_zero_decimal_addition_gives() {
        for values in [
            vec![dec(-150, 2), dec(150, 2)],
            vec![dec(150, 2), dec(-150, 2)],
            vec![dec(-150, 2), dec(150, 2), dec(-1, 3)],
            vec![dec(0, 2), -dec(0, 3)],
            vec![-dec(0, 3), dec(0, 2)],
            vec![dec(150, 2), dec(0, 4)],
            vec![-Decimal::ZERO, Decimal::ZERO],
            vec![-dec(0, 4)],
        ] {
            let (a, b) = both(&values);
            assert_eq!(a, b, "{values:?}");
        }
    }

    #[test]
    fn a_sum_past_the_largest_decimal_fails_as_decimal_addition_fails() {
        let (a, b) = both(&[Decimal::MAX, Decimal::ONE]);
        assert_eq!(a, b);
        assert!(b.is_err());
        // Near the limit at a scale, `Decimal` gives up digits to the right; so does a sum.
        let (a, b) = both(&[Decimal::from_i128_with_scale((1 << 96) - 1, 2), dec(1, 2)]);
        assert_eq!(a, b);
        assert!(b.is_ok());
    }

    fn value() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            // Amounts and hours as a run has them.
            (-10_000_000i64..10_000_000, 0u32..5).prop_map(|(m, s)| dec(m, s)),
            // Counts near the edge of an `i64`.
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| dec(m, s)),
            // Any mantissa and scale, to reach the limits.
            (any::<i128>(), 0u32..=28)
                .prop_map(|(m, s)| { Decimal::from_i128_with_scale(m % (1 << 96), s) }),
            Just(Decimal::ZERO),
            Just(-Decimal::ZERO),
            Just(Decimal::MAX),
            Just(Decimal::MIN),
        ]
    }

    proptest! {
        #[test]
        fn a_sum_is_decimal_addition_value_by_value(values in prop::collection::vec(value(), 0..40)) {
            let (a, b) = both(&values);
            prop_assert_eq!(a, b);
        }
    }
}
