//! A deserializer that reads every struct from a JSON object only.
//!
//! serde's derived structs also accept a JSON list, their fields by position
//! (`{"amount": "1.00", "currency": "USD"}` as `["1.00", "USD"]`). The wire format has no such
//! form: a list where an object belongs is an error, `expected an object, found a list`. Reading
//! every struct as a map also keeps the positional reader out of the compiled code, one per
//! document type, which matters for the WebAssembly module's size.
//!
//! [`Strict`] wraps a deserializer and every deserializer, map, list and enum reached through it,
//! and forwards everything unchanged except structs: `deserialize_struct` becomes
//! `deserialize_map`, and a struct variant's fields are read the same way. Positions and messages
//! of errors are the wrapped deserializer's.

use std::fmt;

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// A deserializer whose structs are read from JSON objects only.
pub(crate) struct Strict<D>(pub(crate) D);

/// A visitor whose nested deserializers are [`Strict`].
struct Wrap<V>(V);

/// A seed whose deserializer is [`Strict`].
struct Seed<S>(S);

/// A seed that reads a struct variant's fields from an object.
struct StructSeed<V> {
    fields: &'static [&'static str],
    visitor: V,
}

macro_rules! forward {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method(Wrap(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }

    /// The one change: a struct is read as a map, so a list is refused as the wrong type.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! visit {
    ($($method:ident: $ty:ty)*) => {
        $(
            fn $method<E: serde::de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.0.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    visit! {
        visit_bool: bool visit_i8: i8 visit_i16: i16 visit_i32: i32 visit_i64: i64
        visit_i128: i128 visit_u8: u8 visit_u16: u16 visit_u32: u32 visit_u64: u64
        visit_u128: u128 visit_f32: f32 visit_f64: f64 visit_char: char visit_str: &str
        visit_borrowed_str: &'de str visit_string: String visit_bytes: &[u8]
        visit_borrowed_bytes: &'de [u8] visit_byte_buf: Vec<u8>
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Strict(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Strict(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Strict(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Strict(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for StructSeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        Strict(d).deserialize_struct("", self.fields, self.visitor)
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Strict<A::Variant>), A::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(value, variant)| (value, Strict(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    /// A struct variant's fields, from an object only, like any struct: the variant's value is
    /// read as a newtype whose contents are the struct, so a list is refused before the parser
    /// enters it (its error is at the variant). The wire format has no struct variants; were one
    /// written as a bare string, the message would say a newtype variant was expected.
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.newtype_variant_seed(StructSeed { fields, visitor })
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorCode;
    use crate::json::{Limits, from_str};
    use crate::model::Money;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Shape {
        Unit,
        Pair(u8, u8),
        Named { a: u8 },
    }

    #[derive(Debug, serde::Deserialize)]
    struct Holder {
        items: Vec<Money>,
        maybe: Option<Money>,
        shapes: Vec<Shape>,
    }

    #[test]
    fn a_struct_is_read_from_an_object_and_refused_from_a_list() {
        let m: Money = from_str(r#"{"amount":"1.50","currency":"USD"}"#, &Limits::DEFAULT).unwrap();
        assert_eq!(m.currency.code(), "USD");
        let e = from_str::<Money>(r#"["1.50","USD"]"#, &Limits::DEFAULT).unwrap_err();
        assert_eq!(e.code, ErrorCode::InputInvalidType);
        assert_eq!(e.message, "expected an object, found a list");
    }

    #[test]
    fn structs_nested_in_lists_options_and_enum_variants_are_read_from_objects_only() {
        let ok = r#"{"items":[{"amount":"1","currency":"USD"}],"maybe":{"amount":"2","currency":"EUR"},
            "shapes":["Unit",{"Pair":[1,2]},{"Named":{"a":3}}]}"#;
        let h: Holder = from_str(ok, &Limits::DEFAULT).unwrap();
        assert_eq!(
            (h.items.len(), h.maybe.is_some(), h.shapes.len()),
            (1, true, 3)
        );
        for (bad, path) in [
            (
                r#"{"items":[["1","USD"]],"maybe":null,"shapes":[]}"#,
                "/items/0",
            ),
            (r#"{"items":[],"maybe":["2","EUR"],"shapes":[]}"#, "/maybe"),
            (
                r#"{"items":[],"maybe":null,"shapes":[{"Named":[3]}]}"#,
                "/shapes/0/Named",
            ),
        ] {
            let e = from_str::<Holder>(bad, &Limits::DEFAULT).unwrap_err();
            assert_eq!(
                (e.code, e.path.as_str()),
                (ErrorCode::InputInvalidType, path),
                "{bad}"
            );
            assert_eq!(e.message, "expected an object, found a list", "{bad}");
        }
    }
}
