//! `check-update`, `reconcile` and `activate`: ownership, reconciliation and the activation gate.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Write};

use billwise_core::Error;
use billwise_core::api::{
    self, ActivationStatus, CheckActivationRequest, CheckUpdateRequest, ReconcileResponse,
    UpdateMode, UpdateOutcome,
};
use billwise_core::json::{self, Limits, to_canonical_string};
use billwise_core::model::{Account, Opportunity, OwnershipPolicy, SchemaVersion, System};
use billwise_core::ownership::{self, CompiledPolicy};
use billwise_core::reconcile::{self, Action, CrossRef, SystemSource};
use serde_json::{Map, Value};

use super::{INVALID, OK, UNREADABLE, read_input};

fn io(e: std::io::Error) -> String {
    e.to_string()
}

/// Prints an error as `{"error": ...}` (JSON) or `what: path: CODE: message`.
fn report_error(out: &mut impl Write, what: &str, e: &Error, as_json: bool) -> Result<u8, String> {
    if as_json {
        let s = to_canonical_string(&serde_json::json!({ "error": e })).map_err(|e| e.message)?;
        writeln!(out, "{s}").map_err(io)?;
    } else {
        super::print_error(out, what, e).map_err(io)?;
    }
    Ok(UNREADABLE)
}

fn read_policy(path: &str) -> Result<OwnershipPolicy, Error> {
    let bytes =
        read_input(path).map_err(|m| Error::new(billwise_core::ErrorCode::InputInvalidValue, m))?;
    json::from_slice(&bytes, &Limits::DEFAULT)
}

fn canonical(v: &Value) -> String {
    to_canonical_string(v).unwrap_or_default()
}

pub(crate) fn check_update(
    changes: &str,
    policy: &str,
    entity: &str,
    stage: Option<&str>,
    source: &str,
    strict: bool,
    out: &mut impl Write,
) -> Result<u8, String> {
    let limits = Limits::DEFAULT;
    let request = (|| -> Result<CheckUpdateRequest, Error> {
        let bytes = read_input(changes)
            .map_err(|m| Error::new(billwise_core::ErrorCode::InputInvalidValue, m))?;
        Ok(CheckUpdateRequest {
            schema_version: SchemaVersion,
            policy: read_policy(policy)?,
            entity: entity.to_owned(),
            stage: stage.map(str::to_owned),
            source: System::new(source)?,
            changes: json::from_slice::<Map<String, Value>>(&bytes, &limits)?,
            mode: if strict {
                UpdateMode::Strict
            } else {
                UpdateMode::Lenient
            },
        })
    })();
    let response = request.and_then(|r| api::check_update(&r, &limits));
    match response {
        Ok(r) => {
            let s = to_canonical_string(&r).map_err(|e| e.message)?;
            writeln!(out, "{s}").map_err(io)?;
            Ok(if r.outcome == UpdateOutcome::Accepted {
                OK
            } else {
                INVALID
            })
        }
        Err(e) => report_error(out, "check-update", &e, true),
    }
}

/// `SYSTEM=PATH`, or a path named after its system.
fn system_and_path(spec: &str) -> Result<(System, String), String> {
    let (name, path) = match spec.split_once('=') {
        Some((name, path)) => (name.to_owned(), path.to_owned()),
        None => {
            let stem = std::path::Path::new(spec)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let name = stem.split('.').next().unwrap_or_default().to_owned();
            (name, spec.to_owned())
        }
    };
    let system = System::new(name.as_str())
        .map_err(|e| format!("`{spec}`: {} (name the system with SYSTEM=PATH)", e.message))?;
    Ok((system, path))
}

/// Reads JSON Lines into objects, one per non-blank line, with each object's line number.
fn read_jsonl<T: serde::de::DeserializeOwned + 'static>(
    path: &str,
) -> Result<Vec<(T, usize)>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut out = Vec::new();
    let mut n = 0usize;
    let limits = Limits::DEFAULT;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read `{path}`: {e}"))?;
        if read == 0 {
            break;
        }
        n += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v: T = json::from_slice(&line, &limits).map_err(|e| {
            let at = if e.path.is_empty() {
                "/"
            } else {
                e.path.as_str()
            };
            format!("{path}:{n}: {at}: {}: {}", e.code, e.message)
        })?;
        out.push((v, n));
    }
    Ok(out)
}

/// One system's JSON Lines file, held as text: each record is parsed when reconciliation visits
/// it, and again only if its entity needs a field-by-field comparison, so memory is the file's
/// size plus a few words per line rather than the parsed records.
struct LinesFile {
    system: System,
    path: String,
    text: Vec<u8>,
    /// Per record (blank lines skipped): its byte range in `text` and its line number.
    lines: Vec<(usize, usize, usize)>,
}

impl LinesFile {
    fn read(system: System, path: String) -> Result<Self, String> {
        let text = std::fs::read(&path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
        let mut lines = Vec::new();
        let mut start = 0usize;
        for (n, line) in text.split(|b| *b == b'\n').enumerate() {
            let end = start + line.len();
            if !line.iter().all(u8::is_ascii_whitespace) {
                lines.push((start, end, n + 1));
            }
            start = end + 1;
        }
        Ok(Self {
            system,
            path,
            text,
            lines,
        })
    }

    fn parse(&self, index: usize) -> Result<Map<String, Value>, Error> {
        let (start, end, _) = self
            .lines
            .get(index)
            .copied()
            .ok_or_else(|| Error::internal("line index out of range"))?;
        let line = self.text.get(start..end).unwrap_or_default();
        let located = |mut e: Error| {
            e.path = format!("/records/{}/{index}{}", self.system, e.path);
            e
        };
        json::from_slice(line, &Limits::DEFAULT).map_err(located)
    }
}

impl reconcile::RecordSource for LinesFile {
    fn visit(&self, f: &mut reconcile::Visitor<'_>) -> Result<(), Error> {
        for i in 0..self.lines.len() {
            f(i, &self.parse(i)?)?;
        }
        Ok(())
    }

    fn record(&self, index: usize) -> Result<Cow<'_, Map<String, Value>>, Error> {
        self.parse(index).map(Cow::Owned)
    }
}

pub(crate) fn reconcile(
    files: &[String],
    policy: &str,
    kind: &str,
    stage: Option<&str>,
    cross_refs: Option<&str>,
    as_json: bool,
    out: &mut impl Write,
) -> Result<u8, String> {
    let policy_doc = match read_policy(policy) {
        Ok(p) => p,
        Err(e) => return report_error(out, policy, &e, as_json),
    };
    let compiled = match CompiledPolicy::compile(&policy_doc) {
        Ok(c) => c,
        Err(problems) => {
            return report_error(
                out,
                policy,
                &ownership::policy_error(&problems, ""),
                as_json,
            );
        }
    };
    let setup = (|| -> Result<(usize, Option<usize>), Error> {
        let k = ownership::entity_arg(kind, "/entity")?;
        Ok((k, ownership::stage_arg(k, stage, "/stage")?))
    })();
    let (kind_index, stage_index) = match setup {
        Ok(x) => x,
        Err(e) => return report_error(out, "reconcile", &e, as_json),
    };
    let mut data: Vec<LinesFile> = Vec::new();
    for spec in files {
        let (system, path) = system_and_path(spec)?;
        data.push(LinesFile::read(system, path)?);
    }
    let refs: Vec<CrossRef> = match cross_refs {
        Some(p) => read_jsonl::<CrossRef>(p)?
            .into_iter()
            .map(|(x, _)| x)
            .collect(),
        None => Vec::new(),
    };
    let systems: Vec<SystemSource<'_, &LinesFile>> = data
        .iter()
        .map(|f| SystemSource {
            system: &f.system,
            records: f,
        })
        .collect();
    let result = reconcile::reconcile_sources(&compiled, kind_index, stage_index, &systems, &refs);
    let report = match result {
        Ok(r) => r,
        Err(mut e) => {
            // Name the file and line a record error comes from.
            for f in &data {
                let prefix = format!("/records/{}/", f.system);
                if let Some(rest) = e.path.strip_prefix(&prefix) {
                    let index: Option<usize> = rest.split('/').next().and_then(|i| i.parse().ok());
                    if let Some((_, _, line)) = index.and_then(|i| f.lines.get(i)) {
                        e.message = format!("{} ({} line {line})", e.message, f.path);
                    }
                }
            }
            return report_error(out, "reconcile", &e, as_json);
        }
    };
    let status = if report.findings.is_empty() {
        OK
    } else {
        INVALID
    };
    if as_json {
        let response = ReconcileResponse {
            schema_version: SchemaVersion,
            entity: kind.to_owned(),
            systems: report.systems,
            summary: report.summary,
            findings: report.findings,
            corrections: report.corrections,
        };
        let s = to_canonical_string(&response).map_err(|e| e.message)?;
        writeln!(out, "{s}").map_err(io)?;
        return Ok(status);
    }
    let names: Vec<&str> = report.systems.iter().map(System::as_str).collect();
    let s = &report.summary;
    writeln!(
        out,
        "reconciled `{kind}` across {}: {} entities, {} consistent",
        names.join(", "),
        s.entities,
        s.consistent
    )
    .map_err(io)?;
    for f in &report.findings {
        let stage = f
            .stage
            .as_deref()
            .map_or_else(|| " (stage unsettled)".to_owned(), |s| format!(" ({s})"));
        if !f.missing_in.is_empty() {
            let missing: Vec<&str> = f.missing_in.iter().map(System::as_str).collect();
            writeln!(out, "  {}{stage}: missing in {}", f.id, missing.join(", ")).map_err(io)?;
        }
        for m in &f.mismatches {
            let held: Vec<String> = m
                .values
                .iter()
                .map(|(s, v)| format!("{s} {}", canonical(v)))
                .collect();
            let verdict = match (&m.owner, &m.authoritative) {
                (Some(o), Some(v)) => format!("owner {o} says {}", canonical(v)),
                (Some(o), None) => format!("owner {o} does not hold it: needs review"),
                (None, _) => "no single owner: needs review".to_owned(),
            };
            writeln!(
                out,
                "  {}{stage}: `{}` differs: {}; {verdict}",
                f.id,
                m.field,
                held.join(", ")
            )
            .map_err(io)?;
        }
    }
    if !report.corrections.is_empty() {
        writeln!(out, "corrections:").map_err(io)?;
        for c in &report.corrections {
            match c.action {
                Action::Create => writeln!(
                    out,
                    "  {} {}: create {}",
                    c.system,
                    c.system_id,
                    canonical(&c.value)
                ),
                Action::Update => writeln!(
                    out,
                    "  {} {}: set `{}` to {}",
                    c.system,
                    c.system_id,
                    c.field.as_deref().unwrap_or_default(),
                    canonical(&c.value)
                ),
            }
            .map_err(io)?;
        }
    }
    let ignored = if s.ignored_fields.is_empty() {
        String::new()
    } else {
        format!("; fields not compared: {}", s.ignored_fields.join(", "))
    };
    writeln!(
        out,
        "summary: {} missing somewhere, {} with mismatches ({} fields, {} need review), {} corrections{ignored}",
        s.with_missing, s.with_mismatches, s.mismatched_fields, s.needs_review, s.corrections
    )
    .map_err(io)?;
    Ok(status)
}

/// One account, a JSON array of accounts, or JSON Lines of accounts.
fn read_accounts(path: &str) -> Result<Vec<Account>, Error> {
    let limits = Limits::DEFAULT;
    let bytes =
        read_input(path).map_err(|m| Error::new(billwise_core::ErrorCode::InputInvalidValue, m))?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        return json::from_slice(&bytes, &limits);
    }
    match json::from_slice::<Account>(&bytes, &limits) {
        Ok(a) => Ok(vec![a]),
        Err(whole) => {
            let mut accounts = Vec::new();
            for line in bytes.split(|b| *b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match json::from_slice::<Account>(line, &limits) {
                    Ok(a) => accounts.push(a),
                    Err(_) => return Err(whole),
                }
            }
            Ok(accounts)
        }
    }
}

pub(crate) fn activate(
    opportunity: &str,
    accounts: &str,
    policy: Option<&str>,
    as_json: bool,
    out: &mut impl Write,
) -> Result<u8, String> {
    let limits = Limits::DEFAULT;
    let request = (|| -> Result<CheckActivationRequest, (String, Error)> {
        let bytes = read_input(opportunity).map_err(|m| {
            (
                opportunity.to_owned(),
                Error::new(billwise_core::ErrorCode::InputInvalidValue, m),
            )
        })?;
        let opp: Opportunity =
            json::from_slice(&bytes, &limits).map_err(|e| (opportunity.to_owned(), e))?;
        let accounts = read_accounts(accounts).map_err(|e| (accounts.to_owned(), e))?;
        let policy = policy
            .map(|p| read_policy(p).map_err(|e| (p.to_owned(), e)))
            .transpose()?;
        Ok(CheckActivationRequest {
            schema_version: SchemaVersion,
            policy,
            opportunity: opp,
            account: None,
            accounts,
        })
    })();
    let request = match request {
        Ok(r) => r,
        Err((what, e)) => return report_error(out, &what, &e, as_json),
    };
    let response = match api::check_activation(&request, &limits) {
        Ok(r) => r,
        Err(e) => return report_error(out, "activate", &e, as_json),
    };
    let status = if response.status == ActivationStatus::Ready {
        OK
    } else {
        INVALID
    };
    if as_json {
        let s = to_canonical_string(&response).map_err(|e| e.message)?;
        writeln!(out, "{s}").map_err(io)?;
        return Ok(status);
    }
    let id = request.opportunity.id.as_str();
    if response.violations.is_empty() {
        writeln!(out, "{id}: ready to become a project").map_err(io)?;
    } else {
        for v in &response.violations {
            writeln!(out, "{id}: {}: {}: {}", v.path, v.code, v.message).map_err(io)?;
        }
        writeln!(
            out,
            "{id}: blocked by {} violation(s)",
            response.violations.len()
        )
        .map_err(io)?;
    }
    if !response.skipped.is_empty() {
        writeln!(
            out,
            "{id}: not checked without --policy: {}",
            response.skipped.join(", ")
        )
        .map_err(io)?;
    }
    Ok(status)
}
