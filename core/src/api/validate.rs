//! `validate`: every problem in one canonical document.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, ErrorClass, ErrorCode, Problem, pointer_tokens, push_segment};
use crate::json::Limits;
use crate::model::{Contract, DocumentKind, SchemaVersion};
use crate::validate::Document;

/// What to validate.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The document's kind; when absent, the document's own `kind` field decides.
    #[serde(default)]
    pub kind: Option<DocumentKind>,
    /// The document.
    #[cfg_attr(feature = "schema", schemars(with = "serde_json::Value"))]
    pub document: Box<RawValue>,
    /// For a change order: the contract it amends, to check its targets.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<serde_json::Value>"))]
    pub contract: Option<Box<RawValue>>,
}

/// The validation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidateResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The kind the document was read as.
    pub kind: DocumentKind,
    /// Whether no problem was found.
    pub valid: bool,
    /// Every problem, in document order.
    pub problems: Vec<Problem>,
}

/// Whether a parse error describes the document (a problem) rather than unreadable input (an error).
fn is_document_problem(e: &Error) -> bool {
    e.class() == ErrorClass::Input
        && !matches!(
            e.code,
            ErrorCode::InputMalformedJson | ErrorCode::InputUnknownKind
        )
}

/// Validates one document and reports every problem found.
///
/// Input that cannot be read at all (malformed JSON, over a limit, unknown kind or schema version)
/// is an error; a document that reads but breaks a rule gives a report with `valid: false`.
pub fn validate(req: &ValidateRequest, limits: &Limits) -> Result<ValidateResponse, Error> {
    validate_document(
        req.document.get().as_bytes(),
        req.kind,
        req.contract.as_ref().map(|c| c.get().as_bytes()),
        limits,
    )
    .map_err(|(prefix, e)| e.under(prefix))
}

/// [`validate`] on raw JSON bytes: the document, its kind if known, and the contract a change
/// order amends. Errors carry the part they came from (`/document` or `/contract`).
pub fn validate_document(
    document: &[u8],
    kind: Option<DocumentKind>,
    contract: Option<&[u8]>,
    limits: &Limits,
) -> Result<ValidateResponse, (&'static str, Error)> {
    let kind = match kind {
        Some(k) => k,
        None => Document::detect_kind(document, limits).map_err(|e| ("/document", e))?,
    };
    let contract: Option<Contract> = match contract {
        Some(raw) => Some(crate::json::from_slice(raw, limits).map_err(|e| ("/contract", e))?),
        None => None,
    };
    let problems =
        read_on(document, kind, contract.as_ref(), limits).map_err(|e| ("/document", e))?;
    Ok(ValidateResponse {
        schema_version: SchemaVersion,
        kind,
        valid: problems.is_empty(),
        problems,
    })
}

/// How much re-reading the problems of one document may cost, in bytes read: each unreadable
/// value reads the rest of the document again, so a large document with many bad rows reports
/// the first few dozen and says reading stopped (a 1 MB export: 64).
const READ_ON_BUDGET: usize = 64 << 20;

/// At most this many unreadable values are reported for one document, however small.
const MAX_READ_PROBLEMS: usize = 1000;

/// The problems of a document, every unreadable value among them. Reading goes on past an
/// unreadable value: it becomes a problem at its path and its field is left out, so the rest of
/// its object is read too (an optional field left out reads as absent). A required field left out
/// is then missing, and the row that holds it (the innermost element of a list: a time entry, an
/// expense, a rate-card entry) is left out; so is a list element that is not an object. The rest
/// is then checked as any document is, its problems at the paths of the document as sent. A
/// required field outside any row that cannot be read (a contract's `start_date`) ends the
/// reading: the checks of a document need all of it.
fn read_on(
    document: &[u8],
    kind: DocumentKind,
    contract: Option<&Contract>,
    limits: &Limits,
) -> Result<Vec<Problem>, Error> {
    // The document as sent, then (once a value could not be read) as JSON with values left out.
    // One call each of `parse` and `validate`: the WebAssembly module holds each once.
    let mut text: Option<String> = None;
    let mut value = serde_json::Value::Null;
    let most = (READ_ON_BUDGET / document.len().max(1)).clamp(1, MAX_READ_PROBLEMS);
    let mut removed: Vec<(Vec<String>, usize)> = Vec::new();
    let mut problems = Vec::new();
    let mut stopped = None;
    // The fields left out, by their paths in the document as sent.
    let mut absent: Vec<String> = Vec::new();
    loop {
        let bytes = text.as_ref().map_or(document, |t| t.as_bytes());
        let error = match Document::parse(bytes, Some(kind), limits) {
            Ok(doc) => {
                // With rows left out, a check that adds the rows up (an invoice's total) would
                // report what leaving them out did: only the rows' own problems are reported.
                for p in doc.validate(contract) {
                    let path = pointer_tokens(&p.path);
                    if removed.is_empty() || path.iter().any(|t| t.parse::<usize>().is_ok()) {
                        let back = path_before(&path, &removed);
                        problems.push(p.with_path(back));
                    }
                }
                break;
            }
            Err(e) if is_document_problem(&e) => e,
            Err(e) => return Err(e),
        };
        if text.is_none() {
            value = crate::json::from_slice(document, limits)?;
        }
        let path = pointer_tokens(&error.path);
        let back = path_before(&path, &removed);
        if absent.contains(&back) {
            // A required field left out is missing (its problem is already reported): its row
            // is left out, or, outside any row, reading ends.
            if !leave_out_row(&mut value, &path, &mut removed) {
                break;
            }
        } else {
            // One more unreadable value than the reading may report: it stops.
            if problems.len() >= most {
                stopped = Some(Problem::new(
                    "",
                    ErrorCode::InputLimitExceeded,
                    format!(
                        "reading stopped after {most} unreadable values; correct them and validate again"
                    ),
                ));
                break;
            }
            problems.push(Problem::from(error).with_path(back.clone()));
            if leave_out(&mut value, &path) {
                absent.push(back);
            } else if !leave_out_row(&mut value, &path, &mut removed) {
                // Not a field (a list's element, a missing field): its row is left out, or
                // reading ends.
                break;
            }
        }
        text = Some(crate::json::to_canonical_string(&value)?);
    }
    problems.sort_by(|a, b| document_order(&a.path, &b.path));
    problems.extend(stopped);
    Ok(problems)
}

/// The pointer of `tokens`.
fn pointer(tokens: &[String]) -> String {
    let mut out = String::new();
    for t in tokens {
        push_segment(&mut out, t);
    }
    out
}

/// Leaves out the field at `path`; false when `path` is not a field of an object.
fn leave_out(value: &mut serde_json::Value, path: &[String]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    // Walked by hand (`Value::pointer_mut` unescapes with a substring search, which costs the
    // WebAssembly module more than it is worth here).
    let Some(serde_json::Value::Object(m)) = walk(value, parent) else {
        return false;
    };
    // The object rebuilt without the field rather than the field `remove`d: the map's removal
    // code would cost the WebAssembly module more than this whole reading.
    let mut had = false;
    for (k, v) in std::mem::take(m) {
        match &k == last {
            true => had = true,
            false => _ = m.insert(k, v),
        }
    }
    had
}

/// Leaves out the innermost list element that holds `path` (recorded in `removed`); false when
/// no list holds it.
fn leave_out_row(
    value: &mut serde_json::Value,
    path: &[String],
    removed: &mut Vec<(Vec<String>, usize)>,
) -> bool {
    use serde_json::Value;
    // The depth of the innermost element of an array on the path.
    let mut at = &*value;
    let mut row: Option<usize> = None;
    for (depth, t) in path.iter().enumerate() {
        let next = match at {
            Value::Array(xs) => {
                let Some(i) = t.parse::<usize>().ok().filter(|i| *i < xs.len()) else {
                    break;
                };
                row = Some(depth);
                xs.get(i)
            }
            Value::Object(m) => m.get(t),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => break,
        }
    }
    let Some((parent, Some(Ok(i)))) =
        row.and_then(|d| Some((path.get(..d)?, path.get(d).map(|t| t.parse::<usize>()))))
    else {
        return false;
    };
    match walk(value, parent) {
        Some(Value::Array(xs)) if i < xs.len() => {
            xs.remove(i);
            removed.push((parent.to_vec(), i));
            true
        }
        _ => false,
    }
}

/// The value at `tokens` under `value`.
fn walk<'v>(
    value: &'v mut serde_json::Value,
    tokens: &[String],
) -> Option<&'v mut serde_json::Value> {
    use serde_json::Value;
    tokens.iter().try_fold(value, |v, t| match v {
        Value::Array(xs) => t.parse::<usize>().ok().and_then(|i| xs.get_mut(i)),
        Value::Object(m) => m.get_mut(t),
        _ => None,
    })
}

/// A path in the document with elements left out, as a path in the document as sent.
fn path_before(path: &[String], removed: &[(Vec<String>, usize)]) -> String {
    let mut path = path.to_vec();
    for (list, at) in removed.iter().rev() {
        if path.len() > list.len()
            && path.starts_with(list)
            && let Some(t) = path.get_mut(list.len())
            && let Ok(i) = t.parse::<usize>()
            && i >= *at
        {
            *t = (i + 1).to_string();
        }
    }
    pointer(&path)
}

/// Paths in document order: token by token, list positions as numbers.
fn document_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (pointer_tokens(a), pointer_tokens(b));
    for (x, y) in a.iter().zip(&b) {
        let o = match (x.parse::<usize>(), y.parse::<usize>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            _ => x.cmp(y),
        };
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// What to validate in a batch: documents, each validated as [`validate`] validates one.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidateBatchRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The documents' kind; when absent, each document's own `kind` field decides.
    #[serde(default)]
    pub kind: Option<DocumentKind>,
    /// The documents, in order.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<serde_json::Value>"))]
    pub documents: Vec<Box<RawValue>>,
    /// For change orders: the contract they amend, to check their targets.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<serde_json::Value>"))]
    pub contract: Option<Box<RawValue>>,
}

/// The report of one document of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemReport {
    /// The document's position in the batch, from 0 (a JSON Lines file: its line number less 1,
    /// blank lines counted).
    pub index: usize,
    /// The kind the document was read as (absent when it could not be read at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DocumentKind>,
    /// Whether no problem was found.
    pub valid: bool,
    /// Every problem, in document order; paths are within the document.
    pub problems: Vec<Problem>,
}

/// The validation report of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidateBatchResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// Whether every document is valid.
    pub valid: bool,
    /// One report per document, in order.
    pub reports: Vec<ItemReport>,
}

/// Validates each document of a batch as [`validate`] does one. A document that cannot be read
/// at all (not JSON, an unknown kind or schema version, over a limit) is that document's report,
/// with the reason as its one problem, not an error of the batch; a contract that cannot be read
/// is an error (at `/contract`), since every change order of the batch needs it.
pub fn validate_batch(
    req: &ValidateBatchRequest,
    limits: &Limits,
) -> Result<ValidateBatchResponse, Error> {
    let documents: Vec<&[u8]> = req.documents.iter().map(|d| d.get().as_bytes()).collect();
    validate_each(
        &documents,
        req.kind,
        req.contract.as_ref().map(|c| c.get().as_bytes()),
        limits,
    )
}

/// [`validate_batch`] on raw JSON documents (a JSON Lines file's lines, say): the one home of a
/// batch's reports.
pub fn validate_each(
    documents: &[&[u8]],
    kind: Option<DocumentKind>,
    contract: Option<&[u8]>,
    limits: &Limits,
) -> Result<ValidateBatchResponse, Error> {
    let contract: Option<Contract> = match contract {
        Some(raw) => Some(crate::json::from_slice(raw, limits).map_err(|e| e.under("/contract"))?),
        None => None,
    };
    let mut reports = Vec::with_capacity(documents.len());
    for (index, document) in documents.iter().enumerate() {
        let read = match kind {
            Some(k) => Ok(k),
            None => Document::detect_kind(document, limits),
        };
        let report =
            match read.and_then(|k| Ok((k, read_on(document, k, contract.as_ref(), limits)?))) {
                Ok((k, problems)) => ItemReport {
                    index,
                    kind: Some(k),
                    valid: problems.is_empty(),
                    problems,
                },
                Err(e) => ItemReport {
                    index,
                    kind: None,
                    valid: false,
                    problems: vec![Problem::from(e)],
                },
            };
        reports.push(report);
    }
    Ok(ValidateBatchResponse {
        schema_version: SchemaVersion,
        valid: reports.iter().all(|r| r.valid),
        reports,
    })
}
