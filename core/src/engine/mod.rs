//! The event engine: one contract's world, changed only by event envelopes.
//!
//! An [`Engine`] holds a contract, its change orders, projects, time entries, expenses,
//! milestones, invoices, payments and billed ledger ([`World`]). [`Engine::apply`] takes an
//! [`Envelope`] and returns an [`Outcome`]:
//!
//! - `applied`: the event passed the version check, the ownership policy, its state machine and
//!   its guards, and the engine's own rules; the version goes up by one, an audit entry records
//!   what changed (before and after), hash-chained to the one before ([`audit`]).
//! - `duplicate`: the idempotency key was applied before with the same payload; nothing changes and
//!   the original result is returned. The same key with another payload is an
//!   `ENGINE_IDEMPOTENCY_CONFLICT` error.
//! - `rejected`: nothing changes but the exception queue, which records the envelope with its
//!   reason code and correlation id. Sending the same envelope again later re-evaluates it; once
//!   applied, its exception is marked resolved.
//!
//! [`Engine::snapshot`] writes the whole engine as canonical JSON and [`Engine::restore`] reads
//! it back; replaying the same envelopes from empty gives a byte-identical snapshot.
//! `spec/domain/engine.md` states every rule with worked examples.
//!
//! ```
//! use billwise_core::engine::{Engine, Envelope, OutcomeStatus};
//!
//! let mut engine = Engine::new();
//! let envelope: Envelope = serde_json::from_str(r#"{
//!   "idempotency_key": "psa-1", "correlation_id": "week-2", "source": "psa",
//!   "occurred_at": "2026-01-12T17:00:00Z",
//!   "event": {"type": "time_entry.recorded", "time_entry": {
//!     "id": "TE-1", "project_id": "PRJ-1", "task_id": "T-1", "resource_id": "R-1",
//!     "role": "Developer", "work_date": "2026-01-12", "hours": "8", "status": "submitted"}}
//! }"#).unwrap();
//! assert_eq!(engine.apply(&envelope).unwrap().status, OutcomeStatus::Applied);
//! // The same envelope again changes nothing.
//! assert_eq!(engine.apply(&envelope).unwrap().status, OutcomeStatus::Duplicate);
//! assert_eq!(engine.version(), 1);
//! assert!(engine.verify_audit().unwrap().valid);
//! ```

mod apply;
pub mod audit;
mod types;

pub use types::*;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rust_decimal::Decimal;
use serde::Serialize;

use self::audit::{AuditEntry, AuditLog, AuditRecord, AuditVerification, Sha256Digest};
use crate::billing::{self, HoldReason, InvoicePreview, ItemKind, Period, PreviewInvoiceRequest};
use crate::error::{Error, ErrorCode};
use crate::json::{self, Limits};
use crate::model::{Date, Dec, Id, Money, OwnershipPolicy, SchemaVersion, decimal};

/// One contract's world and everything needed to change it safely: see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    world: World,
    audit: AuditLog,
    processed: BTreeMap<Id, Box<Processed>>,
    exceptions: Vec<ExceptionEntry>,
    /// Idempotency key → position in `exceptions` of its latest unresolved entry.
    open: BTreeMap<Id, usize>,
    policy: Option<OwnershipPolicy>,
    /// The policy compiled for lookups (derived from `policy`, not part of the snapshot).
    compiled: Option<crate::ownership::CompiledPolicy>,
    /// The billed ledger indexed by item, net of credits (derived from the state's ledger and
    /// contract, not part of the snapshot): built when an event first needs it, dropped when
    /// either changes.
    billed: OnceLock<Result<BilledIndex, Error>>,
    /// While an atomic batch is under way: what it changed, to roll it back.
    journal: Option<Box<Journal>>,
}

/// What an atomic batch under way has changed, kept to roll it back: rolling back undoes these
/// changes, so a batch costs what it changes, not a copy of the whole engine (which made every
/// atomic batch cost the engine's size, and a stream of them grow with its square).
#[derive(Debug, Clone, Default)]
struct Journal {
    /// The audit chain's length and the exception queue's length when the batch began.
    audit_len: usize,
    exceptions_len: usize,
    /// Idempotency keys the batch recorded as processed.
    processed: Vec<Id>,
    /// Open-exception positions the batch set or removed, each as it was (`None`: not open).
    open: Vec<(Id, Option<usize>)>,
    /// Exception entries (from before the batch) the batch changed, each as it was.
    exceptions: Vec<(usize, ExceptionEntry)>,
    /// What each write of the batch replaced in the state, in order.
    world: Vec<apply::Undo>,
}

/// What each item has been billed net of credits, by item kind (`ItemKind as usize`) and id.
pub(crate) type BilledIndex = crate::ledger::NetByItem;

/// The snapshot as one serialisable value (the reference [`Engine::snapshot`] is tested against).
#[cfg(test)]
#[derive(Serialize)]
struct SnapshotRef<'a> {
    schema_version: SchemaVersion,
    version: u64,
    audit_head: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ownership_policy: Option<&'a OwnershipPolicy>,
    state: &'a World,
    processed: &'a BTreeMap<Id, Box<Processed>>,
    exceptions: &'a [ExceptionEntry],
    audit: &'a [AuditEntry],
}

/// An event's canonical text. The event writes `type` in its sorted place, and the documents
/// recorded most (time entries, expenses, milestones) write their fields in key order, so their
/// events are written in one pass; a document whose parts are not in order is sorted through a
/// JSON value, which gives the same bytes.
fn event_text(event: &Event) -> Result<String, Error> {
    json::to_canonical_string(event)
}

/// The SHA-256 (written as lowercase hex) of the canonical JSON of an envelope's payload: the object
/// `{event, expected_version, occurred_at, source}` (`expected_version` is `null` when absent).
pub fn fingerprint(envelope: &Envelope) -> Result<Sha256Digest, Error> {
    fingerprint_of(envelope, &json::to_canonical_string(&envelope.event)?)
}

/// [`fingerprint`] given the event's canonical JSON text.
fn fingerprint_of(envelope: &Envelope, event: &str) -> Result<Sha256Digest, Error> {
    let mut t = String::with_capacity(event.len().saturating_add(256));
    t.push_str("{\"event\":");
    t.push_str(event);
    t.push_str(",\"expected_version\":");
    match envelope.expected_version {
        Some(v) => t.push_str(&v.to_string()),
        None => t.push_str("null"),
    }
    t.push_str(",\"occurred_at\":");
    json::write_string(&envelope.occurred_at, &mut t);
    t.push_str(",\"source\":");
    json::write_string(envelope.source.as_str(), &mut t);
    t.push('}');
    Ok(Sha256Digest::of(t.as_bytes()))
}

/// The date an `occurred_at` starts with.
pub fn occurred_on(occurred_at: &str) -> Result<Date, Error> {
    let bad = || {
        let shown: String = occurred_at
            .chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect();
        Error::new(
            ErrorCode::EngineInvalidTimestamp,
            format!("`{shown}` does not start with a date written `YYYY-MM-DD`"),
        )
        .at("/occurred_at")
    };
    if occurred_at.len() > 64 || occurred_at.chars().any(char::is_control) {
        return Err(bad());
    }
    let head = occurred_at.get(..10).ok_or_else(bad)?;
    let rest = occurred_at.get(10..).unwrap_or_default();
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
        return Err(bad());
    }
    Date::parse(head).map_err(|_| bad())
}

impl Engine {
    /// An empty engine at version 0, enforcing no ownership policy.
    pub fn new() -> Engine {
        Engine::default()
    }

    /// An empty engine that enforces `policy` on every event.
    pub fn with_ownership_policy(policy: OwnershipPolicy) -> Result<Engine, Error> {
        let mut engine = Engine::new();
        engine.set_policy(Some(policy))?;
        Ok(engine)
    }

    fn set_policy(&mut self, policy: Option<OwnershipPolicy>) -> Result<(), Error> {
        self.compiled = match &policy {
            Some(p) => Some(
                crate::ownership::CompiledPolicy::compile(p)
                    .map_err(|problems| crate::ownership::policy_error(&problems, ""))?,
            ),
            None => None,
        };
        self.policy = policy;
        Ok(())
    }

    /// The number of events applied so far.
    pub fn version(&self) -> u64 {
        self.audit.version()
    }

    /// The contract's world as the engine holds it.
    pub fn state(&self) -> &World {
        &self.world
    }

    /// The ownership policy enforced, if any.
    pub fn ownership_policy(&self) -> Option<&OwnershipPolicy> {
        self.policy.as_ref()
    }

    /// The audit chain, oldest first.
    pub fn audit(&self) -> &[AuditEntry] {
        self.audit.entries()
    }

    /// The exception queue, oldest first (resolved entries carry `resolved_by_version`).
    pub fn exceptions(&self) -> &[ExceptionEntry] {
        &self.exceptions
    }

    /// Applies one envelope. `Err` only for an idempotency conflict, an unreadable `occurred_at`
    /// or a defect; every refusal by a rule is a `rejected` outcome.
    pub fn apply(&mut self, envelope: &Envelope) -> Result<Outcome, Error> {
        occurred_on(&envelope.occurred_at)?;
        // The event's canonical text, written once, and hashed as it is; the audit keeps a
        // recorded document as the part of it that the document's own text is.
        let text = event_text(&envelope.event)?;
        let fp = fingerprint_of(envelope, &text)?;
        let key = &envelope.idempotency_key;
        if let Some(done) = self.processed.get(key) {
            if done.fingerprint != fp {
                return Err(conflict(envelope, done.version));
            }
            let changes = usize::try_from(done.version)
                .ok()
                .and_then(|v| v.checked_sub(1))
                .and_then(|i| self.audit.entries().get(i))
                .map(|e| e.changes.clone())
                .ok_or_else(|| Error::internal("the audit entry of a processed key is missing"))?;
            return Ok(self.outcome(envelope, OutcomeStatus::Duplicate, done.version, changes));
        }
        if let Some(entry) = self.open.get(key).and_then(|i| self.exceptions.get(*i))
            && fingerprint(&entry.envelope)? != fp
        {
            return Err(conflict(envelope, 0));
        }
        if let Some(expected) = envelope.expected_version
            && expected != self.version()
        {
            let r = Rejection::new(
                ErrorCode::EngineVersionConflict,
                format!(
                    "the envelope expects version {expected} but the engine is at version {}",
                    self.version()
                ),
            );
            return Ok(self.reject(envelope, r));
        }
        match self.plan(envelope, &text) {
            Ok(plan) => self.commit(envelope, fp, plan),
            Err(apply::Fail::Rejected(r)) => Ok(self.reject(envelope, r)),
            Err(apply::Fail::Error(e)) if e.code == ErrorCode::InternalError => Err(e),
            Err(apply::Fail::Error(e)) => {
                let r = Rejection::new(e.code, e.message);
                Ok(self.reject(envelope, r))
            }
        }
    }

    /// Applies envelopes in order. With `atomic`, either every envelope is applied (or is a
    /// duplicate), or none is: the first rejection rolls the batch back, that envelope goes to
    /// the exception queue with its reason and every other one with `ENGINE_BATCH_ABORTED`, and
    /// every outcome is `rejected` (duplicates stay `duplicate`). An error (an idempotency
    /// conflict) rolls an atomic batch back and is returned with the envelope's position in its
    /// path. Without `atomic`, every envelope has its outcome: one that is an error for
    /// [`Engine::apply`] is `rejected` and queued (see `queue_error`); only an internal error
    /// stops the batch.
    pub fn apply_batch(
        &mut self,
        envelopes: &[Envelope],
        atomic: bool,
    ) -> Result<Vec<Outcome>, Error> {
        let at = |i: usize, e: Error| e.under(&format!("/envelopes/{i}"));
        if !atomic {
            let mut out = Vec::with_capacity(envelopes.len());
            for (i, env) in envelopes.iter().enumerate() {
                let o = match self.apply(env) {
                    Ok(o) => o,
                    Err(e) if e.code == ErrorCode::InternalError => return Err(at(i, e)),
                    // Every envelope has its outcome: one the engine cannot take (an idempotency
                    // conflict, an unreadable `occurred_at`) is rejected and queued, and the
                    // envelopes before and after it keep theirs.
                    Err(e) => self.queue_error(env, e)?,
                };
                out.push(o);
            }
            return Ok(out);
        }
        self.journal = Some(Box::new(Journal {
            audit_len: self.audit.entries().len(),
            exceptions_len: self.exceptions.len(),
            ..Journal::default()
        }));
        let mut out = Vec::with_capacity(envelopes.len());
        let mut failed: Option<(usize, Rejection)> = None;
        for (i, env) in envelopes.iter().enumerate() {
            match self.apply(env) {
                Ok(o) if o.status == OutcomeStatus::Rejected => {
                    failed = o.rejection.map(|r| (i, r));
                    break;
                }
                Ok(o) => out.push(o),
                Err(e) => {
                    self.roll_back();
                    return Err(at(i, e));
                }
            }
        }
        let Some((bad, reason)) = failed else {
            self.journal = None;
            return Ok(out);
        };
        self.roll_back();
        let mut outcomes = Vec::with_capacity(envelopes.len());
        for (i, env) in envelopes.iter().enumerate() {
            if let Some(done) = self.processed.get(&env.idempotency_key) {
                let version = done.version;
                outcomes.push(self.outcome(env, OutcomeStatus::Duplicate, version, Vec::new()));
                continue;
            }
            let r = if i == bad {
                reason.clone()
            } else {
                Rejection::new(
                    ErrorCode::EngineBatchAborted,
                    format!(
                        "envelope {bad} of the atomic batch (`{}`) was rejected, so none of the batch was applied",
                        envelopes
                            .get(bad)
                            .map_or("", |e| e.idempotency_key.as_str())
                    ),
                )
            };
            outcomes.push(self.reject(env, r));
        }
        Ok(outcomes)
    }

    /// Undoes what the atomic batch under way changed, newest first, and ends the batch.
    fn roll_back(&mut self) {
        let Some(j) = self.journal.take() else {
            return;
        };
        let Journal {
            audit_len,
            exceptions_len,
            processed,
            open,
            exceptions,
            world,
        } = *j;
        self.audit.truncate(audit_len);
        for u in world.into_iter().rev() {
            if matches!(u, apply::Undo::Contract(_) | apply::Undo::Ledger(_)) {
                self.billed = OnceLock::new();
            }
            apply::undo(&mut self.world, u);
        }
        for key in processed {
            self.processed.remove(&key);
        }
        self.exceptions.truncate(exceptions_len);
        for (i, entry) in exceptions.into_iter().rev() {
            if let Some(slot) = self.exceptions.get_mut(i) {
                *slot = entry;
            }
        }
        for (key, was) in open.into_iter().rev() {
            match was {
                Some(i) => self.open.insert(key, i),
                None => self.open.remove(&key),
            };
        }
    }

    /// A non-atomic batch's envelope that could not be taken at all: rejected with the error's
    /// code and message, and queued as an exception that does not wait on its key (the key
    /// belongs to another payload, so no retry under it can resolve it; it is for someone to
    /// look at). The same envelope again counts as another attempt of that entry.
    fn queue_error(&mut self, envelope: &Envelope, e: Error) -> Result<Outcome, Error> {
        // The same envelope: its key and payload (the fingerprint), as a retry is recognised.
        let fp = fingerprint(envelope)?;
        let mut found = None;
        for (i, x) in self.exceptions.iter().enumerate() {
            if x.resolved_by_version.is_none()
                && !waits_on_key(x.code)
                && x.code == e.code
                && x.envelope.idempotency_key == envelope.idempotency_key
                && fingerprint(&x.envelope)? == fp
            {
                found = Some(i);
                break;
            }
        }
        Ok(self.queue(envelope, Rejection::new(e.code, e.message), found, false))
    }

    /// Marks the open exception of `key`, if any, resolved by `version`.
    fn resolve(&mut self, key: &Id, version: u64) {
        if let Some(i) = self.open.remove(key) {
            if let Some(j) = &mut self.journal {
                j.open.push((key.clone(), Some(i)));
            }
            self.journal_exception(i);
            if let Some(entry) = self.exceptions.get_mut(i) {
                entry.resolved_by_version = Some(version);
            }
        }
    }

    /// Keeps `entry` (at `i` in the queue) as it was, if an atomic batch is under way and the
    /// entry is older than the batch.
    fn journal_exception(&mut self, i: usize) {
        if let Some(j) = &mut self.journal
            && i < j.exceptions_len
            && let Some(entry) = self.exceptions.get(i)
        {
            j.exceptions.push((i, entry.clone()));
        }
    }

    fn outcome(
        &self,
        envelope: &Envelope,
        status: OutcomeStatus,
        version: u64,
        changes: Vec<audit::AuditChange>,
    ) -> Outcome {
        Outcome {
            idempotency_key: envelope.idempotency_key.clone(),
            correlation_id: envelope.correlation_id.clone(),
            event_type: envelope.event.type_name().into(),
            status,
            version,
            changes,
            rejection: None,
        }
    }

    fn reject(&mut self, envelope: &Envelope, r: Rejection) -> Outcome {
        let open = self.open.get(&envelope.idempotency_key).copied();
        self.queue(envelope, r, open, true)
    }

    /// Records a rejection in the exception queue: as another attempt of entry `entry`, or as a
    /// new entry, which `waits` on its key (see [`waits_on_key`]) or not; returns the outcome.
    fn queue(
        &mut self,
        envelope: &Envelope,
        r: Rejection,
        entry: Option<usize>,
        waits: bool,
    ) -> Outcome {
        let version = self.version();
        let key = &envelope.idempotency_key;
        if let Some(i) = entry {
            self.journal_exception(i);
        }
        if let Some(entry) = entry.and_then(|i| self.exceptions.get_mut(i)) {
            entry.code = r.code;
            entry.message.clone_from(&r.message);
            entry.problems.clone_from(&r.problems);
            entry.rejected_at_version = version;
            entry.attempts = entry.attempts.saturating_add(1);
        } else {
            let sequence = u64::try_from(self.exceptions.len())
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            if waits {
                let was = self.open.insert(key.clone(), self.exceptions.len());
                if let Some(j) = &mut self.journal {
                    j.open.push((key.clone(), was));
                }
            }
            self.exceptions.push(ExceptionEntry {
                sequence,
                code: r.code,
                message: r.message.clone(),
                problems: r.problems.clone(),
                rejected_at_version: version,
                attempts: 1,
                resolved_by_version: None,
                envelope: envelope.clone(),
            });
        }
        let mut o = self.outcome(envelope, OutcomeStatus::Rejected, version, Vec::new());
        o.rejection = Some(r);
        o
    }

    fn commit(
        &mut self,
        envelope: &Envelope,
        fingerprint: Sha256Digest,
        plan: apply::Plan,
    ) -> Result<Outcome, Error> {
        let apply::Plan { writes, changes } = plan;
        self.audit.append(AuditRecord {
            occurred_at: envelope.occurred_at.clone(),
            source: envelope.source.clone(),
            correlation_id: envelope.correlation_id.clone(),
            idempotency_key: envelope.idempotency_key.clone(),
            event_type: envelope.event.type_name().into(),
            changes,
        })?;
        for w in writes {
            if matches!(w, apply::Write::Ledger(_) | apply::Write::Contract(_)) {
                self.billed = OnceLock::new();
            }
            apply::write(
                &mut self.world,
                w,
                self.journal.as_mut().map(|j| &mut j.world),
            );
        }
        let version = self.version();
        let key = &envelope.idempotency_key;
        // Boxed, as the documents are: one B-tree's code serves every map of the engine (the
        // WebAssembly module's size).
        self.processed.insert(
            key.clone(),
            Box::new(Processed {
                fingerprint,
                version,
            }),
        );
        if let Some(j) = &mut self.journal {
            j.processed.push(key.clone());
        }
        self.resolve(key, version);
        // A document refused as invalid is corrected by a later record of the same document
        // (under a key of its own: another payload under the refused key is a conflict).
        if let Some(doc) = envelope.event.recorded_document() {
            let corrected: Vec<Id> = self
                .open
                .iter()
                .filter(|(_, i)| {
                    self.exceptions.get(**i).is_some_and(|e| {
                        !e.problems.is_empty() && e.envelope.event.recorded_document() == Some(doc)
                    })
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in corrected {
                self.resolve(&k, version);
            }
        }
        let changes = self
            .audit
            .entries()
            .last()
            .map(|e| e.changes.clone())
            .unwrap_or_default();
        Ok(self.outcome(envelope, OutcomeStatus::Applied, version, changes))
    }

    /// The whole engine as canonical JSON (see [`Snapshot`]).
    ///
    /// Written part by part in key order, each document on its own, so no JSON value of the
    /// whole engine is ever built; the bytes are those of the canonical JSON of [`Snapshot`].
    pub fn snapshot(&self) -> Result<String, Error> {
        let entries = self.audit.entries();
        let mut t = String::with_capacity(entries.len().saturating_mul(700).saturating_add(4096));
        t.push_str("{\"audit\":[");
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                t.push(',');
            }
            audit::write_entry(e, true, &mut t);
        }
        t.push_str("],\"audit_head\":");
        t.push('"');
        self.audit.head().write_hex(&mut t);
        t.push('"');
        t.push_str(",\"exceptions\":");
        t.push_str(&json::to_canonical_string(&self.exceptions)?);
        if let Some(p) = &self.policy {
            t.push_str(",\"ownership_policy\":");
            t.push_str(&json::to_canonical_string(p)?);
        }
        t.push_str(",\"processed\":{");
        for (i, (k, p)) in self.processed.iter().enumerate() {
            if i > 0 {
                t.push(',');
            }
            json::write_string(k.as_str(), &mut t);
            t.push_str(":{\"fingerprint\":");
            t.push('"');
            p.fingerprint.write_hex(&mut t);
            t.push('"');
            t.push_str(",\"version\":");
            t.push_str(&p.version.to_string());
            t.push('}');
        }
        t.push_str("},\"schema_version\":1,\"state\":");
        write_world(&self.world, &mut t)?;
        t.push_str(",\"version\":");
        t.push_str(&self.version().to_string());
        t.push('}');
        Ok(t)
    }

    /// [`Engine::snapshot`] the slow way, through one JSON value; the tests check both agree.
    #[cfg(test)]
    pub(crate) fn snapshot_by_value(&self) -> Result<String, Error> {
        json::to_canonical_string(&SnapshotRef {
            schema_version: SchemaVersion,
            version: self.version(),
            audit_head: self.audit.head().to_hex(),
            ownership_policy: self.policy.as_ref(),
            state: &self.world,
            processed: &self.processed,
            exceptions: &self.exceptions,
            audit: self.audit.entries(),
        })
    }

    /// The whole engine as a [`Snapshot`] value.
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            schema_version: SchemaVersion,
            version: self.version(),
            audit_head: self.audit.head().to_hex(),
            ownership_policy: self.policy.clone(),
            state: self.world.clone(),
            processed: self.processed.clone(),
            exceptions: self.exceptions.clone(),
            audit: self.audit.entries().to_vec(),
        }
    }

    /// Replaces this engine by the one a snapshot (canonical JSON from [`Engine::snapshot`])
    /// describes. The snapshot's audit chain must verify and end at its `audit_head`, and every
    /// applied key must name a version of the chain (`ENGINE_INVALID_SNAPSHOT` otherwise).
    pub fn restore(&mut self, snapshot: &[u8], limits: &Limits) -> Result<(), Error> {
        let s: Snapshot = json::from_slice(snapshot, limits)?;
        *self = Engine::from_snapshot(s)?;
        Ok(())
    }

    /// An engine from a [`Snapshot`] value, checked as [`Engine::restore`] checks it.
    pub fn from_snapshot(s: Snapshot) -> Result<Engine, Error> {
        let invalid = |msg: String| Error::new(ErrorCode::EngineInvalidSnapshot, msg);
        let check = audit::verify(&s.audit, Some(&s.audit_head))?;
        if let Some(p) = check.problem {
            return Err(Error::new(p.code, p.message).at(format!("/audit/{}", p.index)));
        }
        let chain_version = s.audit.last().map_or(0, |e| e.version);
        if chain_version != s.version {
            return Err(invalid(format!(
                "the snapshot says version {} but its audit chain ends at version {chain_version}",
                s.version
            ))
            .at("/version"));
        }
        for (key, p) in &s.processed {
            let entry = usize::try_from(p.version)
                .ok()
                .and_then(|v| v.checked_sub(1))
                .and_then(|i| s.audit.get(i));
            if entry.is_none_or(|e| &e.idempotency_key != key) {
                return Err(invalid(format!(
                    "key `{key}` is recorded as applied at version {}, but that audit entry is not its",
                    p.version
                ))
                .at(crate::error::Pointer::root().key("processed").key(key.as_str())));
            }
        }
        let mut open = BTreeMap::new();
        for (i, e) in s.exceptions.iter().enumerate() {
            if e.resolved_by_version.is_none() && waits_on_key(e.code) {
                open.insert(e.envelope.idempotency_key.clone(), i);
            }
        }
        let mut engine = Engine {
            world: s.state,
            audit: AuditLog::from_entries(s.audit),
            processed: s.processed,
            exceptions: s.exceptions,
            open,
            policy: None,
            compiled: None,
            billed: OnceLock::new(),
            journal: None,
        };
        engine.set_policy(s.ownership_policy)?;
        Ok(engine)
    }

    /// Checks the audit chain from its first entry to the engine's head.
    pub fn verify_audit(&self) -> Result<AuditVerification, Error> {
        audit::verify(self.audit.entries(), Some(&self.audit.head().to_hex()))
    }

    /// The billing-run request for the engine's state.
    pub fn preview_request(
        &self,
        period: Period,
        as_of: Date,
    ) -> Result<PreviewInvoiceRequest, Error> {
        let w = &self.world;
        let contract = w.contract.clone().ok_or_else(|| {
            Error::new(
                ErrorCode::EngineNoContract,
                "the engine holds no contract yet; record one with `contract.recorded`",
            )
        })?;
        Ok(PreviewInvoiceRequest {
            schema_version: SchemaVersion,
            contract,
            change_orders: w.change_orders.values().map(|d| (**d).clone()).collect(),
            projects: w.projects.values().map(|d| (**d).clone()).collect(),
            time_entries: w.time_entries.values().map(|d| (**d).clone()).collect(),
            expenses: w.expenses.values().map(|d| (**d).clone()).collect(),
            milestones: if w.milestones.is_empty() {
                None
            } else {
                Some(w.milestones.values().map(|d| (**d).clone()).collect())
            },
            ledger: w.ledger.clone(),
            period,
            as_of,
            options: billing::BillingOptions::default(),
        })
    }

    /// What a billing run for `period` on `as_of` would bill now (nothing is recorded).
    pub fn preview_invoice(
        &self,
        period: Period,
        as_of: Date,
    ) -> Result<InvoicePreview<'static>, Error> {
        let req = self.preview_request(period, as_of)?;
        billing::preview_invoice(&req).map(InvoicePreview::into_owned)
    }

    /// Figures a finance team watches, on `as_of`: unbilled approved time, held items by reason,
    /// open exceptions by reason, the ceiling's utilisation and open receivables.
    pub fn metrics(&self, as_of: Date) -> Result<Metrics, Error> {
        let contract = self.world.contract.as_ref().ok_or_else(|| {
            Error::new(
                ErrorCode::EngineNoContract,
                "the engine holds no contract yet; record one with `contract.recorded`",
            )
        })?;
        let currency = contract.currency;
        let start = contract.start_date.min(as_of);
        let preview = self.preview_invoice(Period { start, end: as_of }, as_of)?;
        // Unbilled approved time: what the run would bill now, plus approved time it holds for
        // a reason other than already billed, not approved or not billable (hours net of what
        // the ledger already billed of each entry).
        let ledger = billing::LedgerIndex::new(self.world.ledger.as_ref(), currency)?;
        let mut hours = Decimal::ZERO;
        let mut amount = Money::zero(currency);
        let mut ids: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        let add = |a: Decimal, b: Decimal| decimal::add(a, b, "the unbilled hours");
        let mut this_run: BTreeMap<&str, Decimal> = BTreeMap::new();
        for line in preview.lines.iter().filter(|l| l.kind == ItemKind::Time) {
            let Some(id) = line.source_ids.first() else {
                continue;
            };
            let h = line.billed_hours.unwrap_or(line.quantity).0;
            ids.insert(id.as_str());
            hours = add(hours, h)?;
            let slot = this_run.entry(id.as_str()).or_default();
            *slot = add(*slot, h)?;
            amount = amount.checked_add(line.amount)?;
        }
        for h in preview
            .held
            .iter()
            .filter(|h| h.kind == ItemKind::Time && h.reason >= HoldReason::ProjectStatus)
        {
            let Some(e) = self.world.time_entries.get(h.id.as_str()) else {
                continue;
            };
            let billed = ledger
                .get(ItemKind::Time, h.id.as_str())
                .map_or(Decimal::ZERO, |n| n.quantity);
            let now = this_run.get(h.id.as_str()).copied().unwrap_or_default();
            let left = decimal::sub(
                decimal::sub(e.hours.0, billed, "the unbilled hours")?,
                now,
                "the unbilled hours",
            )?
            .max(Decimal::ZERO);
            ids.insert(h.id.as_str());
            hours = add(hours, left)?;
            if let Some(a) = h.amount {
                amount = amount.checked_add(a)?;
            }
        }
        let entries = u64::try_from(ids.len()).unwrap_or(u64::MAX);
        let held_by_reason = preview
            .summary
            .held_by_reason
            .iter()
            .filter(|h| h.reason != HoldReason::AlreadyBilled)
            .cloned()
            .collect();
        let mut by_code: BTreeMap<&str, (ErrorCode, u64)> = BTreeMap::new();
        let mut open = 0u64;
        for e in self
            .exceptions
            .iter()
            .filter(|e| e.resolved_by_version.is_none())
        {
            open = open.saturating_add(1);
            let slot = by_code.entry(e.code.as_str()).or_insert((e.code, 0));
            slot.1 = slot.1.saturating_add(1);
        }
        let (mut limit, mut billed, mut percent) = (None, None, None);
        if let Some(c) = &preview.ceiling {
            limit = Some(c.limit);
            billed = Some(c.billed_before);
            if !c.limit.amount.is_zero() {
                percent = Some(billing::utilisation_percent(
                    c.billed_before.amount,
                    c.limit.amount,
                )?);
            }
        }
        let mut receivables = Money::zero(currency);
        for inv in self.world.invoices.values().filter(|i| {
            matches!(
                i.status,
                crate::model::InvoiceStatus::Posted
                    | crate::model::InvoiceStatus::PartiallyPaid
                    | crate::model::InvoiceStatus::Disputed
            )
        }) {
            receivables = receivables.checked_add(inv.balance)?;
        }
        Ok(Metrics {
            schema_version: SchemaVersion,
            version: self.version(),
            as_of,
            unbilled_approved_time: Unbilled {
                entries,
                // A ceiling split keeps exact fractions of an hour in the ledger; show 4 decimals.
                hours: Dec(hours.round_dp(4).normalize()),
                amount,
            },
            held_by_reason,
            exceptions_by_reason: by_code
                .into_values()
                .map(|(code, count)| ExceptionCount { code, count })
                .collect(),
            open_exceptions: open,
            ceiling_utilisation_percent: percent,
            ceiling_limit: limit,
            ceiling_billed: billed,
            receivables,
        })
    }
}

/// Appends a map of documents by id, each document's canonical JSON on its own.
fn write_docs<T: Serialize>(docs: &BTreeMap<Id, T>, t: &mut String) -> Result<(), Error> {
    t.push('{');
    for (i, (id, d)) in docs.iter().enumerate() {
        if i > 0 {
            t.push(',');
        }
        json::write_string(id.as_str(), t);
        t.push(':');
        t.push_str(&json::to_canonical_string(d)?);
    }
    t.push('}');
    Ok(())
}

/// Appends the canonical JSON of the world, collection by collection in key order.
fn write_world(w: &World, t: &mut String) -> Result<(), Error> {
    t.push_str("{\"change_orders\":");
    write_docs(&w.change_orders, t)?;
    if let Some(c) = &w.contract {
        t.push_str(",\"contract\":");
        t.push_str(&json::to_canonical_string(c)?);
    }
    t.push_str(",\"expenses\":");
    write_docs(&w.expenses, t)?;
    t.push_str(",\"invoices\":");
    write_docs(&w.invoices, t)?;
    if let Some(l) = &w.ledger {
        t.push_str(",\"ledger\":");
        t.push_str(&json::to_canonical_string(l)?);
    }
    t.push_str(",\"milestones\":");
    write_docs(&w.milestones, t)?;
    t.push_str(",\"opportunities\":");
    write_docs(&w.opportunities, t)?;
    t.push_str(",\"payments\":");
    write_docs(&w.payments, t)?;
    t.push_str(",\"projects\":");
    write_docs(&w.projects, t)?;
    t.push_str(",\"time_entries\":");
    write_docs(&w.time_entries, t)?;
    t.push('}');
    Ok(())
}

/// Whether an exception with this code waits on its idempotency key (a retry or correction
/// under the key resolves it), or was queued by a non-atomic batch for an envelope the engine
/// could not take at all ([`Engine::queue_error`]).
fn waits_on_key(code: ErrorCode) -> bool {
    !matches!(
        code,
        ErrorCode::EngineIdempotencyConflict | ErrorCode::EngineInvalidTimestamp
    )
}

fn conflict(envelope: &Envelope, version: u64) -> Error {
    let what = if version == 0 {
        "an envelope in the exception queue".to_owned()
    } else {
        format!("the envelope applied as version {version}")
    };
    Error::new(
        ErrorCode::EngineIdempotencyConflict,
        format!(
            "idempotency key `{}` was already used by {what}, with a different payload",
            envelope.idempotency_key
        ),
    )
    .at("/idempotency_key")
    .with("idempotency_key", envelope.idempotency_key.as_str())
}

#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;
