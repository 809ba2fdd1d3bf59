//! Money: an exact decimal amount in one currency.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::currency::Currency;
use super::decimal::{Dec, format_at_scale};
use crate::error::{Error, ErrorCode};

/// How a computed amount is rounded to the currency's minor unit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Halves round away from zero (`2.345` → `2.35`).
    #[default]
    HalfUp,
    /// Halves round to the even neighbour (`2.345` → `2.34`, `2.355` → `2.36`).
    HalfEven,
}

impl RoundingMode {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Self::HalfEven => RoundingStrategy::MidpointNearestEven,
        }
    }

    /// Rounds `d` to `dp` fractional digits.
    pub fn round(self, d: Decimal, dp: u32) -> Decimal {
        self.round_small(d, dp)
            .unwrap_or_else(|| d.round_dp_with_strategy(dp, self.strategy()))
    }

    /// The same rounding in 64-bit integers, for the usual amount (a nonzero mantissa below
    /// 2^64, at most 18 digits to drop); `None` for anything else. A run rounds every line, and
    /// the library's 96-bit division cost more than the rest of pricing.
    #[inline]
    fn round_small(self, d: Decimal, dp: u32) -> Option<Decimal> {
        let drop = d.scale().checked_sub(dp).filter(|n| (1..=18).contains(n))?;
        let m = u64::try_from(d.mantissa().unsigned_abs())
            .ok()
            .filter(|m| *m != 0)?;
        let unit = 10u64.pow(drop);
        let (q, r, half) = (m / unit, m % unit, unit / 2);
        let up = match self {
            Self::HalfUp => r >= half,
            Self::HalfEven => r > half || (r == half && q % 2 == 1),
        };
        let q = if up { q + 1 } else { q };
        Some(Decimal::from_parts(
            q as u32,
            (q >> 32) as u32,
            0,
            d.is_sign_negative(),
            dp,
        ))
    }
}

/// An amount of money. On the wire: `{"amount": "1500.00", "currency": "USD"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    /// The exact amount (may carry more digits than the currency's minor unit, e.g. a rate).
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// A new amount.
    pub const fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Self {
            amount: Decimal::ZERO,
            currency,
        }
    }

    /// Rounded once to the currency's minor unit.
    #[must_use]
    pub fn rounded(self, mode: RoundingMode) -> Self {
        Self {
            amount: mode.round(self.amount, self.currency.minor_units()),
            currency: self.currency,
        }
    }

    /// Checked sum; a currency mismatch or overflow is an error.
    pub fn checked_add(self, other: Money) -> Result<Money, Error> {
        self.same_currency(other)?;
        super::decimal::add(self.amount, other.amount, "the sum")
            .map(|amount| Money::new(amount, self.currency))
    }

    /// Checked difference; a currency mismatch or overflow is an error.
    pub fn checked_sub(self, other: Money) -> Result<Money, Error> {
        self.same_currency(other)?;
        super::decimal::sub(self.amount, other.amount, "the difference")
            .map(|amount| Money::new(amount, self.currency))
    }

    /// Checked product with a quantity; overflow is an error.
    pub fn checked_mul(self, factor: Decimal) -> Result<Money, Error> {
        super::decimal::mul(self.amount, factor, "the product")
            .map(|amount| Money::new(amount, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), Error> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::MoneyCurrencyMismatch,
                format!(
                    "cannot combine `{}` with `{}`",
                    self.currency, other.currency
                ),
            ))
        }
    }

    /// Whether the amount has no more decimals than the currency's minor unit (`12.30` USD, `1500`
    /// JPY; not `66700.9` JPY). Every amount billwise is given and every amount it outputs is;
    /// rates and unit prices, which are prices, may have more.
    pub fn is_at_minor_unit(&self) -> bool {
        self.amount.scale() <= self.currency.minor_units()
            || self.amount.normalize().scale() <= self.currency.minor_units()
    }

    /// The amount in canonical text: at least the currency's minor digits (`"1500.00"`, `"1500"` for JPY).
    pub fn amount_string(&self) -> String {
        format_at_scale(self.amount, self.currency.minor_units())
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyWire {
    amount: Dec,
    currency: Currency,
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = MoneyWire::deserialize(deserializer)?;
        Ok(Money::new(w.amount.0, w.currency))
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Money", 2)?;
        let amount = self.amount_string();
        s.serialize_field(
            "amount",
            &super::wire::Marked(super::wire::DECIMAL_MARKER, &amount),
        )?;
        s.serialize_field("currency", &self.currency)?;
        s.end()
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let amount = generator.subschema_for::<Dec>();
        let currency = generator.subschema_for::<Currency>();
        schemars::json_schema!({
            "type": "object",
            "description": "An exact amount in one currency.",
            "properties": { "amount": amount, "currency": currency },
            "required": ["amount", "currency"],
            "additionalProperties": false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decimal::parse_decimal;

    fn d(s: &str) -> Decimal {
        parse_decimal(s).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn rounding_in_integers_gives_the_librarys_bits(
            lo in proptest::prelude::any::<u32>(),
            mid in proptest::prelude::any::<u32>(),
            hi in 0u32..3,
            small in proptest::prelude::any::<bool>(),
            negative in proptest::prelude::any::<bool>(),
            scale in 0u32..=28,
            dp in 0u32..=6,
        ) {
            // Small mantissas meet halves and ties more often.
            let (lo, mid, hi) = if small { (lo % 20_000, 0, 0) } else { (lo, mid, hi) };
            let d = Decimal::from_parts(lo, mid, hi, negative, scale);
            for mode in [RoundingMode::HalfUp, RoundingMode::HalfEven] {
                let ours = mode.round(d, dp);
                let library = d.round_dp_with_strategy(dp, mode.strategy());
                proptest::prop_assert_eq!(ours.serialize(), library.serialize(), "{} {:?}", d, mode);
            }
        }
    }

    #[test]
    fn rounding_in_integers_gives_the_librarys_bits_for_every_small_amount() {
        for m in 0..2_500u32 {
            for scale in 0..=5 {
                for dp in 0..=3 {
                    for negative in [false, true] {
                        let d = Decimal::from_parts(m, 0, 0, negative, scale);
                        for mode in [RoundingMode::HalfUp, RoundingMode::HalfEven] {
                            let library = d.round_dp_with_strategy(dp, mode.strategy());
                            assert_eq!(mode.round(d, dp).serialize(), library.serialize(), "{d}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn half_up_and_half_even_differ_on_a_half_cent() {
        let m = Money::new(d("2.345"), Currency::Usd);
        assert_eq!(m.rounded(RoundingMode::HalfUp).amount_string(), "2.35");
        assert_eq!(m.rounded(RoundingMode::HalfEven).amount_string(), "2.34");
    }

    #[test]
    fn rounding_uses_the_currency_minor_unit() {
        assert_eq!(
            Money::new(d("1234.5"), Currency::Jpy)
                .rounded(RoundingMode::HalfUp)
                .amount_string(),
            "1235"
        );
        assert_eq!(
            Money::new(d("1.2345"), Currency::Bhd)
                .rounded(RoundingMode::HalfUp)
                .amount_string(),
            "1.235"
        );
    }

    #[test]
    fn adding_different_currencies_is_an_error() {
        let e = Money::new(d("1"), Currency::Usd)
            .checked_add(Money::new(d("1"), Currency::Eur))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::MoneyCurrencyMismatch);
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let big = Money::new(Decimal::MAX, Currency::Usd);
        assert_eq!(
            big.checked_add(big).unwrap_err().code,
            ErrorCode::MoneyOverflow
        );
        assert_eq!(
            big.checked_mul(d("10")).unwrap_err().code,
            ErrorCode::MoneyOverflow
        );
    }

    #[test]
    fn money_serialises_at_the_currency_scale() {
        let m: Money = serde_json::from_str(r#"{"amount":"1500","currency":"USD"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"amount":"1500.00","currency":"USD"}"#
        );
    }
}
