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
pub(crate) fn write_at_scale(d: Decimal, min_scale: u32, out: &mut impl crate::out::Out) {
    let mut buf = [0u8; DECIMAL_TEXT_MAX];
    let text = match small_at_scale(d, min_scale, &mut buf) {
        Some(text) => text,
        None => decimal_text(at_scale(d, min_scale), &mut buf),
    };
    out.ascii(text);
}

/// [`write_at_scale`]'s text in 64-bit integers, when the mantissa and the widened one fit in
/// them (every amount and quantity of a run): trailing zeros beyond `min_scale` dropped, zeros
/// added up to it, digits written from the right. `None` leaves it to the library's path.
#[inline]
fn small_at_scale(d: Decimal, min_scale: u32, buf: &mut [u8; DECIMAL_TEXT_MAX]) -> Option<&[u8]> {
    if min_scale > MAX_DECIMAL_SCALE {
        return None;
    }
    let mut m = u64::try_from(d.mantissa().unsigned_abs()).ok()?;
    let mut scale = d.scale();
    while scale > min_scale && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    if scale < min_scale {
        m = m.checked_mul(10u64.checked_pow(min_scale - scale)?)?;
        scale = min_scale;
    }
    let negative = d.is_sign_negative() && m != 0;
    let mut at = buf.len();
    let mut put = |b: u8| {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            *slot = b;
        }
    };
    // A scale is at most 28: with the point, a leading zero and a sign, the buffer holds it.
    for _ in 0..scale {
        put(b'0' + (m % 10) as u8);
        m /= 10;
    }
    if scale > 0 {
        put(b'.');
    }
    loop {
        put(b'0' + (m % 10) as u8);
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if negative {
        put(b'-');
    }
    buf.get(at..)
}

/// `a + b`, or `MONEY_OVERFLOW` naming `what`. The checked arithmetic of money in one place each:
/// in the WebAssembly module (built for size) each is a function of its own rather than the 96-bit
/// operation copied into every caller.
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn add(a: Decimal, b: Decimal, what: &str) -> Result<Decimal, Error> {
    a.checked_add(b).ok_or_else(|| Error::overflow(what))
}

/// `a - b`, or `MONEY_OVERFLOW` naming `what` (see [`add`]).
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn sub(a: Decimal, b: Decimal, what: &str) -> Result<Decimal, Error> {
    a.checked_sub(b).ok_or_else(|| Error::overflow(what))
}

/// `a × b`, or `MONEY_OVERFLOW` naming `what` (see [`add`]).
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn mul(a: Decimal, b: Decimal, what: &str) -> Result<Decimal, Error> {
    a.checked_mul(b).ok_or_else(|| Error::overflow(what))
}

/// `a ÷ b`, or `MONEY_OVERFLOW` naming `what` (a division by zero too; see [`add`]).
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn div(a: Decimal, b: Decimal, what: &str) -> Result<Decimal, Error> {
    a.checked_div(b).ok_or_else(|| Error::overflow(what))
}

/// `d.normalize()` (trailing zeros stripped, `-0` made `0`), bit for bit, in 64-bit integers
/// when the mantissa fits: a preview normalises a quantity per line and writes every amount
/// normalised, and the library divides 96 bits by ten per digit.
#[inline]
pub(crate) fn normalized(d: Decimal) -> Decimal {
    let scale = d.scale();
    let small = u64::try_from(d.mantissa().unsigned_abs())
        .ok()
        .filter(|m| *m != 0 && scale > 0);
    let Some(mut m) = small else {
        return d.normalize();
    };
    let mut scale = scale;
    while scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    Decimal::from_parts(m as u32, (m >> 32) as u32, 0, d.is_sign_negative(), scale)
}

/// `d` normalised, with at least `min_scale` fractional digits, and never `-0`.
fn at_scale(d: Decimal, min_scale: u32) -> Decimal {
    let mut n = normalized(d);
    if n.is_zero() {
        n.set_sign_positive(true);
    }
    if n.scale() < min_scale {
        // Widening a mantissa below 2^64 by at most 9 digits stays below 2^94: exact, and what
        // `rescale` gives, without its 96-bit steps and the comparison after them.
        let widen = min_scale - n.scale();
        if let Ok(m) = u64::try_from(n.mantissa().unsigned_abs())
            && widen <= 9
            && min_scale <= MAX_DECIMAL_SCALE
        {
            let w = u128::from(m) * 10u128.pow(widen);
            return Decimal::from_parts(
                w as u32,
                (w >> 32) as u32,
                (w >> 64) as u32,
                n.is_sign_negative(),
                min_scale,
            );
        }
        let mut widened = n;
        widened.rescale(min_scale);
        // `rescale` cannot widen numbers that already use every digit; keep them as they are.
        if widened == n {
            n = widened;
        }
    }
    n
}

/// The longest text of a decimal: a sign, 29 digits, a point and a leading zero, with room.
const DECIMAL_TEXT_MAX: usize = 48;

/// The ASCII text `d`'s `Display` writes (every digit of its scale, no exponent), written into
/// the end of `buf` without going through `fmt`: a preview writes millions of amounts, and
/// formatting them was a tenth of writing one.
fn decimal_text(d: Decimal, buf: &mut [u8; DECIMAL_TEXT_MAX]) -> &[u8] {
    let mut at = buf.len();
    let mut put = |b: u8, at: &mut usize| {
        if let Some(slot) = at.checked_sub(1).and_then(|i| buf.get_mut(i)) {
            *slot = b;
            *at -= 1;
        }
    };
    let scale = d.scale() as usize;
    let mut m = d.mantissa().unsigned_abs();
    let mut written = 0usize;
    // Divisions by ten of a `u64` are multiplications; those of a `u128` are calls.
    while m > u128::from(u64::MAX) {
        put(b'0' + (m % 10) as u8, &mut at);
        m /= 10;
        written += 1;
        if written == scale {
            put(b'.', &mut at);
        }
    }
    let mut small = m as u64;
    // At least one digit before the point.
    while small > 0 || written <= scale {
        put(b'0' + (small % 10) as u8, &mut at);
        small /= 10;
        written += 1;
        if written == scale {
            put(b'.', &mut at);
        }
    }
    if d.is_sign_negative() && !d.is_zero() {
        put(b'-', &mut at);
    }
    buf.get(at..).unwrap_or_default()
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
    #[test]
    fn normalising_in_integers_gives_the_librarys_bits() {
        let mut cases = Vec::new();
        for m in 0..3_000u32 {
            for scale in 0..=6 {
                for negative in [false, true] {
                    cases.push(Decimal::from_parts(m, 0, 0, negative, scale));
                }
            }
        }
        for (lo, mid, hi, scale) in [
            (0, 1, 0, 3),
            (0, 0, 1, 5),
            (u32::MAX, u32::MAX, 0, 28),
            (0xA000_0000, 0x2540_BE3F, 0, 12),
            (1_000_000_000, 0, 0, 28),
        ] {
            cases.push(Decimal::from_parts(lo, mid, hi, false, scale));
            cases.push(Decimal::from_parts(lo, mid, hi, true, scale));
        }
        for d in cases {
            assert_eq!(
                super::normalized(d).serialize(),
                d.normalize().serialize(),
                "{d}"
            );
        }
    }

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

    proptest::proptest! {
        #[test]
        fn decimals_are_written_as_display_writes_them(
            lo in proptest::prelude::any::<u32>(),
            mid in proptest::prelude::any::<u32>(),
            hi in proptest::prelude::any::<u32>(),
            negative in proptest::prelude::any::<bool>(),
            scale in 0u32..=28,
            small in proptest::prelude::any::<bool>(),
        ) {
            // Small mantissas (most amounts) and full 96-bit ones.
            let (mid, hi) = if small { (mid % 4, 0) } else { (mid, hi) };
            let d = Decimal::from_parts(lo, mid, hi, negative, scale);
            let mut buf = [0u8; DECIMAL_TEXT_MAX];
            let out = decimal_text(d, &mut buf);
            let expected = if d.is_zero() { d.abs().to_string() } else { d.to_string() };
            proptest::prop_assert_eq!(out, expected.as_bytes());
        }
    }

    /// The integer widening gives the bits `rescale` gives, for every small mantissa, scale and
    /// minimum scale, and for wide mantissas that take the library's path.
    #[test]
    fn widening_to_a_scale_in_integers_is_bit_for_bit_rescale() {
        let by_library = |d: Decimal, min_scale: u32| {
            let mut n = d.normalize();
            if n.is_zero() {
                n.set_sign_positive(true);
            }
            if n.scale() < min_scale {
                let mut widened = n;
                widened.rescale(min_scale);
                if widened == n {
                    n = widened;
                }
            }
            n
        };
        let mut cases = Vec::new();
        for m in 0..2_500u32 {
            for scale in 0..=5 {
                for negative in [false, true] {
                    cases.push(Decimal::from_parts(m, 0, 0, negative, scale));
                }
            }
        }
        for (lo, mid, hi, scale) in [
            (u32::MAX, u32::MAX, 0, 0),
            (u32::MAX, u32::MAX, 0, 2),
            (0, 0, 1, 0),
            (u32::MAX, u32::MAX, u32::MAX, 0),
            (u32::MAX, u32::MAX, u32::MAX, 27),
            (7, 0, 0, 28),
        ] {
            cases.push(Decimal::from_parts(lo, mid, hi, false, scale));
            cases.push(Decimal::from_parts(lo, mid, hi, true, scale));
        }
        for d in cases {
            for min_scale in [0, 1, 2, 3, 4, 9, 12, 28] {
                assert_eq!(
                    at_scale(d, min_scale).serialize(),
                    by_library(d, min_scale).serialize(),
                    "{d} at {min_scale}"
                );
            }
        }
    }

    proptest::proptest! {
        /// The integer path writes what normalising, widening and writing the library's way
        /// write: small mantissas (amounts), wide ones, every scale and minimum scale.
        #[test]
        fn amounts_are_written_as_the_librarys_path_writes_them(
            lo in proptest::prelude::any::<u32>(),
            mid in proptest::prelude::any::<u32>(),
            hi in proptest::prelude::any::<u32>(),
            negative in proptest::prelude::any::<bool>(),
            scale in 0u32..=28,
            min_scale in 0u32..=30,
            width in 0u8..4,
        ) {
            let (lo, mid, hi) = match width {
                0 => (lo % 100_000, 0, 0),
                1 => (lo, 0, 0),
                2 => (lo, mid, 0),
                _ => (lo, mid, hi),
            };
            let d = Decimal::from_parts(lo, mid, hi, negative, scale);
            let mut out = Vec::new();
            write_at_scale(d, min_scale, &mut out);
            let mut buf = [0u8; DECIMAL_TEXT_MAX];
            proptest::prop_assert_eq!(out.as_slice(), decimal_text(at_scale(d, min_scale), &mut buf));
        }
    }

    #[test]
    fn small_amounts_are_written_as_the_librarys_path_writes_them() {
        for m in 0..3_000u32 {
            for scale in 0..=6 {
                for min_scale in 0..=4 {
                    for negative in [false, true] {
                        let d = Decimal::from_parts(m, 0, 0, negative, scale);
                        let mut out = Vec::new();
                        write_at_scale(d, min_scale, &mut out);
                        let mut buf = [0u8; DECIMAL_TEXT_MAX];
                        assert_eq!(
                            out.as_slice(),
                            decimal_text(at_scale(d, min_scale), &mut buf),
                            "{d} at {min_scale}"
                        );
                    }
                }
            }
        }
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
