//! The audit chain: one entry per applied event, each sealed with a SHA-256 hash that covers the
//! hash of the entry before it.
//!
//! An entry's `hash` is the lowercase hex SHA-256 of the canonical JSON of the entry without its
//! `hash` field (keys sorted, no whitespace; see [`crate::json::to_canonical_string`]), so any
//! runtime can recompute it byte for byte. The first entry's `prev_hash` is [`GENESIS_HASH`].
//!
//! [`verify`] walks a chain and reports the first entry that was changed (`AUDIT_ENTRY_TAMPERED`),
//! the first gap in the versions (`AUDIT_ENTRY_MISSING`), the first broken link
//! (`AUDIT_CHAIN_BROKEN`), and, given the head hash recorded elsewhere, a chain cut short or
//! rewritten to its end (`AUDIT_HEAD_MISMATCH`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode};
#[cfg(test)]
use crate::json::to_canonical_value;
use crate::json::write_canonical;
use crate::json::write_string;
use crate::model::{Id, System};

/// The `prev_hash` of the first entry of a chain: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One value that an event changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditChange {
    /// A JSON pointer into the engine's state (`/time_entries/TE-7/status`).
    pub path: String,
    // Both values are shared: the audit entry and the event's outcome hold the same ones, and a
    // copy of the engine clones no document.
    /// The value before the event (`null` when it did not exist).
    pub before: Arc<Value>,
    /// The value after the event (`null` when it was removed).
    pub after: Arc<Value>,
}

/// What the engine records about an applied event, before it is chained.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// When the event happened, as the envelope said.
    pub occurred_at: String,
    /// The system that sent it.
    pub source: System,
    /// The envelope's correlation id.
    pub correlation_id: Id,
    /// The envelope's idempotency key.
    pub idempotency_key: Id,
    /// The event type.
    pub event_type: String,
    /// What changed, in the order the engine changed it.
    pub changes: Vec<AuditChange>,
}

/// One sealed entry of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// The engine version the event produced: 1 for the first event, then one more each time.
    pub version: u64,
    /// When the event happened, as the envelope said.
    pub occurred_at: String,
    /// The system that sent it.
    pub source: System,
    /// The envelope's correlation id.
    pub correlation_id: Id,
    /// The envelope's idempotency key.
    pub idempotency_key: Id,
    /// The event type.
    pub event_type: String,
    /// What changed.
    pub changes: Vec<AuditChange>,
    /// The hash of the entry before this one ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 of the canonical JSON of this entry without `hash`, as lowercase hex.
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(&d) = DIGITS.get(usize::from(nibble)) {
                out.push(d);
            }
        }
    }
    // Only ASCII digits and letters were written.
    String::from_utf8(out).unwrap_or_default()
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The canonical JSON text an entry's hash is computed over: the entry without `hash`.
///
/// Written field by field in key order (the same bytes as the canonical JSON of the entry's value
/// without `hash`), so sealing an entry copies nothing.
pub fn hashed_text(entry: &AuditEntry) -> Result<String, Error> {
    // Most entries (a recorded document, before and after) fit without growing.
    let mut t = String::with_capacity(1024);
    write_entry(entry, false, &mut t);
    Ok(t)
}

/// Appends the canonical JSON of an entry, with its `hash` or (for [`hashed_text`]) without.
pub(crate) fn write_entry(entry: &AuditEntry, with_hash: bool, t: &mut String) {
    t.push_str("{\"changes\":[");
    for (i, c) in entry.changes.iter().enumerate() {
        if i > 0 {
            t.push(',');
        }
        t.push_str("{\"after\":");
        write_canonical(&c.after, t);
        t.push_str(",\"before\":");
        write_canonical(&c.before, t);
        t.push_str(",\"path\":");
        write_string(&c.path, t);
        t.push('}');
    }
    t.push_str("],\"correlation_id\":");
    write_string(entry.correlation_id.as_str(), t);
    t.push_str(",\"event_type\":");
    write_string(&entry.event_type, t);
    if with_hash {
        t.push_str(",\"hash\":");
        write_string(&entry.hash, t);
    }
    t.push_str(",\"idempotency_key\":");
    write_string(entry.idempotency_key.as_str(), t);
    t.push_str(",\"occurred_at\":");
    write_string(&entry.occurred_at, t);
    t.push_str(",\"prev_hash\":");
    write_string(&entry.prev_hash, t);
    t.push_str(",\"source\":");
    write_string(entry.source.as_str(), t);
    t.push_str(",\"version\":");
    t.push_str(&entry.version.to_string());
    t.push('}');
}

/// [`hashed_text`] the slow way, through the entry's JSON value; the tests check both agree.
#[cfg(test)]
pub(crate) fn hashed_text_by_value(entry: &AuditEntry) -> Result<String, Error> {
    let mut value = to_canonical_value(entry)?;
    if let Value::Object(map) = &mut value {
        map.remove("hash");
    }
    let mut text = String::new();
    write_canonical(&value, &mut text);
    Ok(text)
}

/// The hash an entry should carry: lowercase hex SHA-256 of [`hashed_text`].
pub fn entry_hash(entry: &AuditEntry) -> Result<String, Error> {
    Ok(hex(&Sha256::digest(hashed_text(entry)?.as_bytes())))
}

/// An append-only chain of audit entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditLog {
    entries: Vec<AuditEntry>,
}

impl AuditLog {
    /// An empty chain.
    pub fn new() -> AuditLog {
        AuditLog::default()
    }

    /// A chain from entries read back (for example from a snapshot); check it with [`verify`].
    pub fn from_entries(entries: Vec<AuditEntry>) -> AuditLog {
        AuditLog { entries }
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[AuditEntry] {
        &self.entries
    }

    /// The hash of the last entry, or [`GENESIS_HASH`] when there is none.
    pub fn head(&self) -> &str {
        self.entries
            .last()
            .map_or(GENESIS_HASH, |e| e.hash.as_str())
    }

    /// Drops the entries after the first `len` (an atomic batch rolled back).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.entries.truncate(len);
    }

    /// The version of the last entry, or 0 when there is none.
    pub fn version(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.version)
    }

    /// Seals `record` as the next entry: the next version, the current head as `prev_hash`, and
    /// its own hash. Returns the new entry.
    pub fn append(&mut self, record: AuditRecord) -> Result<&AuditEntry, Error> {
        let version = self.version().checked_add(1).ok_or_else(|| {
            Error::new(
                ErrorCode::InputLimitExceeded,
                "the audit chain has reached its largest version",
            )
        })?;
        let mut entry = AuditEntry {
            version,
            occurred_at: record.occurred_at,
            source: record.source,
            correlation_id: record.correlation_id,
            idempotency_key: record.idempotency_key,
            event_type: record.event_type,
            changes: record.changes,
            prev_hash: self.head().to_owned(),
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry)?;
        self.entries.push(entry);
        self.entries
            .last()
            .ok_or_else(|| Error::internal("the audit entry just appended is missing"))
    }
}

/// The first place a chain fails verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditBreak {
    /// The position (0-based) of the entry where verification failed; the number of entries for
    /// `AUDIT_HEAD_MISMATCH`.
    pub index: usize,
    /// The version that entry carries (for `AUDIT_HEAD_MISMATCH`: the last version in the chain).
    pub version: u64,
    /// `AUDIT_ENTRY_TAMPERED`, `AUDIT_ENTRY_MISSING`, `AUDIT_CHAIN_BROKEN` or `AUDIT_HEAD_MISMATCH`.
    pub code: ErrorCode,
    /// What is wrong, with the hashes or versions involved.
    pub message: String,
}

/// The result of verifying a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditVerification {
    /// Whether every entry is intact, in order, and linked.
    pub valid: bool,
    /// How many entries were read.
    pub entries: usize,
    /// The hash of the last entry ([`GENESIS_HASH`] for an empty chain).
    pub head: String,
    /// The first failure (absent when valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<AuditBreak>,
}

fn short(hash: &str) -> String {
    let head: String = hash.chars().filter(|c| !c.is_control()).take(12).collect();
    if hash.chars().count() > 12 {
        format!("{head}…")
    } else {
        head
    }
}

/// Verifies a whole chain, from [`GENESIS_HASH`] and version 1. When `expected_head` (the head
/// hash recorded elsewhere, for example with the last snapshot) is given, the chain must end there.
pub fn verify(
    entries: &[AuditEntry],
    expected_head: Option<&str>,
) -> Result<AuditVerification, Error> {
    verify_from(entries, GENESIS_HASH, 0, expected_head)
}

/// Verifies part of a chain that follows an entry of hash `prev_hash` and version `prev_version`.
///
/// For each entry, in order: its hash must match its content (`AUDIT_ENTRY_TAMPERED`), its version
/// must be one more than the previous (a jump is `AUDIT_ENTRY_MISSING`, a repeat or step back is
/// `AUDIT_CHAIN_BROKEN`), and its `prev_hash` must be the previous entry's hash
/// (`AUDIT_CHAIN_BROKEN`: the entry before it was rewritten and resealed, or one was inserted).
/// `Err` only when an entry cannot be serialised to compute its hash.
pub fn verify_from(
    entries: &[AuditEntry],
    prev_hash: &str,
    prev_version: u64,
    expected_head: Option<&str>,
) -> Result<AuditVerification, Error> {
    let mut prev_hash = prev_hash.to_owned();
    let mut prev_version = prev_version;
    let fail = |index: usize, version: u64, code: ErrorCode, message: String, head: &str| {
        Ok(AuditVerification {
            valid: false,
            entries: entries.len(),
            head: head.to_owned(),
            problem: Some(AuditBreak {
                index,
                version,
                code,
                message,
            }),
        })
    };
    let head = entries
        .last()
        .map_or(prev_hash.as_str(), |e| e.hash.as_str())
        .to_owned();
    for (index, entry) in entries.iter().enumerate() {
        let v = entry.version;
        let computed = entry_hash(entry)?;
        if computed != entry.hash {
            return fail(
                index,
                v,
                ErrorCode::AuditEntryTampered,
                format!(
                    "entry {v} was changed after it was sealed: its content hashes to `{}`, not `{}`",
                    short(&computed),
                    short(&entry.hash)
                ),
                &head,
            );
        }
        let expected = prev_version.saturating_add(1);
        if v > expected {
            let missing = if v - expected == 1 {
                format!("version {expected} is missing")
            } else {
                format!("versions {expected} to {} are missing", v - 1)
            };
            return fail(
                index,
                v,
                ErrorCode::AuditEntryMissing,
                format!("entry {v} follows version {prev_version}: {missing}"),
                &head,
            );
        }
        if v < expected {
            return fail(
                index,
                v,
                ErrorCode::AuditChainBroken,
                format!("entry {v} follows version {prev_version}: versions must rise by one"),
                &head,
            );
        }
        if entry.prev_hash != prev_hash {
            return fail(
                index,
                v,
                ErrorCode::AuditChainBroken,
                format!(
                    "entry {v} records previous hash `{}` but the entry before it hashes to `{}`: \
                     the entry before it was rewritten and resealed, or an entry was inserted",
                    short(&entry.prev_hash),
                    short(&prev_hash)
                ),
                &head,
            );
        }
        prev_hash.clone_from(&entry.hash);
        prev_version = v;
    }
    if let Some(expected) = expected_head
        && expected != head
    {
        return fail(
            entries.len(),
            prev_version,
            ErrorCode::AuditHeadMismatch,
            format!(
                "the chain ends at version {prev_version} with hash `{}`, but the recorded head is \
                 `{}`: entries were cut from its end or the chain was rewritten",
                short(&head),
                short(expected)
            ),
            &head,
        );
    }
    Ok(AuditVerification {
        valid: true,
        entries: entries.len(),
        head,
        problem: None,
    })
}

#[cfg(test)]
mod tests;
