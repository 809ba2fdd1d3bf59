//! `billwise._billwise`: the native module of the `billwise` Python package.
//!
//! A thin boundary over `billwise_core::api`: each operation converts its Python input to request
//! JSON ([`input`]), lets the core parse and evaluate it with the GIL released, and converts the
//! typed response to Python objects ([`output`]); errors become the exceptions of
//! `billwise/_errors.py` ([`errors`]). No rule lives here.
//!
//! Adding an operation is one line in the `operations!` list below, plus its stub and `TypedDict`s
//! in `python/billwise/`.

mod audit;
mod engine;
mod errors;
mod input;
mod output;
mod store;

use std::panic::{AssertUnwindSafe, catch_unwind};

use billwise_core::api;
use billwise_core::json::{self, Limits};
use billwise_core::model::SCHEMA_VERSION;
use billwise_core::validate::Document;
use billwise_core::{Error, ErrorCode};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use serde::Serialize;
use serde::de::DeserializeOwned;

use errors::{Failure, guard, panicked};

/// The extension allocates with mimalloc, which keeps memory the extension freed for its next
/// call. With the system allocator (glibc's malloc), each large block a call allocates (the
/// parsed request, the preview's lists, the answer's text) came fresh from the kernel and went
/// back to it when freed, so each call of a long-lived process faulted it in again, 4 KB at a
/// time. Only the extension's Rust code allocates through it; Python's objects do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The limits every call reads its input with.
pub(crate) const LIMITS: Limits = Limits::DEFAULT;

/// Runs core work with the GIL released; a panic becomes an internal error.
pub(crate) fn off_gil<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<T, Error> {
    py.detach(move || {
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panicked(p.as_ref())))
    })
}

/// The request: the positional argument, or the keyword arguments as its fields (not both).
fn request<'py>(
    py: Python<'py>,
    request: Option<&Bound<'py, PyAny>>,
    fields: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let fields = fields.filter(|f| !f.is_empty());
    match (request, fields) {
        (Some(r), None) => Ok(r.clone()),
        (None, Some(f)) => Ok(f.clone().into_any()),
        (None, None) => Ok(PyDict::new(py).into_any()),
        (Some(_), Some(_)) => Err(PyTypeError::new_err(
            "pass the request either as one positional argument or as keyword arguments, not both",
        )),
    }
}

/// Calls a typed core operation on a Python request and returns the response as Python objects.
fn call<'py, Req, Resp>(
    py: Python<'py>,
    req: Option<&Bound<'py, PyAny>>,
    fields: Option<&Bound<'py, PyDict>>,
    op: fn(&Req, &Limits) -> Result<Resp, Error>,
) -> PyResult<Bound<'py, PyAny>>
where
    Req: DeserializeOwned,
    Resp: Serialize + Send,
{
    call_with(py, req, fields, json::from_slice, op, |py, response| {
        output::to_python(py, &response)
    })
}

/// [`call`], with the request read by `parse` and the response converted by `convert`.
fn call_with<'py, Req, Resp>(
    py: Python<'py>,
    req: Option<&Bound<'py, PyAny>>,
    fields: Option<&Bound<'py, PyDict>>,
    parse: fn(&[u8], &Limits) -> Result<Req, Error>,
    op: fn(&Req, &Limits) -> Result<Resp, Error>,
    convert: fn(Python<'py>, Resp) -> Result<Bound<'py, PyAny>, output::OutputError>,
) -> PyResult<Bound<'py, PyAny>>
where
    Req: DeserializeOwned,
    Resp: Send,
{
    let req = request(py, req, fields)?;
    guard(py, || {
        let bytes = input::request_bytes(&req, &LIMITS)?;
        let response = off_gil(py, move || {
            let parsed: Req = parse(&bytes, &LIMITS)?;
            op(&parsed, &LIMITS)
        })?;
        Ok(convert(py, response)?)
    })
}

/// Previews the invoice of one contract for a period: lines, held items, totals, summary.
///
/// The request is `{"contract", "period", "as_of", "time_entries"?, "expenses"?,
/// "milestones"?, "projects"?, "change_orders"?, "ledger"?, "options"?}`.
#[pyfunction]
#[pyo3(signature = (request = None, /, **fields))]
fn preview_invoice<'py>(
    py: Python<'py>,
    request: Option<&Bound<'py, PyAny>>,
    fields: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    call_with(
        py,
        request,
        fields,
        json::preview_request_from_slice,
        api::preview_invoice,
        output::preview_to_python,
    )
}

/// Declares one Python function per core operation: `name => core function, "docstring"`.
macro_rules! operations {
    ($( $name:ident => $func:path, $doc:literal; )+) => {
        $(
            #[doc = $doc]
            #[pyfunction]
            #[pyo3(signature = (request = None, /, **fields))]
            fn $name<'py>(
                py: Python<'py>,
                request: Option<&Bound<'py, PyAny>>,
                fields: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                call(py, request, fields, $func)
            }
        )+

        fn add_operations(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $( m.add_function(wrap_pyfunction!($name, m)?)?; )+
            Ok(())
        }
    };
}

operations! {
    validate => api::validate,
        "Validates one document and reports every problem found.\n\n\
         The request is `{\"document\": ..., \"kind\"?: ..., \"contract\"?: ...}` (or the same as\n\
         keyword arguments). Returns `{\"schema_version\", \"kind\", \"valid\", \"problems\"}`.";
    validate_batch => api::validate_batch,
        "Validates each document of a batch as `validate` validates one.\n\n\
         The request is `{\"documents\": [...], \"kind\"?: ..., \"contract\"?: ...}` (or the same as\n\
         keyword arguments). Returns `{\"schema_version\", \"valid\", \"reports\"}`, one report per\n\
         document with its `index`.";
    commit_invoice => api::commit_invoice,
        "Previews a billing run and records its lines in the ledger as invoice `invoice_id`.\n\n\
         The request is `{\"invoice_id\", \"run\"}`; returns `{\"preview\", \"ledger\"}`.";
    record_credit => api::record_credit,
        "Adds credit notes to a ledger after checking each gives back no more than was billed.\n\n\
         The request is `{\"ledger\", \"currency\", \"credits\"}`; returns the ledger after.";
    transition => api::transition,
        "Applies an event to an entity's state in one lifecycle machine, without side effects.\n\n\
         The request is `{\"machine\", \"state\", \"event\", \"source\", \"context\"?}`; a refusal is\n\
         a result with `allowed: False` and its `rejection`.";
    describe_machines => api::describe_machines,
        "Describes the lifecycle machines (all, or `machine`): states, events, guards, transitions.";
    resolve_rate => api::resolve_rate,
        "Resolves the rate in force for work of a role (and person, task) on a day, with the\n\
         contract's approved change orders; returns the rate, its source and an explanation.";
    apply_change_order => api::apply_change_order,
        "Applies the next approved change order to a contract: the new version, what changed and\n\
         adjustment lines for billed work a retroactive change re-prices.";
    check_update => api::check_update,
        "Decides, field by field, whether a system may write an update to an entity under the\n\
         ownership policy at the entity's lifecycle stage.";
    golden_record => api::golden_record,
        "Builds the golden record of an entity from the records of every system, each field from\n\
         the system that owns it, with the fields left unresolved.";
    reconcile => api::reconcile,
        "Compares the records systems hold for the same entities and reports every disagreement\n\
         with the owning system's value.";
    check_activation => api::check_activation,
        "Checks whether a won opportunity can become a project: every activation gate, with what\n\
         is missing.";
}

/// Declares the engine operations as Python functions whose results carry typed changes
/// ([`audit::EngineResult`]): `name => request type, "docstring"`.
macro_rules! engine_operations {
    ($( $name:ident => $req:ty, $doc:literal; )+) => {
        $(
            #[doc = $doc]
            #[pyfunction]
            #[pyo3(signature = (request = None, /, **fields))]
            fn $name<'py>(
                py: Python<'py>,
                request: Option<&Bound<'py, PyAny>>,
                fields: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                call_with(
                    py,
                    request,
                    fields,
                    json::from_slice,
                    audit::run_typed::<$req>,
                    audit::EngineResult::to_python,
                )
            }
        )+
    };
}

engine_operations! {
    engine_replay => api::EngineReplayRequest,
        "Replays an event log through a fresh engine and returns its state, exceptions and audit.";
    engine_apply => api::EngineApplyRequest,
        "Applies events to an engine restored from a snapshot (or a fresh one) and returns the\n\
         new state, exceptions and audit.";
}

/// Runs any operation by name on a request (JSON text or Python objects) and returns the
/// response as canonical JSON text.
#[pyfunction]
#[pyo3(signature = (op, request, /))]
fn run(py: Python<'_>, op: &Bound<'_, PyString>, request: &Bound<'_, PyAny>) -> PyResult<String> {
    let op = op.to_cow()?.into_owned();
    guard(py, || {
        let bytes = input::request_bytes(request, &LIMITS)?;
        Ok(off_gil(py, move || api::run(&op, &bytes, &LIMITS))?)
    })
}

/// Canonical JSON text of a value (a result, a document, a request): keys sorted, no whitespace,
/// `Decimal` as its exact decimal string, `date` as `YYYY-MM-DD`.
#[pyfunction]
#[pyo3(signature = (value, /))]
fn to_json(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<String> {
    guard(py, || {
        let bytes = input::to_json_bytes(value, &LIMITS)?;
        let parsed: serde_json::Value = json::from_slice(&bytes, &LIMITS)?;
        let mut out = String::with_capacity(bytes.len());
        json::write_canonical(&parsed, &mut out);
        Ok(out)
    })
}

/// Test hook: reads a document with the core's typed model and returns it as Python objects
/// together with the core's canonical JSON of the same typed value.
#[pyfunction]
#[pyo3(signature = (document, /))]
fn _read_document<'py>(
    py: Python<'py>,
    document: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    fn both<'py, T: Serialize>(
        py: Python<'py>,
        doc: &T,
    ) -> Result<(Bound<'py, PyAny>, String), Failure> {
        Ok((output::to_python(py, doc)?, json::to_canonical_string(doc)?))
    }
    let (value, text) = guard(py, || {
        let bytes = input::request_bytes(document, &LIMITS)?;
        let doc = off_gil(py, move || Document::parse(&bytes, None, &LIMITS))?;
        match &doc {
            Document::Account(d) => both(py, d),
            Document::Opportunity(d) => both(py, d),
            Document::Contract(d) => both(py, d),
            Document::ChangeOrder(d) => both(py, d),
            Document::Project(d) => both(py, d),
            Document::WorkLog(d) => both(py, d),
            Document::Invoice(d) => both(py, d),
            Document::Payment(d) => both(py, d),
            Document::OwnershipPolicy(d) => both(py, d),
        }
    })?;
    PyTuple::new(py, [value, PyString::new(py, &text).into_any()])
}

/// Test hook: panics inside the core call path, to prove the boundary turns panics into
/// `InternalError`.
#[pyfunction]
#[allow(clippy::panic)]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    guard(py, || {
        off_gil(py, || -> Result<(), Error> {
            panic!("deliberate panic for the boundary test")
        })?;
        Ok(())
    })
}

/// Test hook: panics while holding an engine's lock, to prove the engine then refuses every call
/// with `InternalError` instead of going on from a state a defect may have left halfway.
#[pyfunction]
#[pyo3(signature = (engine, /))]
fn _poison_engine_for_tests(py: Python<'_>, engine: &Bound<'_, engine::PyEngine>) -> PyResult<()> {
    engine.get().panic_for_tests(py)
}

/// Test hook: raises the exception a core error with `code` becomes.
#[pyfunction]
#[pyo3(signature = (code, /))]
fn _raise_for_tests(py: Python<'_>, code: &str) -> PyResult<()> {
    let code = ErrorCode::parse(code)
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err(format!("unknown code `{code}`")))?;
    let error = Error::new(code, "raised for a test").at("/x").with("k", 1);
    Err(errors::to_pyerr(py, Failure::Core(error)))
}

/// The error-code table: `(code, class, exception, description)` in declaration order.
fn error_table(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    let rows: Vec<(&str, &str, &str, &str)> = ErrorCode::ALL
        .iter()
        .map(|c| {
            (
                c.as_str(),
                c.class().as_str(),
                c.class().exception(),
                c.description(),
            )
        })
        .collect();
    PyTuple::new(py, rows)
}

#[pymodule]
fn _billwise(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    add_operations(m)?;
    m.add_function(wrap_pyfunction!(engine_replay, m)?)?;
    m.add_function(wrap_pyfunction!(engine_apply, m)?)?;
    m.add_function(wrap_pyfunction!(preview_invoice, m)?)?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<store::PyStore>()?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(to_json, m)?)?;
    m.add_function(wrap_pyfunction!(_read_document, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_raise_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_poison_engine_for_tests, m)?)?;
    m.add("__version__", billwise_core::VERSION)?;
    m.add("SCHEMA_VERSION", SCHEMA_VERSION)?;
    m.add("OPERATIONS", PyTuple::new(py, api::OPERATIONS)?)?;
    m.add("_ERROR_TABLE", error_table(py)?)?;
    Ok(())
}
