//! `billwise.Store`: the durable store (`billwise_store::Store`) from Python.
//!
//! `Store("sqlite:///billing.db")` or `Store("postgresql://user@host:5432/db")` opens (and
//! migrates) the database; each method runs with the GIL released, behind a mutex, so threads may
//! share one object (each waits for the other's call). Results are the store's JSON shapes as
//! Python objects, with the amounts and dates of what an apply changed typed as
//! `billwise.Engine.apply_batch` types them. `close()` (or leaving a `with` block) closes the
//! connection; a closed store raises `StoreError`.

use std::sync::{Mutex, MutexGuard};

use billwise_core::engine::{Engine, Envelope};
use billwise_core::model::OwnershipPolicy;
use billwise_core::{Error, ErrorCode};
use billwise_store::{Applied, ApplyOptions, ExceptionFilter, ExceptionStatus, Store};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::engine::{PyEngine, read};
use crate::errors::guard;
use crate::{audit, off_gil, output};

#[pyclass(module = "billwise._billwise", name = "Store", frozen)]
pub struct PyStore {
    inner: Mutex<Option<Store>>,
}

fn closed() -> Error {
    Error::new(ErrorCode::StoreUnavailable, "the store is closed")
}

fn lock(m: &Mutex<Option<Store>>) -> Result<MutexGuard<'_, Option<Store>>, Error> {
    m.lock().map_err(|_| {
        Error::internal("an earlier call on this store hit a defect; open the store again")
    })
}

impl PyStore {
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Store) -> Result<T, Error> + Send,
    ) -> Result<T, Error> {
        off_gil(py, || {
            let mut guard = lock(&self.inner)?;
            f(guard.as_mut().ok_or_else(closed)?)
        })
    }

    fn query<'py, T: serde::Serialize + Send>(
        &self,
        py: Python<'py>,
        f: impl FnOnce(&mut Store) -> Result<T, Error> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let value = self.run(py, f)?;
            Ok(output::to_python(py, &value)?)
        })
    }

    /// Runs an apply-like call and returns its result with typed changes.
    fn applied<'py>(
        &self,
        py: Python<'py>,
        f: impl FnOnce(&mut Store) -> Result<Vec<Applied>, Error> + Send,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        guard(py, || {
            let results = self.run(py, |s| {
                let results = f(s)?;
                let mut out = Vec::with_capacity(results.len());
                for r in results {
                    let world = match s.cached_engine(&r.contract_id) {
                        Some(e) => e.state().documents_json(
                            r.outcomes
                                .iter()
                                .flat_map(|o| &o.changes)
                                .map(|c| c.path.as_str()),
                        )?,
                        None => serde_json::Value::Null,
                    };
                    out.push((r, world));
                }
                Ok(out)
            })?;
            let mut out = Vec::with_capacity(results.len());
            for (r, world) in results {
                let py_r = output::to_python(py, &r)?;
                if !world.is_null() {
                    let py_outcomes = py_r.get_item("outcomes")?;
                    for (o, py_o) in r.outcomes.iter().zip(py_outcomes.try_iter()?) {
                        audit::type_outcome(py, &world, &o.changes, &py_o?)?;
                    }
                }
                out.push(py_r);
            }
            Ok(out)
        })
    }
}

#[pymethods]
impl PyStore {
    /// Opens the store at `url` (`sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite://`
    /// in memory, `postgresql://user@host:port/db`), creating or migrating its tables.
    #[new]
    #[pyo3(signature = (url, /, *, snapshot_every = 10_000))]
    fn new(py: Python<'_>, url: String, snapshot_every: u64) -> PyResult<Self> {
        // The default is written as a literal so Python's signature shows it; it is the store's.
        const _: () = assert!(billwise_store::DEFAULT_SNAPSHOT_EVERY == 10_000);
        let store = guard(py, || {
            Ok(off_gil(py, move || {
                Ok(Store::open(&url)?.snapshot_every(snapshot_every))
            })?)
        })?;
        Ok(Self {
            inner: Mutex::new(Some(store)),
        })
    }

    /// Applies envelopes to the contract's engine in one transaction (created on the first
    /// apply, enforcing `ownership_policy` when given). Returns `{"contract_id", "version",
    /// "outcomes"}`.
    #[pyo3(signature = (contract_id, envelopes, /, *, atomic = false, ownership_policy = None))]
    fn apply<'py>(
        &self,
        py: Python<'py>,
        contract_id: String,
        envelopes: &Bound<'py, PyAny>,
        atomic: bool,
        ownership_policy: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let envelopes: Vec<Envelope> = read(py, envelopes, Some("envelopes"))?;
        let policy: Option<OwnershipPolicy> = match ownership_policy.filter(|p| !p.is_none()) {
            Some(p) => Some(read(py, p, Some("ownership_policy"))?),
            None => None,
        };
        let options = ApplyOptions {
            atomic,
            ownership_policy: policy,
        };
        let mut out = self.applied(py, move |s| {
            Ok(vec![s.apply(&contract_id, &envelopes, &options)?])
        })?;
        out.pop()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no result"))
    }

    /// The exceptions not resolved (or those of `status`), oldest first.
    #[pyo3(signature = (*, contract_id = None, status = None, code = None, source = None, seen_before = None))]
    fn exceptions<'py>(
        &self,
        py: Python<'py>,
        contract_id: Option<String>,
        status: Option<String>,
        code: Option<String>,
        source: Option<String>,
        seen_before: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, move |s| {
            let filter = ExceptionFilter {
                contract_id,
                status: status.as_deref().map(ExceptionStatus::parse).transpose()?,
                code,
                source,
                seen_before,
            };
            s.exceptions(&filter)
        })
    }

    /// Applies exception `sequence`'s envelope again; returns what `apply` returns.
    #[pyo3(signature = (contract_id, sequence, /))]
    fn retry<'py>(
        &self,
        py: Python<'py>,
        contract_id: String,
        sequence: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut out = self.applied(py, move |s| Ok(vec![s.retry(&contract_id, sequence)?]))?;
        out.pop()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no result"))
    }

    /// Retries every exception not resolved (of one contract when given), oldest first.
    #[pyo3(signature = (*, contract_id = None))]
    fn retry_all<'py>(
        &self,
        py: Python<'py>,
        contract_id: Option<String>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.applied(py, move |s| {
            s.retry_all(&ExceptionFilter {
                contract_id,
                ..ExceptionFilter::default()
            })
        })
    }

    /// Marks exception `sequence` resolved by `actor`, with `note` (recorded in the contract's
    /// hash-chained action log).
    #[pyo3(signature = (contract_id, sequence, /, *, note, actor))]
    fn resolve<'py>(
        &self,
        py: Python<'py>,
        contract_id: String,
        sequence: u64,
        note: String,
        actor: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, move |s| {
            s.resolve(&contract_id, sequence, &note, &actor)
        })
    }

    /// Every envelope received with `correlation_id` across contracts, and where it is stuck.
    #[pyo3(signature = (correlation_id, /))]
    fn trace<'py>(&self, py: Python<'py>, correlation_id: String) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, move |s| s.trace(&correlation_id))
    }

    /// Rebuilds the contract from its log and compares it with the stored state.
    #[pyo3(signature = (contract_id, /))]
    fn replay<'py>(&self, py: Python<'py>, contract_id: String) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, move |s| s.replay(&contract_id))
    }

    /// Checks one contract's records (or, without `contract_id`, every contract's: a list).
    #[pyo3(signature = (contract_id = None, /))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        contract_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match contract_id {
            Some(c) => self.query(py, move |s| s.verify(&c)),
            None => self.query(py, |s| s.verify_all()),
        }
    }

    /// The ids of the contracts the store holds, sorted.
    fn contracts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.query(py, |s| s.contracts())
    }

    /// The contract's engine snapshot (canonical JSON bytes, as `Engine.snapshot()` gives).
    #[pyo3(signature = (contract_id, /))]
    fn snapshot<'py>(&self, py: Python<'py>, contract_id: String) -> PyResult<Bound<'py, PyBytes>> {
        let text = guard(py, || Ok(self.run(py, move |s| s.snapshot(&contract_id))?))?;
        Ok(PyBytes::new(py, text.as_bytes()))
    }

    /// A copy of the contract's engine as the store holds it (a `billwise.Engine`: preview,
    /// metrics; what is applied to the copy is not stored).
    #[pyo3(signature = (contract_id, /))]
    fn engine(&self, py: Python<'_>, contract_id: String) -> PyResult<PyEngine> {
        let engine: Engine = guard(py, || Ok(self.run(py, move |s| s.engine(&contract_id))?))?;
        Ok(PyEngine::from_engine(engine))
    }

    /// Closes the database connection; later calls raise `StoreError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            Ok(off_gil(py, || {
                lock(&self.inner)?.take();
                Ok(())
            })?)
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}
