//! ISO 4217 currencies and their minor units.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};

macro_rules! currencies {
    ($( $variant:ident = $code:literal, $minor:literal, $name:literal; )+) => {
        /// An ISO 4217 currency billwise can round.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Currency {
            $( #[doc = $name] $variant, )+
        }

        impl Currency {
            /// Every supported currency, in code order.
            pub const ALL: &'static [Currency] = &[ $( Currency::$variant, )+ ];

            /// The three-letter code.
            pub const fn code(self) -> &'static str {
                match self { $( Currency::$variant => $code, )+ }
            }

            /// The number of minor-unit digits (JPY 0, USD 2, BHD 3).
            pub const fn minor_units(self) -> u32 {
                match self { $( Currency::$variant => $minor, )+ }
            }

            /// The English name.
            pub const fn name(self) -> &'static str {
                match self { $( Currency::$variant => $name, )+ }
            }

            /// Looks up a code (exact, upper case).
            pub fn from_code(code: &str) -> Result<Currency, Error> {
                // A search of `ALL`: a `match` on the strings compiles to a comparison tree per
                // code, twice the WebAssembly module's bytes for the same answer.
                Self::ALL.iter().copied().find(|c| c.code() == code).ok_or_else(|| Error::new(
                    ErrorCode::InputUnknownCurrency,
                    format!("`{}` is not a supported ISO 4217 currency code", code.chars().take(16).collect::<String>()),
                ))
            }
        }
    };
}

currencies! {
    Aed = "AED", 2, "UAE dirham";
    Ars = "ARS", 2, "Argentine peso";
    Aud = "AUD", 2, "Australian dollar";
    Bhd = "BHD", 3, "Bahraini dinar";
    Brl = "BRL", 2, "Brazilian real";
    Cad = "CAD", 2, "Canadian dollar";
    Chf = "CHF", 2, "Swiss franc";
    Clp = "CLP", 0, "Chilean peso";
    Cny = "CNY", 2, "Chinese yuan";
    Cop = "COP", 2, "Colombian peso";
    Czk = "CZK", 2, "Czech koruna";
    Dkk = "DKK", 2, "Danish krone";
    Egp = "EGP", 2, "Egyptian pound";
    Eur = "EUR", 2, "Euro";
    Gbp = "GBP", 2, "Pound sterling";
    Hkd = "HKD", 2, "Hong Kong dollar";
    Huf = "HUF", 2, "Hungarian forint";
    Idr = "IDR", 2, "Indonesian rupiah";
    Ils = "ILS", 2, "Israeli new shekel";
    Inr = "INR", 2, "Indian rupee";
    Isk = "ISK", 0, "Icelandic krona";
    Jod = "JOD", 3, "Jordanian dinar";
    Jpy = "JPY", 0, "Japanese yen";
    Krw = "KRW", 0, "South Korean won";
    Kwd = "KWD", 3, "Kuwaiti dinar";
    Mxn = "MXN", 2, "Mexican peso";
    Myr = "MYR", 2, "Malaysian ringgit";
    Ngn = "NGN", 2, "Nigerian naira";
    Nok = "NOK", 2, "Norwegian krone";
    Nzd = "NZD", 2, "New Zealand dollar";
    Omr = "OMR", 3, "Omani rial";
    Php = "PHP", 2, "Philippine peso";
    Pln = "PLN", 2, "Polish zloty";
    Qar = "QAR", 2, "Qatari riyal";
    Ron = "RON", 2, "Romanian leu";
    Sar = "SAR", 2, "Saudi riyal";
    Sek = "SEK", 2, "Swedish krona";
    Sgd = "SGD", 2, "Singapore dollar";
    Thb = "THB", 2, "Thai baht";
    Tnd = "TND", 3, "Tunisian dinar";
    Try = "TRY", 2, "Turkish lira";
    Twd = "TWD", 2, "New Taiwan dollar";
    Uah = "UAH", 2, "Ukrainian hryvnia";
    Usd = "USD", 2, "United States dollar";
    Vnd = "VND", 0, "Vietnamese dong";
    Zar = "ZAR", 2, "South African rand";
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Currency;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an ISO 4217 currency code")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Currency, E> {
                Currency::from_code(v).map_err(crate::json::de_error)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Currency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Currency".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Currency::ALL.iter().map(|c| c.code()).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": codes,
            "description": "An ISO 4217 currency code."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::Jpy.minor_units(), 0);
        assert_eq!(Currency::Usd.minor_units(), 2);
        assert_eq!(Currency::Bhd.minor_units(), 3);
        assert_eq!(Currency::Kwd.minor_units(), 3);
        assert!(Currency::ALL.len() >= 30);
    }

    #[test]
    fn codes_are_sorted_unique_and_round_trip() {
        let codes: Vec<&str> = Currency::ALL.iter().map(|c| c.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
        for c in Currency::ALL {
            assert_eq!(Currency::from_code(c.code()).unwrap(), *c);
        }
    }

    #[test]
    fn unknown_and_lowercase_codes_are_refused() {
        for s in ["usd", "XXX", "", "US"] {
            assert_eq!(
                Currency::from_code(s).unwrap_err().code,
                ErrorCode::InputUnknownCurrency
            );
        }
    }
}
