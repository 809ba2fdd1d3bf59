//! Core errors to Python exceptions, and the panic guard.
//!
//! The exception classes live in `billwise/_errors.py`; each core error becomes the class named by
//! its code's class (`ErrorClass`), carrying `code`, `message`, `path` and `details`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use billwise_core::{Error, ErrorClass};
use pyo3::prelude::*;

use crate::output::{OutputError, to_python};

/// Why a call failed: a core error, or an exception Python raised while reading the input.
#[derive(Debug)]
pub enum Failure {
    /// A billwise error.
    Core(Error),
    /// An exception from Python code (a `Mapping` whose `items()` raised, ...), passed on as it is.
    Py(PyErr),
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Self::Py(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl From<pyo3::CastError<'_, '_>> for Failure {
    fn from(e: pyo3::CastError<'_, '_>) -> Self {
        Self::Py(e.into())
    }
}

impl From<pyo3::CastIntoError<'_>> for Failure {
    fn from(e: pyo3::CastIntoError<'_>) -> Self {
        Self::Py(e.into())
    }
}

impl From<OutputError> for Failure {
    fn from(e: OutputError) -> Self {
        match e {
            OutputError::Py(e) => Self::Py(e),
            OutputError::Custom(m) => Self::Core(Error::internal(format!(
                "could not convert the result to Python objects: {m}"
            ))),
        }
    }
}

/// The exception class for an error class: the core's one mapping.
pub fn class_name(class: ErrorClass) -> &'static str {
    class.exception()
}

fn exception(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let class = py
        .import("billwise._errors")?
        .getattr(class_name(e.class()))?;
    let details = to_python(py, &e.details).map_err(|err| match err {
        OutputError::Py(p) => p,
        OutputError::Custom(m) => pyo3::exceptions::PyValueError::new_err(m),
    })?;
    let value = class.call1((
        e.message.as_str(),
        e.code.as_str(),
        e.path.as_str(),
        details,
    ))?;
    Ok(PyErr::from_value(value))
}

/// The Python exception for `failure`.
pub fn to_pyerr(py: Python<'_>, failure: Failure) -> PyErr {
    match failure {
        Failure::Py(e) => e,
        Failure::Core(e) => exception(py, &e).unwrap_or_else(|import_failed| import_failed),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_owned()
    }
}

/// The error a caught panic becomes.
pub fn panicked(payload: &(dyn std::any::Any + Send)) -> Error {
    Error::internal(format!(
        "billwise hit a defect and stopped safely ({}); please report it",
        panic_message(payload)
    ))
}

/// Runs `f`, turning a panic into an `InternalError` (never pyo3's `PanicException`).
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> Result<T, Failure>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(failure)) => Err(to_pyerr(py, failure)),
        Err(payload) => Err(to_pyerr(py, Failure::Core(panicked(payload.as_ref())))),
    }
}
