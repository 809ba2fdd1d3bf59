//! Exact decimals on the wire.
//!
//! Every amount, quantity, rate and percentage is a JSON *string* of the form `-?digits[.digits]`.
//! Exponents, `NaN`, `Infinity`, a leading `+`, spaces and JSON numbers are refused: a JSON number
//! may already have passed through a float and lost cents.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};

/// The most significant digits a decimal may carry: 28 always fit, and 29 fit when the value is
/// below 79,228,162,514,264,337,593,543,950,335 (what `rust_decimal` represents exactly).
pub const MAX_DECIMAL_DIGITS: usize = 29;

/// The most fractional digits a decimal may carry.
pub const MAX_DECIMAL_SCALE: u32 = 28;

/// Parses a decimal string strictly. `what` names the value in messages.
pub fn parse_decimal(s: &str) -> Result<Decimal, Error> {
    let bytes = s.as_bytes();
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let invalid = || {
        let shown: String = s.chars().take(40).collect();
        Error::new(
            ErrorCode::InputInvalidDecimal,
            format!(
                "`{shown}` is not a decimal string (expected digits with an optional `.` and fraction)"
            ),
        )
    };
    if digits.is_empty() {
        return Err(invalid());
    }
    let mut mantissa: u128 = 0;
    let mut scale: u32 = 0;
    let mut seen_point = false;
    let mut int_digits = 0usize;
    let mut frac_digits = 0usize;
    let mut significant = 0usize;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                if seen_point {
                    frac_digits += 1;
                    scale += 1;
                } else {
                    int_digits += 1;
                }
                if significant > 0 || b != b'0' {
                    significant += 1;
                }
                if significant > MAX_DECIMAL_DIGITS || scale > MAX_DECIMAL_SCALE {
                    return Err(Error::new(
                        ErrorCode::InputLimitExceeded,
                        format!(
                            "decimal `{}` has more than {MAX_DECIMAL_DIGITS} digits",
                            s.chars().take(40).collect::<String>()
                        ),
                    )
                    .with("limit", "decimal_digits")
                    .with("max", MAX_DECIMAL_DIGITS as u64));
                }
                mantissa = mantissa * 10 + u128::from(b - b'0');
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err(invalid()),
        }
    }
    if int_digits == 0 || (seen_point && frac_digits == 0) {
        return Err(invalid());
    }
    let too_big = || {
        Error::new(
            ErrorCode::InputLimitExceeded,
            format!(
                "decimal `{}` is too large to compute exactly",
                s.chars().take(40).collect::<String>()
            ),
        )
        .with("limit", "decimal_digits")
        .with("max", MAX_DECIMAL_DIGITS as u64)
    };
    let signed = i128::try_from(mantissa).map_err(|_| too_big())?;
    let signed = if negative { -signed } else { signed };
    let mut d = Decimal::try_from_i128_with_scale(signed, scale).map_err(|_| too_big())?;
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    Ok(d)
}

/// Formats a decimal in canonical form: no exponent, no trailing fractional zeros, no `-0`.
pub fn format_decimal(d: Decimal) -> String {
    let mut out = String::new();
    write_at_scale(d, 0, &mut out);
    out
}

/// Formats a decimal with at least `min_scale` fractional digits (trailing zeros beyond it dropped).
pub fn format_at_scale(d: Decimal, min_scale: u32) -> String {
    let mut out = String::new();
    write_at_scale(d, min_scale, &mut out);
    out
}

/// Appends [`format_at_scale`]'s text to `out` (no allocation of its own).
pub(crate) fn write_at_scale(d: Decimal, min_scale: u32, out: &mut String) {
    use std::fmt::Write;
    let mut n = d.normalize();
    if n.is_zero() {
        n.set_sign_positive(true);
    }
    if n.scale() < min_scale {
        let mut widened = n;
        widened.rescale(min_scale);
        // `rescale` cannot widen numbers that already use every digit; keep them as they are.
        if widened == n {
            n = widened;
        }
    }
    // Writing to a `String` cannot fail.
    let _ = write!(out, "{n}");
}

/// A decimal carried as a string on the wire (quantities, rates, percentages, fx rates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dec(pub Decimal);

impl Dec {
    /// Zero.
    pub const ZERO: Dec = Dec(Decimal::ZERO);

    /// The inner decimal.
    pub const fn get(self) -> Decimal {
        self.0
    }
}

impl From<Decimal> for Dec {
    fn from(d: Decimal) -> Self {
        Dec(d)
    }
}

impl From<Dec> for Decimal {
    fn from(d: Dec) -> Self {
        d.0
    }
}

impl std::ops::Deref for Dec {
    type Target = Decimal;
    fn deref(&self) -> &Decimal {
        &self.0
    }
}

impl std::fmt::Display for Dec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_decimal(self.0))
    }
}

impl std::str::FromStr for Dec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        parse_decimal(s).map(Dec)
    }
}

impl Serialize for Dec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        super::wire::Marked(super::wire::DECIMAL_MARKER, &format_decimal(self.0))
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DecVisitor).map(Dec)
    }
}

/// Visitor shared by every decimal-bearing type.
pub(crate) struct DecVisitor;

impl serde::de::Visitor<'_> for DecVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a decimal string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_decimal(v).map_err(crate::json::de_error)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
        Err(number_refused(&v.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
        Err(number_refused(&v.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
        Err(number_refused(&v.to_string()))
    }
}

fn number_refused<E: serde::de::Error>(shown: &str) -> E {
    crate::json::de_error(Error::new(
        ErrorCode::InputNumberNotAllowed,
        format!("the number {shown} must be written as a decimal string, e.g. `\"{shown}\"`"),
    ))
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Dec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Decimal".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "An exact decimal written as a string (no exponent, at most 28 fractional digits, magnitude below 2^96)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> ErrorCode {
        parse_decimal(s).unwrap_err().code
    }

    #[test]
    fn plain_decimals_parse_exactly() {
        assert_eq!(parse_decimal("1234.50").unwrap().to_string(), "1234.50");
        assert_eq!(parse_decimal("-0.001").unwrap().to_string(), "-0.001");
        assert_eq!(parse_decimal("0007").unwrap().to_string(), "7");
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(format_decimal(parse_decimal("-0").unwrap()), "0");
        assert_eq!(format_decimal(parse_decimal("-0.00").unwrap()), "0");
    }

    #[test]
    fn exponents_nan_and_malformed_strings_are_refused() {
        for s in [
            "1e400", "NaN", "Infinity", "12.3.4", "", "-", ".5", "5.", "+1", " 1", "1 ", "0x10",
            "１",
        ] {
            assert_eq!(code(s), ErrorCode::InputInvalidDecimal, "{s}");
        }
    }

    #[test]
    fn forty_digits_exceed_the_digit_limit() {
        assert_eq!(code(&"9".repeat(40)), ErrorCode::InputLimitExceeded);
        assert_eq!(
            code(&format!("0.{}", "1".repeat(29))),
            ErrorCode::InputLimitExceeded
        );
    }

    #[test]
    fn every_representable_decimal_is_accepted() {
        let s = "9".repeat(28);
        assert_eq!(parse_decimal(&s).unwrap().to_string(), s);
        let max = Decimal::MAX.to_string();
        assert_eq!(parse_decimal(&max).unwrap(), Decimal::MAX);
        assert_eq!(
            parse_decimal("6.6666666666666666666666666664")
                .unwrap()
                .to_string(),
            "6.6666666666666666666666666664"
        );
        assert_eq!(
            parse_decimal("79228162514264337593543950336")
                .unwrap_err()
                .code,
            ErrorCode::InputLimitExceeded
        );
    }

    #[test]
    fn format_at_scale_pads_and_keeps_extra_precision() {
        let d = |s| parse_decimal(s).unwrap();
        assert_eq!(format_at_scale(d("12.5"), 2), "12.50");
        assert_eq!(format_at_scale(d("12.500"), 2), "12.50");
        assert_eq!(format_at_scale(d("12.125"), 2), "12.125");
        assert_eq!(format_at_scale(d("7"), 0), "7");
        assert_eq!(format_at_scale(d("-0.000"), 3), "0.000");
    }
}
