//! `billwise.Engine`: a Python object holding one `billwise_core::engine::Engine`.
//!
//! Every method converts its arguments to JSON ([`crate::input`]), lets the core read them and do
//! the work with the GIL released, and converts the result with [`crate::output`]: the results are
//! the shapes `engine_apply` returns (an `apply` result is one of its `outcomes`, `exceptions()`
//! its `exceptions`, and so on). The engine sits behind a mutex, so threads may share one object;
//! a thread waiting for the lock waits without the GIL.
//!
//! Pickling goes through the canonical snapshot: `__reduce__` gives `(Engine.restore, (bytes,))`,
//! and `restore` reads the snapshot as the core does (its `schema_version` must be this build's).

use std::sync::{Mutex, MutexGuard};

use billwise_core::Error;
use billwise_core::api::{ApplyBatchResponse, PreviewQuery};
use billwise_core::engine::audit::AuditChange;
use billwise_core::engine::{Engine, Envelope};
use billwise_core::json;
use billwise_core::model::{Date, OwnershipPolicy};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple, PyType};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::errors::guard;
use crate::{LIMITS, audit, input, off_gil, output};

/// The one argument of `metrics`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AsOf {
    as_of: Date,
}

/// One contract's event engine (see `spec/domain/engine.md`).
#[pyclass(module = "billwise._billwise", name = "Engine", frozen)]
pub struct PyEngine {
    inner: Mutex<Engine>,
}

/// The engine behind the lock; a lock poisoned by a defect is an internal error, since the
/// engine may have been left halfway through a change.
fn lock(m: &Mutex<Engine>) -> Result<MutexGuard<'_, Engine>, Error> {
    m.lock().map_err(|_| {
        Error::internal(
            "an earlier call on this engine hit a defect, so its state cannot be trusted; \
             restore it from a snapshot",
        )
    })
}

/// Reads an argument (Python objects or JSON text) as `T`, with the GIL released and before the
/// engine is locked. With `name`, error paths start with `/name` (as the core names batch
/// positions: `/envelopes/3/...`).
pub(crate) fn read<T: DeserializeOwned + Send + 'static>(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    name: Option<&str>,
) -> PyResult<T> {
    guard(py, || {
        let bytes = input::request_bytes(value, &LIMITS)?;
        Ok(off_gil(py, move || {
            json::from_slice(&bytes, &LIMITS).map_err(|e| match name {
                Some(name) => e.under(&format!("/{name}")),
                None => e,
            })
        })?)
    })
}

/// The documents of the engine's state that `changes` lead into, as JSON: the context in which
/// [`audit`] types what an event changed (not the whole state, which every `apply` would write).
fn documents<'c>(
    e: &Engine,
    changes: impl IntoIterator<Item = &'c AuditChange>,
) -> Result<serde_json::Value, Error> {
    e.state()
        .documents_json(changes.into_iter().map(|c| c.path.as_str()))
}

/// Issues a `DeprecationWarning` pointing at the caller.
fn deprecated(py: Python<'_>, message: &str) -> PyResult<()> {
    let category = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
    PyErr::warn(py, &category, &std::ffi::CString::new(message)?, 1)
}

impl PyEngine {
    /// A Python engine holding `engine` (the store's `engine(contract_id)`).
    pub(crate) fn from_engine(engine: Engine) -> PyEngine {
        PyEngine {
            inner: Mutex::new(engine),
        }
    }

    /// Runs `f` on the engine with the GIL released.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Engine) -> Result<T, Error> + Send,
    ) -> Result<T, Error> {
        off_gil(py, || f(&mut *lock(&self.inner)?))
    }

    /// Runs `f` on the engine and converts its result to Python objects.
    fn query<'py, T: serde::Serialize + Send>(
        &self,
        py: Python<'py>,
        f: impl FnOnce(&mut Engine) -> Result<T, Error> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let value = self.run(py, f)?;
            Ok(output::to_python(py, &value)?)
        })
    }

    /// Panics inside the core call path while holding the lock (see `_poison_engine_for_tests`).
    #[allow(clippy::panic)]
    pub(crate) fn panic_for_tests(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            Ok(self.run(py, |_| -> Result<(), Error> {
                panic!("deliberate panic while holding the engine")
            })?)
        })
    }
}

#[pymethods]
impl PyEngine {
    /// An empty engine at version 0, enforcing `ownership_policy` when given.
    #[new]
    #[pyo3(signature = (ownership_policy = None))]
    fn new(py: Python<'_>, ownership_policy: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let engine = match ownership_policy.filter(|p| !p.is_none()) {
            None => Engine::new(),
            Some(p) => {
                let policy: OwnershipPolicy = read(py, p, None)?;
                guard(py, || {
                    Ok(off_gil(py, move || Engine::with_ownership_policy(policy))?)
                })?
            }
        };
        Ok(Self {
            inner: Mutex::new(engine),
        })
    }

    /// The engine a snapshot describes: `snapshot()` bytes, JSON text, or the snapshot as Python
    /// objects (the `snapshot` of an `engine_apply` result).
    #[classmethod]
    #[pyo3(signature = (snapshot, /))]
    fn restore(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        snapshot: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let engine = guard(py, || {
            let bytes = input::request_bytes(snapshot, &LIMITS)?;
            Ok(off_gil(py, move || {
                let mut engine = Engine::new();
                engine.restore(&bytes, &LIMITS)?;
                Ok(engine)
            })?)
        })?;
        Ok(Self {
            inner: Mutex::new(engine),
        })
    }

    /// The number of events applied so far.
    #[getter]
    fn version(&self, py: Python<'_>) -> PyResult<u64> {
        guard(py, || Ok(self.run(py, |e| Ok(e.version()))?))
    }

    /// The ownership policy the engine enforces, or `None`.
    #[getter]
    fn ownership_policy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, |e| Ok(e.ownership_policy().cloned()))
    }

    /// Applies one envelope and returns its outcome (`applied`, `duplicate` or `rejected`).
    #[pyo3(signature = (envelope, /))]
    fn apply<'py>(
        &self,
        py: Python<'py>,
        envelope: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let envelope: Envelope = read(py, envelope, None)?;
        guard(py, || {
            let (outcome, world) = self.run(py, move |e| {
                let outcome = e.apply(&envelope)?;
                let world = documents(e, &outcome.changes)?;
                Ok((outcome, world))
            })?;
            let py_outcome = output::to_python(py, &outcome)?;
            audit::type_outcome(py, &world, &outcome.changes, &py_outcome)?;
            Ok(py_outcome)
        })
    }

    /// Applies envelopes in order (all or none with `atomic`) and returns
    /// `{"outcomes": [...], "version": n}`, one outcome per envelope: the shape every runtime
    /// returns (Node: `applyBatch`). Read as a list (iterated, indexed by position, `len`), the
    /// shape of earlier releases, it still gives the outcomes for one release, with a
    /// `DeprecationWarning` (see `billwise._compat.ApplyBatchResult`).
    #[pyo3(signature = (envelopes, /, *, atomic = false))]
    fn apply_batch<'py>(
        &self,
        py: Python<'py>,
        envelopes: &Bound<'py, PyAny>,
        atomic: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let envelopes: Vec<Envelope> = read(py, envelopes, Some("envelopes"))?;
        let result = guard(py, || {
            let (response, world) = self.run(py, move |e| {
                let outcomes = e.apply_batch(&envelopes, atomic)?;
                let response = ApplyBatchResponse {
                    outcomes,
                    version: e.version(),
                };
                let world = documents(e, response.outcomes.iter().flat_map(|o| &o.changes))?;
                Ok((response, world))
            })?;
            let py_response = output::to_python(py, &response)?;
            let py_outcomes = py_response.get_item("outcomes")?;
            for (outcome, py_outcome) in response.outcomes.iter().zip(py_outcomes.try_iter()?) {
                audit::type_outcome(py, &world, &outcome.changes, &py_outcome?)?;
            }
            Ok(py_response)
        })?;
        py.import("billwise._compat")?
            .getattr("ApplyBatchResult")?
            .call1((result,))
    }

    /// The whole engine as canonical JSON bytes.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let text = guard(py, || Ok(self.run(py, |e| e.snapshot())?))?;
        Ok(PyBytes::new(py, text.as_bytes()))
    }

    /// What a billing run would bill now (nothing is recorded). The query is
    /// `{"period": ..., "as_of": ...}` (or the same as keyword arguments): the shape every runtime
    /// takes (Node: `previewInvoice({period, as_of})`). `preview_invoice(period, as_of)`, the form
    /// of earlier releases, still works for one release, with a `DeprecationWarning`.
    #[pyo3(signature = (query = None, legacy_as_of = None, /, **fields))]
    fn preview_invoice<'py>(
        &self,
        py: Python<'py>,
        query: Option<&Bound<'py, PyAny>>,
        legacy_as_of: Option<&Bound<'py, PyAny>>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q: PreviewQuery = match (query, legacy_as_of) {
            (Some(period), Some(as_of)) => {
                deprecated(
                    py,
                    "Engine.preview_invoice(period, as_of) is deprecated; pass \
                     {\"period\": ..., \"as_of\": ...} (or period=..., as_of=...)",
                )?;
                let args = PyDict::new(py);
                args.set_item("period", period)?;
                args.set_item("as_of", as_of)?;
                read(py, args.as_any(), None)?
            }
            _ => read(py, &crate::request(py, query, fields)?, None)?,
        };
        guard(py, || {
            let preview = self.run(py, move |e| e.preview_invoice(q.period, q.as_of))?;
            Ok(output::preview_to_python(py, preview)?)
        })
    }

    /// The exception queue, oldest first.
    fn exceptions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, |e| Ok(e.exceptions().to_vec()))
    }

    /// Figures a finance team watches: the query is `{"as_of": ...}` (or `as_of=...`), as in every
    /// runtime. `metrics(as_of)` with a date, the form of earlier releases, still works for one
    /// release, with a `DeprecationWarning`.
    #[pyo3(signature = (query = None, /, **fields))]
    fn metrics<'py>(
        &self,
        py: Python<'py>,
        query: Option<&Bound<'py, PyAny>>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a: AsOf = match query {
            // A date, or a date written as text (not a JSON query `{...}`): the earlier form.
            Some(q)
                if fields.is_none()
                    && (q.is_instance_of::<pyo3::types::PyDate>()
                        || q.extract::<String>()
                            .is_ok_and(|t| !t.trim_start().starts_with('{'))) =>
            {
                deprecated(
                    py,
                    "Engine.metrics(as_of) is deprecated; pass {\"as_of\": ...} (or as_of=...)",
                )?;
                let args = PyDict::new(py);
                args.set_item("as_of", q)?;
                read(py, args.as_any(), None)?
            }
            _ => read(py, &crate::request(py, query, fields)?, None)?,
        };
        self.query(py, move |e| e.metrics(a.as_of))
    }

    /// Checks the audit chain from its first entry to the engine's head.
    fn verify_audit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, |e| e.verify_audit())
    }

    /// The audit chain, oldest first. Each change's `before` and `after` are typed as the state's
    /// values are (`Decimal`, `date`), though the chain holds them as JSON text.
    fn audit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let (entries, world) = self.run(py, |e| {
                let world = documents(e, e.audit().iter().flat_map(|a| &a.changes))?;
                Ok((e.audit().to_vec(), world))
            })?;
            let py_entries = output::to_python(py, &entries)?;
            for (entry, py_entry) in entries.iter().zip(py_entries.try_iter()?) {
                audit::type_changes(py, &world, &entry.changes, &py_entry?.get_item("changes")?)?;
            }
            Ok(py_entries)
        })
    }

    /// The contract's world as the engine holds it.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, |e| Ok(e.state().clone()))
    }

    /// Pickles as `Engine.restore(snapshot bytes)`.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let restore = slf.get_type().getattr("restore")?;
        let data = slf.get().snapshot(py)?;
        PyTuple::new(
            py,
            [restore, PyTuple::new(py, [data.into_any()])?.into_any()],
        )
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("<billwise.Engine version={}>", self.version(py)?))
    }
}
