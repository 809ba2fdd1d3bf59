//! Python values to request JSON.
//!
//! The walk writes JSON text straight into a buffer that the core then reads with its own limits
//! and error paths, so a request built from Python objects is refused exactly as the same JSON text
//! would be. Conversions:
//!
//! - `str`, `bool`, `int`, `None`, `dict` and any `Mapping`, `list`/`tuple` and any `Sequence`:
//!   their JSON counterparts (object keys must be strings);
//! - `float`: a JSON number, so the core refuses it wherever a decimal belongs
//!   (`INPUT_NUMBER_NOT_ALLOWED`); `nan` and infinities are refused here with the same code;
//! - `decimal.Decimal`: its plain (non-exponent) decimal string;
//! - `datetime.date`: `YYYY-MM-DD` (a `datetime.datetime` is refused: it is not a date);
//! - an `Enum`: its value; a dataclass: its fields; a pydantic model: `model_dump(by_alias=True)`.
//!   Fields of dataclasses and models that are `None` are left out (absent and null mean the same).

use billwise_core::ErrorCode;
use billwise_core::error::push_segment;
use billwise_core::json::Limits;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};

use crate::errors::Failure;

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static SEQUENCE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ENUM: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static IS_DATACLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static FIELDS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static FORMAT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn function<'py>(
    cell: &'static PyOnceLock<Py<PyAny>>,
    py: Python<'py>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import(module)?.getattr(name)?.unbind())
    })
    .map(|f| f.bind(py))
}

/// Request bytes: `str`, `bytes` and `bytearray` are JSON text taken as they are;
/// anything else is converted by [`to_json_bytes`].
pub fn request_bytes(value: &Bound<'_, PyAny>, limits: &Limits) -> Result<Vec<u8>, Failure> {
    if let Ok(s) = value.cast::<PyString>() {
        return match s.to_cow() {
            Ok(text) => Ok(text.into_owned().into_bytes()),
            Err(_) => Err(not_utf8("")),
        };
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    to_json_bytes(value, limits)
}

/// Converts a Python value to JSON text.
pub fn to_json_bytes(value: &Bound<'_, PyAny>, limits: &Limits) -> Result<Vec<u8>, Failure> {
    let mut w = Writer {
        out: Vec::with_capacity(256),
        path: String::new(),
        depth: 0,
        max_depth: limits.max_depth,
    };
    w.value(value)?;
    Ok(w.out)
}

fn not_utf8(path: &str) -> Failure {
    Failure::Core(
        billwise_core::Error::new(
            ErrorCode::InputMalformedJson,
            "a string is not valid UTF-8 (it holds a lone surrogate)",
        )
        .at(path),
    )
}

struct Writer {
    out: Vec<u8>,
    path: String,
    depth: usize,
    max_depth: usize,
}

impl Writer {
    fn error(&self, code: ErrorCode, message: String) -> Failure {
        Failure::Core(billwise_core::Error::new(code, message).at(self.path.clone()))
    }

    fn string(&mut self, s: &str) -> Result<(), Failure> {
        serde_json::to_writer(&mut self.out, s)
            .map_err(|e| Failure::Core(billwise_core::Error::internal(e.to_string())))
    }

    fn py_string(&mut self, s: &Bound<'_, PyString>) -> Result<(), Failure> {
        match s.to_cow() {
            Ok(text) => self.string(&text),
            Err(_) => Err(not_utf8(&self.path)),
        }
    }

    /// Opens a container; past the depth limit it writes an empty array instead and returns
    /// `false`, so the core's limit scan reports the nesting at this very path, in its own words.
    fn open(&mut self) -> bool {
        if self.depth >= self.max_depth {
            self.out.extend_from_slice(b"[]");
            return false;
        }
        self.depth += 1;
        true
    }

    fn member(&mut self, first: &mut bool, key: &Bound<'_, PyAny>) -> Result<usize, Failure> {
        if !*first {
            self.out.push(b',');
        }
        *first = false;
        let key = key.cast::<PyString>().map_err(|_| {
            self.error(
                ErrorCode::InputInvalidType,
                format!(
                    "object keys must be strings (got a `{}`)",
                    type_name(key).unwrap_or_default()
                ),
            )
        })?;
        let text = key.to_cow().map_err(|_| not_utf8(&self.path))?;
        self.string(&text)?;
        self.out.push(b':');
        let mark = self.path.len();
        push_segment(&mut self.path, &text);
        Ok(mark)
    }

    fn object<'py>(
        &mut self,
        items: impl Iterator<Item = PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)>>,
        skip_none: bool,
    ) -> Result<(), Failure> {
        if !self.open() {
            return Ok(());
        }
        self.out.push(b'{');
        let mut first = true;
        for item in items {
            let (k, v) = item?;
            if skip_none && v.is_none() {
                continue;
            }
            let mark = self.member(&mut first, &k)?;
            self.value(&v)?;
            self.path.truncate(mark);
        }
        self.out.push(b'}');
        self.depth -= 1;
        Ok(())
    }

    fn array<'py>(
        &mut self,
        items: impl Iterator<Item = PyResult<Bound<'py, PyAny>>>,
    ) -> Result<(), Failure> {
        if !self.open() {
            return Ok(());
        }
        self.out.push(b'[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            let mark = self.path.len();
            self.path.push('/');
            self.path.push_str(&i.to_string());
            self.value(&item?)?;
            self.path.truncate(mark);
        }
        self.out.push(b']');
        self.depth -= 1;
        Ok(())
    }

    fn value(&mut self, v: &Bound<'_, PyAny>) -> Result<(), Failure> {
        let py = v.py();
        if let Ok(s) = v.cast::<PyString>() {
            return self.py_string(s);
        }
        if let Ok(d) = v.cast::<PyDict>() {
            return self.object(d.iter().map(Ok), false);
        }
        if let Ok(l) = v.cast::<PyList>() {
            return self.array(l.iter().map(Ok));
        }
        if v.is_none() {
            self.out.extend_from_slice(b"null");
            return Ok(());
        }
        if let Ok(b) = v.cast::<PyBool>() {
            let text: &[u8] = if b.is_true() { b"true" } else { b"false" };
            self.out.extend_from_slice(text);
            return Ok(());
        }
        if v.is_exact_instance_of::<PyInt>() || (v.is_instance_of::<PyInt>() && !is_enum(v)?) {
            return self.int(v);
        }
        if v.is_instance_of::<PyFloat>() && !is_enum(v)? {
            return self.float(v.extract::<f64>()?);
        }
        if let Ok(t) = v.cast::<PyTuple>() {
            return self.array(t.iter().map(Ok));
        }
        if v.is_instance(DECIMAL.import(py, "decimal", "Decimal")?)? {
            // `str` is exact; only tiny or huge values use an exponent, which `format(v, "f")`
            // spells out (`1E-7` → `0.0000001`). `NaN` and `Infinity` pass through for the core
            // to refuse as decimals.
            let text = v.str()?;
            if !text.to_cow()?.contains(['E', 'e']) {
                return self.py_string(&text);
            }
            let plain = function(&FORMAT, py, "builtins", "format")?
                .call1((v, "f"))?
                .cast_into::<PyString>()?;
            return self.py_string(&plain);
        }
        if v.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
            return Err(self.error(
                ErrorCode::InputInvalidDate,
                "a `datetime` stands where a date is expected; pass `value.date()`".to_owned(),
            ));
        }
        if v.is_instance(DATE.import(py, "datetime", "date")?)? {
            let text = v.call_method0("isoformat")?.cast_into::<PyString>()?;
            return self.py_string(&text);
        }
        if is_enum(v)? {
            return self.value(&v.getattr("value")?);
        }
        if v.is_instance_of::<PyBytes>() || v.is_instance_of::<PyByteArray>() {
            return Err(self.error(
                ErrorCode::InputInvalidType,
                "bytes stand where a JSON value is expected; decode them to `str`".to_owned(),
            ));
        }
        if v.is_instance(MAPPING.import(py, "collections.abc", "Mapping")?)? {
            let items = v.call_method0("items")?.try_iter()?;
            return self.object(items.map(|i| i.and_then(|pair| pair.extract())), false);
        }
        if v.is_instance(SEQUENCE.import(py, "collections.abc", "Sequence")?)? {
            return self.array(v.try_iter()?);
        }
        if !v.is_instance_of::<PyType>()
            && function(&IS_DATACLASS, py, "dataclasses", "is_dataclass")?
                .call1((v,))?
                .is_truthy()?
        {
            let fields = function(&FIELDS, py, "dataclasses", "fields")?.call1((v,))?;
            let mut pairs = Vec::new();
            for field in fields.try_iter()? {
                let name = field?.getattr("name")?;
                let value = v.getattr(name.cast::<PyString>()?)?;
                pairs.push(Ok((name, value)));
            }
            return self.object(pairs.into_iter(), true);
        }
        if !v.is_instance_of::<PyType>() && v.hasattr("model_dump")? {
            let kwargs = PyDict::new(py);
            kwargs.set_item("by_alias", true)?;
            kwargs.set_item("exclude_none", true)?;
            let dumped = v.call_method("model_dump", (), Some(&kwargs))?;
            if dumped.is_instance_of::<PyDict>() {
                return self.value(&dumped);
            }
        }
        Err(self.error(
            ErrorCode::InputInvalidType,
            format!(
                "a `{}` cannot be converted to JSON",
                type_name(v).unwrap_or_default()
            ),
        ))
    }

    fn int(&mut self, v: &Bound<'_, PyAny>) -> Result<(), Failure> {
        if let Ok(i) = v.extract::<i64>() {
            self.out.extend_from_slice(i.to_string().as_bytes());
            return Ok(());
        }
        if let Ok(u) = v.extract::<u64>() {
            self.out.extend_from_slice(u.to_string().as_bytes());
            return Ok(());
        }
        Err(self.error(
            ErrorCode::InputInvalidValue,
            "an integer is too large for JSON; write it as a decimal string".to_owned(),
        ))
    }

    fn float(&mut self, f: f64) -> Result<(), Failure> {
        if !f.is_finite() {
            return Err(self.error(
                ErrorCode::InputNumberNotAllowed,
                format!(
                    "the float `{f}` is not a number JSON can carry; write amounts as `decimal.Decimal` or decimal strings"
                ),
            ));
        }
        serde_json::to_writer(&mut self.out, &f)
            .map_err(|e| Failure::Core(billwise_core::Error::internal(e.to_string())))
    }
}

fn is_enum(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    v.is_instance(ENUM.import(v.py(), "enum", "Enum")?)
}

fn type_name(v: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(v.get_type().name()?.to_cow()?.into_owned())
}
