//! Core responses to Python objects, through a serde [`Serializer`].
//!
//! Structs and maps become `dict`, sequences `list`, strings `str`, integers `int`. The core
//! serialises every decimal and every date as a newtype struct named
//! [`DECIMAL_MARKER`]/[`DATE_MARKER`] around its canonical string; those become `decimal.Decimal`
//! and `datetime.date`. Nothing is guessed from the shape of a string.
//!
//! One conversion keeps a [`Cache`]: field names are created once per conversion, and equal
//! decimals and dates become one shared (immutable) `Decimal`/`date` object, so a response of a
//! million lines builds a few thousand of them instead of several million.

use billwise_core::billing::{
    HeldItem, HoldReason, InvoicePreview, ItemKind, LineUnit, PreviewLine, Text,
};
use billwise_core::model::wire::{DATE_MARKER, DECIMAL_MARKER};
use billwise_core::model::{Currency, Date, Dec, Id, Money};
use std::cell::RefCell;
use std::collections::BTreeMap;

use pyo3::BoundObject;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString, PyType};
use serde::Serialize;
use serde::ser;

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The name serde_json gives a `RawValue` (JSON text carried through as it is).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A conversion failure.
#[derive(Debug)]
pub enum OutputError {
    /// Python raised.
    Py(PyErr),
    /// serde reported a problem.
    Custom(String),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Py(e) => write!(f, "{e}"),
            Self::Custom(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for OutputError {}

impl ser::Error for OutputError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self::Custom(msg.to_string())
    }
}

impl From<PyErr> for OutputError {
    fn from(e: PyErr) -> Self {
        Self::Py(e)
    }
}

/// Converts `value` to Python objects.
pub fn to_python<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> Result<Bound<'py, PyAny>, OutputError> {
    let _paused = GcPause::new(py)?;
    let cache = RefCell::new(Cache::default());
    value.serialize(ToPython { py, cache: &cache })
}

static GC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Pauses Python's cyclic garbage collector while a conversion builds its objects, and resumes it
/// when dropped (if it was running before). A response of a million lines creates millions of
/// dicts and lists; with the collector running, its collections traverse all of them again and
/// again (about a quarter of the conversion at a million entries). The objects built hold no
/// cycles, and the conversion holds the GIL throughout, so no other Python code sees the pause.
struct GcPause<'py> {
    resume: Option<Bound<'py, PyAny>>,
}

impl<'py> GcPause<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let gc = GC
            .get_or_try_init(py, || Ok::<_, PyErr>(py.import("gc")?.into_any().unbind()))?
            .bind(py);
        if !gc.call_method0("isenabled")?.is_truthy()? {
            return Ok(Self { resume: None });
        }
        gc.call_method0("disable")?;
        Ok(Self {
            resume: Some(gc.clone()),
        })
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.resume
            && let Err(e) = gc.call_method0("enable")
        {
            e.write_unraisable(gc.py(), None);
        }
    }
}

/// At most this many distinct decimals and dates are kept per conversion.
const CACHE_LIMIT: usize = 1 << 16;

/// Objects reused within one conversion.
#[derive(Default)]
struct Cache {
    /// Field and variant names, by the address and length of their `&'static str`.
    names: BTreeMap<(usize, usize), Py<PyString>>,
    decimals: BTreeMap<String, Py<PyAny>>,
    dates: BTreeMap<String, Py<PyAny>>,
}

#[derive(Clone, Copy)]
struct ToPython<'py, 'c> {
    py: Python<'py>,
    cache: &'c RefCell<Cache>,
}

impl<'py> ToPython<'py, '_> {
    /// A `&'static str` (a field or variant name) as a Python string made once per conversion.
    fn name(self, name: &'static str) -> Bound<'py, PyString> {
        let key = (name.as_ptr() as usize, name.len());
        let mut cache = self.cache.borrow_mut();
        cache
            .names
            .entry(key)
            .or_insert_with(|| PyString::new(self.py, name).unbind())
            .bind(self.py)
            .clone()
    }

    /// A `Decimal` or `date` for a marked string, shared with equal ones of this conversion.
    fn marked(self, marker: &'static str, text: String) -> Out<'py> {
        let is_date = marker == DATE_MARKER;
        {
            let cache = self.cache.borrow();
            let map = if is_date {
                &cache.dates
            } else {
                &cache.decimals
            };
            if let Some(found) = map.get(&text) {
                return Ok(found.bind(self.py).clone());
            }
        }
        let made = if is_date {
            DATE.import(self.py, "datetime", "date")?
                .call_method1("fromisoformat", (&text,))?
        } else {
            DECIMAL
                .import(self.py, "decimal", "Decimal")?
                .call1((&text,))?
        };
        let mut cache = self.cache.borrow_mut();
        let map = if is_date {
            &mut cache.dates
        } else {
            &mut cache.decimals
        };
        if map.len() < CACHE_LIMIT {
            map.insert(text, made.clone().unbind());
        }
        Ok(made)
    }
}

type Out<'py> = Result<Bound<'py, PyAny>, OutputError>;

impl<'py> ToPython<'py, '_> {
    fn int(self, v: impl IntoPyObject<'py>) -> Out<'py> {
        v.into_pyobject(self.py)
            .map(|o| o.into_any().into_bound())
            .map_err(|e| OutputError::Py(e.into()))
    }
}

/// A list under construction.
pub struct Seq<'py, 'c> {
    to: ToPython<'py, 'c>,
    items: Vec<Bound<'py, PyAny>>,
    /// For enum variants: the variant name the list is wrapped under.
    variant: Option<Bound<'py, PyString>>,
}

/// A dict under construction.
pub struct Map<'py, 'c> {
    to: ToPython<'py, 'c>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
    variant: Option<Bound<'py, PyString>>,
}

fn wrap<'py>(
    py: Python<'py>,
    variant: Option<Bound<'py, PyString>>,
    value: Bound<'py, PyAny>,
) -> Out<'py> {
    match variant {
        None => Ok(value),
        Some(name) => {
            let outer = PyDict::new(py);
            outer.set_item(name, value)?;
            Ok(outer.into_any())
        }
    }
}

impl<'py, 'c> ser::Serializer for ToPython<'py, 'c> {
    type Ok = Bound<'py, PyAny>;
    type Error = OutputError;
    type SerializeSeq = Seq<'py, 'c>;
    type SerializeTuple = Seq<'py, 'c>;
    type SerializeTupleStruct = Seq<'py, 'c>;
    type SerializeTupleVariant = Seq<'py, 'c>;
    type SerializeMap = Map<'py, 'c>;
    type SerializeStruct = Map<'py, 'c>;
    type SerializeStructVariant = Map<'py, 'c>;

    fn serialize_bool(self, v: bool) -> Out<'py> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn serialize_i8(self, v: i8) -> Out<'py> {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Out<'py> {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Out<'py> {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Out<'py> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Out<'py> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Out<'py> {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Out<'py> {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Out<'py> {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Out<'py> {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Out<'py> {
        self.int(v)
    }
    fn serialize_f32(self, v: f32) -> Out<'py> {
        self.int(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Out<'py> {
        self.int(v)
    }
    fn serialize_char(self, v: char) -> Out<'py> {
        Ok(PyString::new(self.py, v.encode_utf8(&mut [0; 4])).into_any())
    }
    fn serialize_str(self, v: &str) -> Out<'py> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> Out<'py> {
        Ok(PyBytes::new(self.py, v).into_any())
    }
    fn serialize_none(self) -> Out<'py> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Out<'py> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Out<'py> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Out<'py> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Out<'py> {
        Ok(self.name(variant).into_any())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Out<'py> {
        if name == DECIMAL_MARKER || name == DATE_MARKER {
            return self.marked(name, value.serialize(TextOnly)?);
        }
        let inner = value.serialize(self)?;
        match name {
            RAW_VALUE_TOKEN => {
                let text: String = inner.extract()?;
                let parsed: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| OutputError::Custom(e.to_string()))?;
                parsed.serialize(self)
            }
            _ => Ok(inner),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Out<'py> {
        let inner = value.serialize(self)?;
        wrap(self.py, Some(self.name(variant)), inner)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'py, 'c>, OutputError> {
        Ok(Seq {
            to: self,
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'py, 'c>, OutputError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Seq<'py, 'c>, OutputError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq<'py, 'c>, OutputError> {
        let mut seq = self.serialize_seq(Some(len))?;
        seq.variant = Some(self.name(variant));
        Ok(seq)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'py, 'c>, OutputError> {
        Ok(Map {
            to: self,
            dict: PyDict::new(self.py),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Map<'py, 'c>, OutputError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Map<'py, 'c>, OutputError> {
        let mut map = self.serialize_map(Some(len))?;
        map.variant = Some(self.name(variant));
        Ok(map)
    }
}

impl<'py> Seq<'py, '_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), OutputError> {
        self.items.push(value.serialize(self.to)?);
        Ok(())
    }
    fn finish(self) -> Out<'py> {
        let list = PyList::new(self.to.py, self.items)?.into_any();
        wrap(self.to.py, self.variant, list)
    }
}

impl<'py> ser::SerializeSeq for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = OutputError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), OutputError> {
        self.push(value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

impl<'py> ser::SerializeTuple for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = OutputError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), OutputError> {
        self.push(value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleStruct for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = OutputError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), OutputError> {
        self.push(value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleVariant for Seq<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = OutputError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), OutputError> {
        self.push(value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

impl<'py> Map<'py, '_> {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), OutputError> {
        let value = value.serialize(self.to)?;
        self.dict.set_item(self.to.name(key), value)?;
        Ok(())
    }
    fn finish(self) -> Out<'py> {
        wrap(self.to.py, self.variant, self.dict.into_any())
    }
}

impl<'py> ser::SerializeMap for Map<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = OutputError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), OutputError> {
        self.key = Some(key.serialize(self.to)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), OutputError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| OutputError::Custom("a map value came without its key".to_owned()))?;
        let value = value.serialize(self.to)?;
        self.dict.set_item(key, value)?;
        Ok(())
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

impl<'py> ser::SerializeStruct for Map<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = OutputError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), OutputError> {
        self.field(key, value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

impl<'py> ser::SerializeStructVariant for Map<'py, '_> {
    type Ok = Bound<'py, PyAny>;
    type Error = OutputError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), OutputError> {
        self.field(key, value)
    }
    fn end(self) -> Out<'py> {
        self.finish()
    }
}

/// Takes the string a marker wraps (anything else is a defect of the core's serialisation).
struct TextOnly;

fn not_text<T>() -> Result<T, OutputError> {
    Err(OutputError::Custom(
        "a decimal or date marker wraps something other than a string".to_owned(),
    ))
}

impl ser::Serializer for TextOnly {
    type Ok = String;
    type Error = OutputError;
    type SerializeSeq = ser::Impossible<String, OutputError>;
    type SerializeTuple = ser::Impossible<String, OutputError>;
    type SerializeTupleStruct = ser::Impossible<String, OutputError>;
    type SerializeTupleVariant = ser::Impossible<String, OutputError>;
    type SerializeMap = ser::Impossible<String, OutputError>;
    type SerializeStruct = ser::Impossible<String, OutputError>;
    type SerializeStructVariant = ser::Impossible<String, OutputError>;

    fn serialize_str(self, v: &str) -> Result<String, OutputError> {
        Ok(v.to_owned())
    }
    fn serialize_bool(self, _: bool) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_i8(self, _: i8) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_i16(self, _: i16) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_i32(self, _: i32) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_i64(self, _: i64) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_u8(self, _: u8) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_u16(self, _: u16) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_u32(self, _: u32) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_u64(self, _: u64) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_f32(self, _: f32) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_f64(self, _: f64) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_char(self, _: char) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_none(self) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_unit(self) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, OutputError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, OutputError> {
        not_text()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, OutputError> {
        not_text()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, OutputError> {
        not_text()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, OutputError> {
        not_text()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, OutputError> {
        not_text()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, OutputError> {
        not_text()
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, OutputError> {
        not_text()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, OutputError> {
        not_text()
    }
}

/// A billing preview as Python objects: the same objects [`to_python`] builds, with its lines and
/// held items (one per billed or held entry, the bulk of a large run) built directly.
///
/// Through serde, each line looked up every field name in the name cache, wrote each decimal and
/// date as text to find it in the value caches, and grew its dict one key at a time. Here the
/// keys are made once, each dict is a copy of the first of its shape (sized, its keys in place)
/// with every value replaced, and decimals, dates and names are cached by their value; an object
/// not yet cached is made through the serde path, so each value's Python form is defined in one
/// place.
/// The rest of the preview (totals, summary, ceiling: a few objects) goes through serde as before,
/// and its `held` and `lines` are replaced in place, which keeps the dict's key order.
pub fn preview_to_python<'py>(
    py: Python<'py>,
    mut preview: InvoicePreview<'_>,
) -> Result<Bound<'py, PyAny>, OutputError> {
    let _paused = GcPause::new(py)?;
    let cache = RefCell::new(Cache::default());
    let to = ToPython { py, cache: &cache };
    let lines = std::mem::take(&mut preview.lines);
    let held = std::mem::take(&mut preview.held);
    let whole = preview.serialize(to)?;
    let dict = whole.cast::<PyDict>().map_err(PyErr::from)?;
    let keys = Keys::new(to);
    let mut items = Items::new(to);
    let made = held
        .iter()
        .map(|h| items.held(&keys, h))
        .collect::<Result<Vec<_>, _>>()?;
    dict.set_item(&keys.held, PyList::new(py, made)?)?;
    let made = lines
        .iter()
        .map(|l| items.line(&keys, l))
        .collect::<Result<Vec<_>, _>>()?;
    dict.set_item(&keys.lines, PyList::new(py, made)?)?;
    Ok(whole)
}

/// The field names of lines, held items and money, made once per conversion.
struct Keys<'py> {
    amount: Bound<'py, PyString>,
    billed_hours: Bound<'py, PyString>,
    billed_quantity: Bound<'py, PyString>,
    ceiling_split: Bound<'py, PyString>,
    change_order_id: Bound<'py, PyString>,
    contract_version: Bound<'py, PyString>,
    currency: Bound<'py, PyString>,
    date: Bound<'py, PyString>,
    description: Bound<'py, PyString>,
    held: Bound<'py, PyString>,
    id: Bound<'py, PyString>,
    kind: Bound<'py, PyString>,
    lines: Bound<'py, PyString>,
    quantity: Bound<'py, PyString>,
    rate_source: Bound<'py, PyString>,
    reason: Bound<'py, PyString>,
    sentence: Bound<'py, PyString>,
    source_ids: Bound<'py, PyString>,
    unit: Bound<'py, PyString>,
    unit_price: Bound<'py, PyString>,
    worked_hours: Bound<'py, PyString>,
}

impl<'py> Keys<'py> {
    fn new(to: ToPython<'py, '_>) -> Self {
        let key = |name: &'static str| to.name(name);
        Keys {
            amount: key("amount"),
            billed_hours: key("billed_hours"),
            billed_quantity: key("billed_quantity"),
            ceiling_split: key("ceiling_split"),
            change_order_id: key("change_order_id"),
            contract_version: key("contract_version"),
            currency: key("currency"),
            date: key("date"),
            description: key("description"),
            held: key("held"),
            id: key("id"),
            kind: key("kind"),
            lines: key("lines"),
            quantity: key("quantity"),
            rate_source: key("rate_source"),
            reason: key("reason"),
            sentence: key("sentence"),
            source_ids: key("source_ids"),
            unit: key("unit"),
            unit_price: key("unit_price"),
            worked_hours: key("worked_hours"),
        }
    }
}

/// Builds lines and held items, caching the values many of them share.
struct Items<'py, 'c> {
    to: ToPython<'py, 'c>,
    /// Decimal objects by the exact value (digits and scale) of a `Dec`.
    decimals: BTreeMap<[u8; 16], Bound<'py, PyAny>>,
    /// The `amount` objects of money, by the exact value and the currency.
    amounts: BTreeMap<([u8; 16], Currency), Bound<'py, PyAny>>,
    currencies: BTreeMap<Currency, Bound<'py, PyAny>>,
    dates: BTreeMap<Date, Bound<'py, PyAny>>,
    kinds: BTreeMap<ItemKind, Bound<'py, PyAny>>,
    reasons: BTreeMap<HoldReason, Bound<'py, PyAny>>,
    units: BTreeMap<LineUnit, Bound<'py, PyAny>>,
    /// The first dict built of each shape (which optional keys it has): copying one gives a
    /// dict of the right size with its keys in place, where a new dict grows key by key.
    shapes: BTreeMap<Shape, Bound<'py, PyDict>>,
}

/// The shape of a dict [`Items`] builds: its kind and which of its optional keys it has.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Money,
    Line {
        billed_hours: bool,
        billed_quantity: bool,
        ceiling_split: bool,
        worked_hours: bool,
    },
    Held {
        amount: bool,
        change_order_id: bool,
        problems: bool,
    },
}

/// A cached object for `key`, made by `make` (and kept, while the cache has room) when missing.
fn cached<'py, K: Ord>(
    map: &mut BTreeMap<K, Bound<'py, PyAny>>,
    key: K,
    make: impl FnOnce() -> Out<'py>,
) -> Out<'py> {
    if let Some(found) = map.get(&key) {
        return Ok(found.clone());
    }
    let made = make()?;
    if map.len() < CACHE_LIMIT {
        map.insert(key, made.clone());
    }
    Ok(made)
}

impl<'py, 'c> Items<'py, 'c> {
    fn new(to: ToPython<'py, 'c>) -> Self {
        Items {
            to,
            decimals: BTreeMap::new(),
            amounts: BTreeMap::new(),
            currencies: BTreeMap::new(),
            dates: BTreeMap::new(),
            kinds: BTreeMap::new(),
            reasons: BTreeMap::new(),
            units: BTreeMap::new(),
            shapes: BTreeMap::new(),
        }
    }

    /// A dict of `shape`: a copy of the first one built, whose values the caller replaces.
    fn dict(&self, shape: Shape) -> PyResult<Bound<'py, PyDict>> {
        match self.shapes.get(&shape) {
            Some(first) => first.copy(),
            None => Ok(PyDict::new(self.to.py)),
        }
    }

    /// Keeps the first dict of `shape` built, once all its keys are set.
    fn built(&mut self, shape: Shape, dict: &Bound<'py, PyDict>) -> PyResult<()> {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.shapes.entry(shape) {
            slot.insert(dict.copy()?);
        }
        Ok(())
    }

    fn decimal(&mut self, d: Dec) -> Out<'py> {
        let to = self.to;
        cached(&mut self.decimals, d.0.serialize(), || d.serialize(to))
    }

    fn date(&mut self, d: Date) -> Out<'py> {
        let to = self.to;
        cached(&mut self.dates, d, || d.serialize(to))
    }

    fn kind(&mut self, k: ItemKind) -> Out<'py> {
        let to = self.to;
        cached(&mut self.kinds, k, || k.serialize(to))
    }

    fn unit(&mut self, u: LineUnit) -> Out<'py> {
        let to = self.to;
        cached(&mut self.units, u, || u.serialize(to))
    }

    fn text(&self, t: &Text<'_>) -> Bound<'py, PyAny> {
        PyString::new(self.to.py, &t.to_str()).into_any()
    }

    fn id(&self, id: &Id) -> Bound<'py, PyAny> {
        PyString::new(self.to.py, id.as_str()).into_any()
    }

    /// `{"amount": Decimal, "currency": str}`, a new dict each time (dicts are mutable).
    fn money(&mut self, k: &Keys<'py>, m: Money) -> Out<'py> {
        let to = self.to;
        let key = (m.amount.serialize(), m.currency);
        if let Some(amount) = self.amounts.get(&key) {
            let currency = cached(&mut self.currencies, m.currency, || {
                m.currency.serialize(to)
            })?;
            let amount = amount.clone();
            let dict = self.dict(Shape::Money)?;
            dict.set_item(&k.amount, amount)?;
            dict.set_item(&k.currency, currency)?;
            self.built(Shape::Money, &dict)?;
            return Ok(dict.into_any());
        }
        // The first of its value: made through serde, and its amount kept for the next ones.
        let made = m.serialize(to)?;
        if self.amounts.len() < CACHE_LIMIT
            && let Some(amount) = made
                .cast::<PyDict>()
                .map_err(PyErr::from)?
                .get_item(&k.amount)?
        {
            self.amounts.insert(key, amount);
        }
        Ok(made)
    }

    fn line(&mut self, k: &Keys<'py>, l: &PreviewLine<'_>) -> Out<'py> {
        // Every field, so that a field added to `PreviewLine` fails to compile here.
        let PreviewLine {
            amount,
            billed_hours,
            billed_quantity,
            ceiling_split,
            contract_version,
            date,
            description,
            kind,
            quantity,
            rate_source,
            source_ids,
            unit,
            unit_price,
            worked_hours,
        } = l;
        let py = self.to.py;
        let shape = Shape::Line {
            billed_hours: billed_hours.is_some(),
            billed_quantity: billed_quantity.is_some(),
            ceiling_split: *ceiling_split,
            worked_hours: worked_hours.is_some(),
        };
        let dict = self.dict(shape)?;
        dict.set_item(&k.amount, self.money(k, *amount)?)?;
        if let Some(h) = billed_hours {
            dict.set_item(&k.billed_hours, self.decimal(*h)?)?;
        }
        if let Some(q) = billed_quantity {
            dict.set_item(&k.billed_quantity, self.decimal(*q)?)?;
        }
        if *ceiling_split {
            dict.set_item(&k.ceiling_split, PyBool::new(py, true))?;
        }
        dict.set_item(&k.contract_version, contract_version)?;
        dict.set_item(&k.date, self.date(*date)?)?;
        dict.set_item(&k.description, self.text(description))?;
        dict.set_item(&k.kind, self.kind(*kind)?)?;
        dict.set_item(&k.quantity, self.decimal(*quantity)?)?;
        dict.set_item(&k.rate_source, self.text(rate_source))?;
        let ids = PyList::new(py, source_ids.iter().map(|id| self.id(id)))?;
        dict.set_item(&k.source_ids, ids)?;
        dict.set_item(&k.unit, self.unit(*unit)?)?;
        dict.set_item(&k.unit_price, self.money(k, *unit_price)?)?;
        if let Some(h) = worked_hours {
            dict.set_item(&k.worked_hours, self.decimal(*h)?)?;
        }
        self.built(shape, &dict)?;
        Ok(dict.into_any())
    }

    fn held(&mut self, k: &Keys<'py>, h: &HeldItem<'_>) -> Out<'py> {
        // Every field, so that a field added to `HeldItem` fails to compile here.
        let HeldItem {
            amount,
            change_order_id,
            date,
            id,
            kind,
            problems,
            reason,
            sentence,
        } = h;
        let shape = Shape::Held {
            amount: amount.is_some(),
            change_order_id: change_order_id.is_some(),
            problems: !problems.is_empty(),
        };
        let dict = self.dict(shape)?;
        if let Some(a) = amount {
            dict.set_item(&k.amount, self.money(k, *a)?)?;
        }
        if let Some(co) = change_order_id {
            dict.set_item(&k.change_order_id, self.id(co))?;
        }
        dict.set_item(&k.date, self.date(*date)?)?;
        dict.set_item(&k.id, self.id(id))?;
        dict.set_item(&k.kind, self.kind(*kind)?)?;
        let to = self.to;
        if !problems.is_empty() {
            // (Rare: an invalid item's problems, converted as any value is.)
            dict.set_item("problems", problems.serialize(to)?)?;
        }
        let reason = cached(&mut self.reasons, *reason, || reason.serialize(to))?;
        dict.set_item(&k.reason, reason)?;
        dict.set_item(&k.sentence, self.text(sentence))?;
        self.built(shape, &dict)?;
        Ok(dict.into_any())
    }
}
