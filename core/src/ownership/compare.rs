//! Typed equality of field values as systems hold them.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::FieldKind;
use crate::model::Date;

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    }
}

fn date(v: &Value) -> Option<Date> {
    let s = v.as_str()?;
    // A timestamp counts by its calendar-date part (`2026-03-02T17:00:00Z` is 2026-03-02).
    let day = match s.as_bytes().get(10) {
        Some(b'T' | b't' | b' ') => s.get(..10)?,
        _ => s,
    };
    Date::parse(day).ok()
}

fn text_equal_ignoring_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!a.is_ascii() || !b.is_ascii())
            && a.chars()
                .flat_map(char::to_lowercase)
                .eq(b.chars().flat_map(char::to_lowercase))
}

/// Whether two values of a field are the same: money by currency and decimal amount, decimals as
/// numbers, dates as calendar days, text exactly (or ignoring case), anything else as JSON.
/// Values that do not read as their kind compare as JSON.
pub fn values_equal(kind: FieldKind, case_insensitive: bool, a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match kind {
        FieldKind::Money => {
            let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
                return false;
            };
            a.len() == 2
                && b.len() == 2
                && a.get("currency").is_some()
                && a.get("currency") == b.get("currency")
                && match (
                    a.get("amount").and_then(decimal),
                    b.get("amount").and_then(decimal),
                ) {
                    (Some(x), Some(y)) => x == y,
                    _ => false,
                }
        }
        FieldKind::Decimal => match (decimal(a), decimal(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        FieldKind::Date => match (date(a), date(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        FieldKind::Exact => match (a, b) {
            (Value::String(x), Value::String(y)) if case_insensitive => {
                text_equal_ignoring_case(x, y)
            }
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_compare_as_decimals_within_one_currency() {
        let a = json!({"amount": "1500.0", "currency": "USD"});
        let b = json!({"amount": "1500.00", "currency": "USD"});
        let c = json!({"amount": "1500.00", "currency": "EUR"});
        assert!(values_equal(FieldKind::Money, false, &a, &b));
        assert!(!values_equal(FieldKind::Money, false, &a, &c));
    }

    #[test]
    fn decimals_compare_as_numbers_and_dates_as_days() {
        assert!(values_equal(
            FieldKind::Decimal,
            false,
            &json!("8"),
            &json!("8.000")
        ));
        assert!(!values_equal(
            FieldKind::Decimal,
            false,
            &json!("8"),
            &json!("8.01")
        ));
        assert!(values_equal(
            FieldKind::Date,
            false,
            &json!("2026-03-02"),
            &json!("2026-03-02T17:00:00Z")
        ));
        assert!(!values_equal(
            FieldKind::Date,
            false,
            &json!("2026-03-02"),
            &json!("2026-03-03")
        ));
    }

    #[test]
    fn text_is_exact_unless_the_policy_says_otherwise() {
        let a = json!("Northwind Logistics");
        let b = json!("NORTHWIND logistics");
        assert!(!values_equal(FieldKind::Exact, false, &a, &b));
        assert!(values_equal(FieldKind::Exact, true, &a, &b));
        assert!(values_equal(
            FieldKind::Exact,
            true,
            &json!("Ärger"),
            &json!("äRGER")
        ));
    }
}
