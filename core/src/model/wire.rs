//! Names that let a serializer recognise exact decimals and dates in any response.
//!
//! [`Dec`](super::Dec), the amount of a [`Money`](super::Money) and [`Date`](super::Date) serialise
//! as a newtype struct with one of these names around their canonical string. A serializer that
//! does not know the names (serde_json, and so canonical JSON) writes the string unchanged; a
//! binding's serializer can match the name and build a native value (Python's `decimal.Decimal`
//! and `datetime.date`) without guessing from the string's shape.

use serde::{Serialize, Serializer};

/// The newtype-struct name around every decimal string.
pub const DECIMAL_MARKER: &str = "$billwise::Decimal";

/// The newtype-struct name around every `YYYY-MM-DD` date string.
pub const DATE_MARKER: &str = "$billwise::Date";

/// A canonical string serialised under a marker name.
pub(crate) struct Marked<'a>(pub &'static str, pub &'a str);

impl Serialize for Marked<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use crate::json::to_canonical_string;
    use crate::model::{Currency, Date, Dec, Money};

    #[test]
    fn marked_decimals_money_and_dates_are_plain_strings_in_canonical_json() {
        let dec: Dec = "12.50".parse().unwrap();
        let date: Date = "2026-03-02".parse().unwrap();
        let money = Money::new(*dec, Currency::Usd);
        let jpy = Money::new(*dec, Currency::Jpy);
        let out = to_canonical_string(&(dec, date, money, jpy)).unwrap();
        assert_eq!(
            out,
            r#"["12.5","2026-03-02",{"amount":"12.50","currency":"USD"},{"amount":"12.5","currency":"JPY"}]"#
        );
        assert_eq!(serde_json::to_string(&date).unwrap(), r#""2026-03-02""#);
    }
}
