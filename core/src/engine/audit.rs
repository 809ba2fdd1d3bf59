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

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
#[cfg(test)]
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode};
#[cfg(test)]
use crate::json::to_canonical_value;
#[cfg(test)]
use crate::json::write_canonical;
use crate::json::{CanonicalJson, write_string};
use crate::model::{Id, System};

/// The `prev_hash` of the first entry of a chain: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event type's name: one of [`super::EVENT_TYPES`] (shared, not copied), or, in an audit
/// entry read back, any other text it holds.
pub type EventTypeName = Cow<'static, str>;

/// Reads an event type's name, sharing the static name when it is a known one.
pub(crate) fn event_type_name<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<EventTypeName, D::Error> {
    let name = String::deserialize(d)?;
    Ok(super::EVENT_TYPES
        .iter()
        .find(|t| **t == name)
        .map_or(Cow::Owned(name), |t| Cow::Borrowed(*t)))
}

/// One value that an event changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditChange {
    /// A JSON pointer into the engine's state (`/time_entries/TE-7/status`).
    pub path: String,
    // Both values are canonical text, shared: the audit entry and the event's outcome hold the
    // same ones, and hashing or writing an entry copies the text.
    /// The value before the event (`null` when it did not exist).
    pub before: CanonicalJson,
    /// The value after the event (`null` when it was removed).
    pub after: CanonicalJson,
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
    pub event_type: EventTypeName,
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
    #[serde(deserialize_with = "event_type_name")]
    pub event_type: EventTypeName,
    /// What changed.
    pub changes: Vec<AuditChange>,
    /// The hash of the entry before this one ([`GENESIS_HASH`] for the first).
    pub prev_hash: Sha256Digest,
    /// SHA-256 of the canonical JSON of this entry without `hash`, as lowercase hex.
    pub hash: Sha256Digest,
}

/// A SHA-256 digest. It is written, read and shown as 64 lowercase hex digits; held as its 32
/// bytes, so sealing an entry or recording a key's fingerprint allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The `prev_hash` of the first entry of a chain: all zeros ([`GENESIS_HASH`]).
    pub const GENESIS: Sha256Digest = Sha256Digest([0; 32]);

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Digest {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// The digest written as 64 lowercase hex digits, or `None` for any other text.
    pub fn parse(hex: &str) -> Option<Sha256Digest> {
        fn digit(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            }
        }
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let [hi, lo] = pair else { return None };
            *o = (digit(*hi)? << 4) | digit(*lo)?;
        }
        Some(Sha256Digest(out))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 hex digits, on the stack.
    fn hex_digits(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'0'; 64];
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            if let [hi, lo] = pair {
                *hi = DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                *lo = DIGITS.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
            }
        }
        out
    }

    /// Appends the 64 hex digits to `out`.
    pub fn write_hex(&self, out: &mut String) {
        let digits = self.hex_digits();
        // Only ASCII digits and letters were written.
        out.push_str(std::str::from_utf8(&digits).unwrap_or_default());
    }

    /// The 64 hex digits.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        self.write_hex(&mut out);
        out
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.hex_digits();
        f.write_str(std::str::from_utf8(&digits).unwrap_or_default())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq<str> for Sha256Digest {
    fn eq(&self, other: &str) -> bool {
        Sha256Digest::parse(other) == Some(*self)
    }
}

impl PartialEq<&str> for Sha256Digest {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let digits = self.hex_digits();
        s.serialize_str(std::str::from_utf8(&digits).unwrap_or_default())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Sha256Digest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SHA-256 digest as 64 lowercase hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sha256Digest, E> {
                Sha256Digest::parse(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Sha256Digest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sha256Digest".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "A SHA-256 digest as 64 lowercase hex digits."
        })
    }
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256Digest::of(bytes).to_hex()
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
        t.push_str(c.after.as_str());
        t.push_str(",\"before\":");
        t.push_str(c.before.as_str());
        t.push_str(",\"path\":");
        write_string(&c.path, t);
        t.push('}');
    }
    t.push_str("],\"correlation_id\":");
    write_string(entry.correlation_id.as_str(), t);
    t.push_str(",\"event_type\":");
    write_string(&entry.event_type, t);
    if with_hash {
        t.push_str(",\"hash\":\"");
        entry.hash.write_hex(t);
        t.push('"');
    }
    t.push_str(",\"idempotency_key\":");
    write_string(entry.idempotency_key.as_str(), t);
    t.push_str(",\"occurred_at\":");
    write_string(&entry.occurred_at, t);
    t.push_str(",\"prev_hash\":\"");
    entry.prev_hash.write_hex(t);
    t.push('"');
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

/// The hash an entry should carry: SHA-256 of [`hashed_text`].
pub fn entry_hash(entry: &AuditEntry) -> Result<Sha256Digest, Error> {
    Ok(Sha256Digest::of(hashed_text(entry)?.as_bytes()))
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

    /// The hash of the last entry, or [`Sha256Digest::GENESIS`] when there is none.
    pub fn head(&self) -> Sha256Digest {
        self.entries
            .last()
            .map_or(Sha256Digest::GENESIS, |e| e.hash)
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
        // The entry is kept for good: it holds no spare capacity (a list grown by pushes holds
        // room for four changes, most entries have one).
        let mut changes = record.changes;
        changes.shrink_to_fit();
        let mut occurred_at = record.occurred_at;
        occurred_at.shrink_to_fit();
        let mut entry = AuditEntry {
            version,
            occurred_at,
            source: record.source,
            correlation_id: record.correlation_id,
            idempotency_key: record.idempotency_key,
            event_type: record.event_type,
            changes,
            prev_hash: self.head(),
            hash: Sha256Digest::GENESIS,
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

fn short_digest(hash: &Sha256Digest) -> String {
    short(&hash.to_hex())
}

/// Verifies a whole chain, from [`GENESIS_HASH`] and version 1. When `expected_head` (the head
/// hash recorded elsewhere, for example with the last snapshot) is given, the chain must end there.
pub fn verify(
    entries: &[AuditEntry],
    expected_head: Option<&str>,
) -> Result<AuditVerification, Error> {
    verify_from(entries, Sha256Digest::GENESIS, 0, expected_head)
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
    prev_hash: Sha256Digest,
    prev_version: u64,
    expected_head: Option<&str>,
) -> Result<AuditVerification, Error> {
    let mut prev_hash = prev_hash;
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
    let head = entries.last().map_or(prev_hash, |e| e.hash).to_hex();
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
                    short_digest(&computed),
                    short_digest(&entry.hash)
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
                    short_digest(&entry.prev_hash),
                    short_digest(&prev_hash)
                ),
                &head,
            );
        }
        prev_hash = entry.hash;
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
