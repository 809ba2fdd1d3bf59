//! What an event changed, as Python objects of the right types.
//!
//! The core keeps each audited value as canonical JSON text (it is hashed into the chain), so a
//! decimal there is a string such as `"7.5"`. Everywhere else a Python caller gets `Decimal` and
//! `date`, because the value is converted through its Rust type. Here each value is read back
//! through the type of the document it belongs to: the document at the change's path in the
//! engine's state, with the changed value put in its place, is read as the engine's `World` (with
//! that one document), converted, and the value taken out again at the same path. A value the
//! types do not read (which the engine never writes) stays as the JSON it is.

use billwise_core::Error;
use billwise_core::api::{EngineApplyRequest, EngineReplayRequest, EngineResponse};
use billwise_core::engine::World;
use billwise_core::engine::audit::AuditChange;
use billwise_core::error::pointer_tokens;
use billwise_core::json::Limits;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use crate::output::{self, OutputError};

/// Replaces `before` and `after` in each change dict of `changes_py` (converted from `changes`,
/// in the same order) by their typed values.
pub fn type_changes(
    py: Python<'_>,
    world: &Value,
    changes: &[AuditChange],
    changes_py: &Bound<'_, PyAny>,
) -> Result<(), OutputError> {
    let list = changes_py.cast::<PyList>().map_err(PyErr::from)?;
    for (change, item) in changes.iter().zip(list.iter()) {
        let dict = item.cast::<PyDict>().map_err(PyErr::from)?;
        let tokens = pointer_tokens(&change.path);
        dict.set_item(
            "before",
            typed(py, world, &tokens, change.before.to_value())?,
        )?;
        dict.set_item("after", typed(py, world, &tokens, change.after.to_value())?)?;
    }
    Ok(())
}

/// The `changes` of an outcome dict (absent when nothing changed).
pub fn type_outcome(
    py: Python<'_>,
    world: &Value,
    changes: &[AuditChange],
    outcome_py: &Bound<'_, PyAny>,
) -> Result<(), OutputError> {
    if changes.is_empty() {
        return Ok(());
    }
    let changes_py = outcome_py.get_item("changes")?;
    type_changes(py, world, changes, &changes_py)
}

/// `value`, found at `tokens` in the engine's state (`world`: the documents the changes lead into,
/// [`World::documents_json`]), as a typed Python object.
fn typed<'py>(
    py: Python<'py>,
    world: &Value,
    tokens: &[String],
    value: Value,
) -> Result<Bound<'py, PyAny>, OutputError> {
    if !value.is_null()
        && let Some(sparse) = document_world(world, tokens, &value)
        && let Ok(typed) = serde_json::from_value::<World>(sparse)
    {
        let mut at = output::to_python(py, &typed)?;
        for t in tokens {
            at = if let Ok(list) = at.cast::<PyList>() {
                let i = match t.as_str() {
                    "-" => list.len().checked_sub(1),
                    t => t.parse::<usize>().ok(),
                };
                match i.and_then(|i| list.get_item(i).ok()) {
                    Some(v) => v,
                    None => return untyped(py, &value),
                }
            } else {
                match at.get_item(t) {
                    Ok(v) => v,
                    Err(_) => return untyped(py, &value),
                }
            };
        }
        return Ok(at);
    }
    untyped(py, &value)
}

fn untyped<'py>(py: Python<'py>, value: &Value) -> Result<Bound<'py, PyAny>, OutputError> {
    output::to_python(py, value)
}

/// A world holding only the document `tokens` points into, with `value` at `tokens`:
/// `{"time_entries": {"TE-7": {..., "hours": value}}}`. `None` when the path does not lead into
/// a document of the state.
fn document_world(world: &Value, tokens: &[String], value: &Value) -> Option<Value> {
    let depth = World::document_depth(tokens.first()?)?;
    let (doc_path, inside) = (tokens.get(..depth)?, tokens.get(depth..)?);
    let doc = if inside.is_empty() {
        value.clone()
    } else {
        let mut doc = doc_path
            .iter()
            .try_fold(world, |v, t| v.get(t.as_str()))?
            .clone();
        put(&mut doc, inside, value.clone())?;
        doc
    };
    Some(doc_path.iter().rev().fold(doc, |inner, t| {
        Value::Object([(t.clone(), inner)].into_iter().collect())
    }))
}

/// Puts `value` at `tokens` under `at` (`-` appends to a list).
fn put(at: &mut Value, tokens: &[String], value: Value) -> Option<()> {
    let (last, parents) = tokens.split_last()?;
    let parent = parents.iter().try_fold(at, |v, t| match v {
        Value::Array(xs) => xs.get_mut(t.parse::<usize>().ok()?),
        Value::Object(m) => m.get_mut(t),
        _ => None,
    })?;
    match parent {
        Value::Array(xs) if last == "-" => xs.push(value),
        Value::Array(xs) => *xs.get_mut(last.parse::<usize>().ok()?)? = value,
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        _ => return None,
    }
    Some(())
}

/// An `engine_replay` or `engine_apply` request.
pub trait EngineRequest: Sized {
    /// Whether the caller asked for the state, and the request asking for it.
    fn with_state(&self) -> (bool, Self);
    /// The operation.
    fn run(&self, limits: &Limits) -> Result<EngineResponse, Error>;
}

macro_rules! engine_requests {
    ($( $req:ty => $op:path ),+) => {$(
        impl EngineRequest for $req {
            fn with_state(&self) -> (bool, Self) {
                let forced = Self {
                    return_state: true,
                    ..self.clone()
                };
                (self.return_state, forced)
            }
            fn run(&self, limits: &Limits) -> Result<EngineResponse, Error> {
                $op(self, limits)
            }
        }
    )+};
}

engine_requests!(
    EngineReplayRequest => billwise_core::api::engine_replay,
    EngineApplyRequest => billwise_core::api::engine_apply
);

/// `req` run with the state returned (the context its changes are typed in), the state left out
/// again unless the caller asked for it.
pub fn run_typed<R: EngineRequest>(req: &R, limits: &Limits) -> Result<EngineResult, Error> {
    let (asked, forced) = req.with_state();
    EngineResult::new(asked, forced.run(limits)?)
}

/// An `engine_replay` or `engine_apply` response, with the state its changes are typed in.
pub struct EngineResult {
    response: EngineResponse,
    world: Value,
}

impl EngineResult {
    /// `response`, of a request run with `return_state` (the context the changes are typed in);
    /// the state is left out again unless the caller asked for it.
    pub fn new(asked_for_state: bool, mut response: EngineResponse) -> Result<EngineResult, Error> {
        let outcomes = response.outcomes.iter().flat_map(|o| &o.changes);
        let audit = response.snapshot.iter().flat_map(|s| &s.audit);
        let paths = outcomes
            .chain(audit.flat_map(|e| &e.changes))
            .map(|c| c.path.as_str());
        let world = match &response.state {
            Some(state) => state.documents_json(paths)?,
            None => Value::Null,
        };
        if !asked_for_state {
            response.state = None;
        }
        Ok(EngineResult { response, world })
    }

    /// The response as Python objects, the changes of its outcomes and of its snapshot's audit
    /// typed.
    pub fn to_python(py: Python<'_>, r: EngineResult) -> Result<Bound<'_, PyAny>, OutputError> {
        let out = output::to_python(py, &r.response)?;
        let outcomes = out.get_item("outcomes")?;
        for (o, py_o) in r.response.outcomes.iter().zip(outcomes.try_iter()?) {
            type_outcome(py, &r.world, &o.changes, &py_o?)?;
        }
        if let Some(snapshot) = &r.response.snapshot {
            let audit = out.get_item("snapshot")?.get_item("audit")?;
            for (entry, py_entry) in snapshot.audit.iter().zip(audit.try_iter()?) {
                type_changes(
                    py,
                    &r.world,
                    &entry.changes,
                    &py_entry?.get_item("changes")?,
                )?;
            }
        }
        Ok(out)
    }
}
