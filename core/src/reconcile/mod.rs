//! Cross-system reconciliation: the same entities as several systems hold them, compared field by
//! field, with the authoritative value (from the field's owner) and the corrections that make the
//! systems agree.
//!
//! One pass over each system's records (in the order given, so memory is read in order) takes
//! each record's id and a fingerprint of its values; each system's list is sorted once by a hash
//! of the id and the lists are merged. An entity every system holds with the same fingerprint is
//! consistent without touching its records again; the others are compared field by field. Output
//! is sorted (entities by id, corrections by system, id and field) and does not depend on the
//! order systems or records are given in.
//!
//! Fingerprints only decide which entities may be consistent: records with equal values always
//! have equal fingerprints, and equal fingerprints are confirmed by comparing the records' values
//! (two different records can share a 64-bit fingerprint; they are then compared field by field
//! like any other).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode};
use crate::model::System;
use crate::ownership::{CompiledPolicy, entity_kinds, resolve_stage, values_equal};

/// One system's records of one entity kind.
#[derive(Debug, Clone, Copy)]
pub struct SystemRecords<'a> {
    /// The system.
    pub system: &'a System,
    /// Its records: JSON objects with a text `id` (the system's own id for the record).
    pub records: &'a [Map<String, Value>],
}

/// What [`RecordSource::visit`] calls with each record and its position.
pub type Visitor<'v> = dyn FnMut(usize, &Map<String, Value>) -> Result<(), Error> + 'v;

/// Where one system's records come from, for inputs too large to hold as JSON objects: the
/// records are visited once in order, and only the records of entities that need a field-by-field
/// comparison are asked for again.
pub trait RecordSource {
    /// Calls `f` with each record and its position, in order; stops at the first error.
    fn visit(&self, f: &mut Visitor<'_>) -> Result<(), Error>;
    /// The record at a position [`RecordSource::visit`] gave.
    fn record(&self, index: usize) -> Result<Cow<'_, Map<String, Value>>, Error>;
}

impl<T: RecordSource + ?Sized> RecordSource for &T {
    fn visit(&self, f: &mut Visitor<'_>) -> Result<(), Error> {
        (**self).visit(f)
    }

    fn record(&self, index: usize) -> Result<Cow<'_, Map<String, Value>>, Error> {
        (**self).record(index)
    }
}

impl RecordSource for [Map<String, Value>] {
    fn visit(&self, f: &mut Visitor<'_>) -> Result<(), Error> {
        self.iter().enumerate().try_for_each(|(i, r)| f(i, r))
    }

    fn record(&self, index: usize) -> Result<Cow<'_, Map<String, Value>>, Error> {
        self.get(index)
            .map(Cow::Borrowed)
            .ok_or_else(|| Error::internal("record index out of range"))
    }
}

/// One system and the source of its records.
#[derive(Debug, Clone, Copy)]
pub struct SystemSource<'a, S> {
    /// The system.
    pub system: &'a System,
    /// Its records.
    pub records: S,
}

/// One entity's ids in the systems that know it by another id than its canonical one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CrossRef {
    /// The canonical id.
    pub id: String,
    /// The record's id in each system; a system not listed uses the canonical id.
    pub ids: BTreeMap<System, String>,
}

/// A field whose values disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Mismatch {
    /// The field.
    pub field: String,
    /// The value each system holds (systems without the field are left out).
    #[cfg_attr(
        feature = "schema",
        schemars(with = "BTreeMap<String, serde_json::Value>")
    )]
    pub values: BTreeMap<System, Value>,
    /// The system that owns the field at the entity's stage, if one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<System>,
    /// The owner's value, when the owner holds the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authoritative: Option<Value>,
    /// True when no owner's value settles the disagreement: a person must decide.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_review: bool,
}

/// What is wrong with one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The canonical id.
    pub id: String,
    /// The stage the owners were read at (absent when the systems' stages could not settle it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Systems that do not hold the entity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_in: Vec<System>,
    /// Fields whose values disagree, by field name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<Mismatch>,
}

/// Whether a correction creates a record or changes one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create the record (`value` is the whole record).
    Create,
    /// Set `field` to `value`.
    Update,
}

/// A change one system must make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The system to correct.
    pub system: System,
    /// The canonical id.
    pub id: String,
    /// The record's id in that system.
    pub system_id: String,
    /// Create or update.
    pub action: Action,
    /// The field to set (updates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value to set, or the record to create.
    pub value: Value,
}

/// Counts over the whole run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Entities seen (in any system).
    pub entities: u64,
    /// Entities every system holds with no disagreement.
    pub consistent: u64,
    /// Entities missing from at least one system.
    pub with_missing: u64,
    /// Entities with at least one disagreeing field.
    pub with_mismatches: u64,
    /// Disagreeing fields, over all entities.
    pub mismatched_fields: u64,
    /// Disagreeing fields no owner settles.
    pub needs_review: u64,
    /// Corrections listed.
    pub corrections: u64,
    /// Record fields the entity kind does not define (not compared).
    pub ignored_fields: Vec<String>,
}

/// The result of a reconciliation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The systems compared, sorted.
    pub systems: Vec<System>,
    /// Counts.
    pub summary: Summary,
    /// Entities with something wrong, by id.
    pub findings: Vec<Finding>,
    /// Corrections, by system, id and field.
    pub corrections: Vec<Correction>,
}

/// One record in a system's sorted list. The id is held as its first 16 bytes plus, for longer
/// ids, the rest in the system's tail buffer, so the lists do not borrow the records.
#[derive(Debug, Clone, Copy)]
struct Key {
    /// A hash of the canonical id (the sort key; ties broken by the id itself).
    hash: u64,
    /// The id's first 16 bytes (zero-padded).
    head: [u8; 16],
    /// The id's length in bytes.
    len: u32,
    /// The record's position in its system's list.
    index: u32,
    /// A hash of the record's field values (all but `id`), to skip comparing identical records.
    fingerprint: u64,
    /// Where the id's bytes past the head start in the tail buffer.
    tail: u32,
}

const HEAD: usize = 16;

impl Key {
    fn new(id: &str, index: u32, fingerprint: u64, tails: &mut Vec<u8>) -> Option<Self> {
        let bytes = id.as_bytes();
        let mut head = [0u8; HEAD];
        let n = bytes.len().min(HEAD);
        if let (Some(dst), Some(src)) = (head.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        let tail = u32::try_from(tails.len()).ok()?;
        if let Some(rest) = bytes.get(HEAD..) {
            tails.extend_from_slice(rest);
        }
        Some(Self {
            hash: hash_id(id),
            head,
            len: u32::try_from(bytes.len()).ok()?,
            index,
            fingerprint,
            tail,
        })
    }

    /// The id's bytes past the head.
    fn tail<'t>(&self, tails: &'t [u8]) -> &'t [u8] {
        let start = self.tail as usize;
        let n = (self.len as usize).saturating_sub(HEAD);
        tails.get(start..start + n).unwrap_or_default()
    }

    /// An order on ids (by hash first) that every system's list shares.
    fn id_cmp(&self, tails: &[u8], other: &Self, other_tails: &[u8]) -> std::cmp::Ordering {
        (self.hash, self.len, self.head)
            .cmp(&(other.hash, other.len, other.head))
            .then_with(|| self.tail(tails).cmp(other.tail(other_tails)))
    }

    /// The id, as text.
    fn id(&self, tails: &[u8]) -> Result<String, Error> {
        let n = (self.len as usize).min(HEAD);
        let mut bytes = self.head.get(..n).unwrap_or_default().to_vec();
        bytes.extend_from_slice(self.tail(tails));
        String::from_utf8(bytes).map_err(|_| Error::internal("an id is not text"))
    }
}

/// One system's records, sorted, with the tails of their long ids.
struct Sorted {
    keys: Vec<Key>,
    tails: Vec<u8>,
    /// Each record's compared values, encoded as the fingerprint hashed them (a prefix-free
    /// encoding: equal bytes are equal values), one after the other in record order.
    values: Vec<u8>,
    /// Where each record's encoding ends in `values`, by record index.
    ends: Vec<usize>,
}

impl Sorted {
    /// The encoding of `key`'s record's values.
    fn values_of(&self, key: &Key) -> Option<&[u8]> {
        let i = key.index as usize;
        let start = match i.checked_sub(1) {
            Some(p) => *self.ends.get(p)?,
            None => 0,
        };
        self.values.get(start..*self.ends.get(i)?)
    }
}

/// A fast 64-bit hasher: each 8-byte word is folded in with the SplitMix64 finaliser, a
/// bijective mixer with full avalanche. Deterministic on every platform.
#[derive(Debug, Clone, Copy, Default)]
struct Fp(u64);

impl Fp {
    #[inline]
    fn mix(&mut self, x: u64) {
        let mut z = (self.0 ^ x).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        self.0 = z ^ (z >> 31);
    }
}

#[cfg(test)]
thread_local! {
    /// Tests set this to make every fingerprint the same, as a collision would.
    pub(crate) static COLLIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Hasher for Fp {
    fn finish(&self) -> u64 {
        #[cfg(test)]
        if COLLIDE.with(std::cell::Cell::get) {
            return 0;
        }
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        // The length keeps `ab` + `c` apart from `a` + `bc`.
        self.mix(u64::from_le_bytes(w) ^ ((bytes.len() as u64) << 56));
    }
}

/// The encoding of a record's compared values that its fingerprint hashes: one byte for
/// `write_u8`, a LEB128 number for `write_usize`, the bytes themselves for `write`.
/// [`hash_value`] writes a tag before every value, a length before every array and object and
/// ends every string with 0xff (which UTF-8 never holds), so the encoding is prefix-free: equal
/// bytes are equal values.
/// The fingerprint is one hash of the whole encoding, which is faster than mixing in each
/// small write as it comes.
struct Encoding<'b> {
    out: &'b mut Vec<u8>,
    start: usize,
}

impl Hasher for Encoding<'_> {
    fn finish(&self) -> u64 {
        let mut fp = Fp::default();
        fp.write(self.out.get(self.start..).unwrap_or_default());
        fp.finish()
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.out.push(i);
    }

    /// LEB128: seven bits a byte, the high bit set on every byte but the last (self-delimiting,
    /// and one byte for a field number or a short length).
    #[inline]
    fn write_usize(&mut self, i: usize) {
        let mut x = i as u64;
        while x >= 0x80 {
            self.out.push((x as u8) | 0x80);
            x >>= 7;
        }
        self.out.push(x as u8);
    }
}

fn hash_id(id: &str) -> u64 {
    let mut h = Fp::default();
    h.write(id.as_bytes());
    h.finish()
}

/// Field names with their first 8 bytes and length, for lookups without string comparisons.
struct FieldTable<'a> {
    fields: Vec<(u64, usize, &'a str)>,
}

fn prefix(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    if let (Some(dst), Some(src)) = (w.get_mut(..n), b.get(..n)) {
        dst.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

impl<'a> FieldTable<'a> {
    fn new(fields: &[&'a str]) -> Self {
        Self {
            fields: fields.iter().map(|f| (prefix(f), f.len(), *f)).collect(),
        }
    }

    /// The index of a field, as [`crate::ownership::EntityKind::field_index`] gives it.
    #[inline]
    fn index(&self, key: &str) -> Option<usize> {
        let p = prefix(key);
        let len = key.len();
        self.fields.iter().position(|(fp, fl, f)| {
            *fp == p && *fl == len && (len <= 8 || key.as_bytes().get(8..) == f.as_bytes().get(8..))
        })
    }
}

/// The next entity in the lists' shared order: its key (and its system's tails), with every
/// system that holds it in `held` (position, key); the cursors move past it.
#[inline(always)]
fn next_entity<'s>(
    sorted: &'s [Sorted],
    cursor: &mut [usize],
    held: &mut Vec<(usize, Key)>,
) -> Option<(Key, &'s [u8])> {
    let mut next: Option<(Key, &[u8])> = None;
    for (pos, list) in sorted.iter().enumerate() {
        if let Some(key) = cursor.get(pos).and_then(|c| list.keys.get(*c))
            && next.is_none_or(|(n, nt)| key.id_cmp(&list.tails, &n, nt).is_lt())
        {
            next = Some((*key, &list.tails));
        }
    }
    let (first, first_tails) = next?;
    held.clear();
    for (pos, list) in sorted.iter().enumerate() {
        let Some(c) = cursor.get_mut(pos) else {
            continue;
        };
        if let Some(key) = list.keys.get(*c)
            && key.id_cmp(&list.tails, &first, first_tails).is_eq()
        {
            *c += 1;
            held.push((pos, *key));
        }
    }
    Some((first, first_tails))
}

/// Whether every holder's record has the same values in the compared fields: their encodings
/// (what the fingerprint hashed, kept) are the same bytes.
fn same_values(sorted: &[Sorted], held: &[(usize, Key)]) -> bool {
    let values = |(pos, key): &(usize, Key)| sorted.get(*pos).and_then(|l| l.values_of(key));
    let Some((first, rest)) = held.split_first() else {
        return true;
    };
    let first = values(first);
    first.is_some() && rest.iter().all(|h| values(h) == first)
}

/// Feeds a JSON value to a hasher: equal JSON gives equal hashes.
fn hash_value<H: Hasher>(v: &Value, h: &mut H) {
    match v {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => {
            h.write_u8(1);
            h.write_u8(u8::from(*b));
        }
        Value::Number(n) => {
            h.write_u8(2);
            n.to_string().hash(h);
        }
        Value::String(s) => {
            h.write_u8(3);
            s.hash(h);
        }
        Value::Array(xs) => {
            h.write_u8(4);
            h.write_usize(xs.len());
            for x in xs {
                hash_value(x, h);
            }
        }
        Value::Object(m) => {
            h.write_u8(5);
            h.write_usize(m.len());
            for (k, x) in m {
                k.hash(h);
                hash_value(x, h);
            }
        }
    }
}

fn record_id<'a>(system: &System, i: usize, r: &'a Map<String, Value>) -> Result<&'a str, Error> {
    r.get("id").and_then(Value::as_str).ok_or_else(|| {
        Error::new(
            ErrorCode::ReconcileMissingId,
            format!("record {i} of `{system}` has no text `id`"),
        )
        .at(format!("/records/{system}/{i}/id"))
    })
}

/// Reconciles the records of entity kind `kind` (a catalog index) held by several systems.
///
/// `stage`, when given, is the stage every entity is judged at; otherwise each entity's stage is
/// read from the records (see [`resolve_stage`]).
pub fn reconcile(
    policy: &CompiledPolicy,
    kind: usize,
    stage: Option<usize>,
    systems: &[SystemRecords<'_>],
    cross_refs: &[CrossRef],
) -> Result<Report, Error> {
    let sources: Vec<SystemSource<'_, &[Map<String, Value>]>> = systems
        .iter()
        .map(|s| SystemSource {
            system: s.system,
            records: s.records,
        })
        .collect();
    reconcile_sources(policy, kind, stage, &sources, cross_refs)
}

/// [`reconcile`] over record sources: each system's records are visited once; only the records
/// of entities that are missing somewhere or differ are asked for again.
pub fn reconcile_sources<S: RecordSource>(
    policy: &CompiledPolicy,
    kind: usize,
    stage: Option<usize>,
    systems: &[SystemSource<'_, S>],
    cross_refs: &[CrossRef],
) -> Result<Report, Error> {
    let k = entity_kinds()
        .get(kind)
        .ok_or_else(|| Error::internal("entity kind index out of range"))?;
    let mut systems: Vec<&SystemSource<'_, S>> = systems.iter().collect();
    systems.sort_by(|a, b| a.system.cmp(b.system));
    if let Some(w) = systems
        .windows(2)
        .find(|w| matches!(w, [a, b] if a.system == b.system))
    {
        let name = w.first().map(|s| s.system.as_str()).unwrap_or_default();
        return Err(Error::new(
            ErrorCode::InputDuplicateKey,
            format!("system `{name}` is given twice"),
        )
        .at(format!("/records/{name}")));
    }

    // (system position, local id) -> canonical id
    let mut canonical: BTreeMap<(usize, &str), &str> = BTreeMap::new();
    // (system position, canonical id) -> local id
    let mut local: BTreeMap<(usize, &str), &str> = BTreeMap::new();
    for (i, x) in cross_refs.iter().enumerate() {
        for (sys, lid) in &x.ids {
            let Some(pos) = systems.iter().position(|s| s.system == sys) else {
                continue;
            };
            if let Some(prev) = canonical.insert((pos, lid.as_str()), x.id.as_str())
                && prev != x.id
            {
                return Err(Error::new(
                    ErrorCode::ReconcileCrossRefConflict,
                    format!(
                        "`{sys}` record `{lid}` is cross-referenced to both `{prev}` and `{}`",
                        x.id
                    ),
                )
                .at(format!("/cross_refs/{i}/ids/{sys}")));
            }
            if let Some(prev) = local.insert((pos, x.id.as_str()), lid.as_str())
                && prev != lid
            {
                return Err(Error::new(
                    ErrorCode::ReconcileCrossRefConflict,
                    format!(
                        "entity `{}` has two ids in `{sys}`: `{prev}` and `{lid}`",
                        x.id
                    ),
                )
                .at(format!("/cross_refs/{i}/ids/{sys}")));
            }
        }
    }

    let nsys = systems.len();
    let nfields = k.fields.len();
    let id_field = k.field_index("id");
    let mut ignored: BTreeSet<String> = BTreeSet::new();
    let table = FieldTable::new(&k.fields);

    // One pass over each system's records, in the order given: each record's canonical id, a hash
    // of it, and a fingerprint of its field values. Sorted by (id hash, id) so that every system
    // lists a given entity at the same place in one order.
    let mut sorted: Vec<Sorted> = Vec::with_capacity(nsys);
    for (pos, s) in systems.iter().enumerate() {
        let mut keys: Vec<Key> = Vec::new();
        let mut tails: Vec<u8> = Vec::new();
        let mut values: Vec<u8> = Vec::new();
        let mut ends: Vec<usize> = Vec::new();
        s.records.visit(&mut |i, r| {
            let start = values.len();
            let mut fp = Encoding {
                out: &mut values,
                start,
            };
            let mut lid: Option<&str> = None;
            for (key, v) in r {
                match table.index(key) {
                    Some(fi) if Some(fi) == id_field => lid = v.as_str(),
                    Some(fi) => {
                        fp.write_usize(fi);
                        hash_value(v, &mut fp);
                    }
                    None => {
                        if !ignored.contains(key.as_str()) {
                            ignored.insert(key.clone());
                        }
                    }
                }
            }
            let lid = match lid {
                Some(id) => id,
                None => record_id(s.system, i, r)?,
            };
            let cid = if canonical.is_empty() {
                lid
            } else {
                canonical.get(&(pos, lid)).copied().unwrap_or(lid)
            };
            let fingerprint = fp.finish();
            if ends.len() != i {
                return Err(Error::internal("a record source visited out of order"));
            }
            ends.push(values.len());
            let key = u32::try_from(i)
                .ok()
                .and_then(|idx| Key::new(cid, idx, fingerprint, &mut tails))
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::InputLimitExceeded,
                        format!("`{}` holds too many records or too long ids", s.system),
                    )
                    .at(format!("/records/{}/{i}", s.system))
                })?;
            keys.push(key);
            Ok(())
        })?;
        keys.sort_unstable_by(|a, b| a.id_cmp(&tails, b, &tails).then(a.index.cmp(&b.index)));
        // The smallest duplicated id, so the error does not depend on the hash.
        let mut duplicate: Option<(String, u32)> = None;
        for w in keys.windows(2) {
            if let [a, b] = w
                && a.id_cmp(&tails, b, &tails).is_eq()
            {
                let id = b.id(&tails)?;
                if duplicate
                    .as_ref()
                    .is_none_or(|d| (&id, b.index) < (&d.0, d.1))
                {
                    duplicate = Some((id, b.index));
                }
            }
        }
        if let Some((id, i)) = duplicate {
            return Err(Error::new(
                ErrorCode::ReconcileDuplicateRecord,
                format!("`{}` holds entity `{id}` twice", s.system),
            )
            .at(format!("/records/{}/{i}", s.system)));
        }
        sorted.push(Sorted {
            keys,
            tails,
            values,
            ends,
        });
    }

    let policy_sys: Vec<Option<u16>> = systems
        .iter()
        .map(|s| policy.system_index(s.system.as_str()))
        .collect();
    let kinds: Vec<_> = k.fields.iter().map(|f| k.field_kind(f)).collect();
    let ci: Vec<bool> = (0..nfields)
        .map(|f| policy.case_insensitive(kind, f))
        .collect();

    let mut report = Report {
        systems: systems.iter().map(|s| s.system.clone()).collect(),
        ..Report::default()
    };
    let mut cursor = vec![0usize; nsys];
    let mut held_keys: Vec<(usize, Key)> = Vec::with_capacity(nsys);
    let same_fingerprint = |held: &[(usize, Key)]| {
        held.len() == nsys
            && held
                .windows(2)
                .all(|w| matches!(w, [(_, a), (_, b)] if a.fingerprint == b.fingerprint))
    };

    while let Some((first, first_tails)) = next_entity(&sorted, &mut cursor, &mut held_keys) {
        report.summary.entities += 1;
        // Fast path: every system holds the entity with the same values: equal fingerprints,
        // confirmed by the values' encodings (a 64-bit fingerprint can collide).
        if same_fingerprint(&held_keys) && same_values(&sorted, &held_keys) {
            report.summary.consistent += 1;
            continue;
        }
        let id = first.id(first_tails)?;
        let id = id.as_str();
        let mut holders: Vec<(usize, Cow<'_, Map<String, Value>>)> =
            Vec::with_capacity(held_keys.len());
        for (pos, key) in &held_keys {
            if let Some(s) = systems.get(*pos) {
                holders.push((*pos, s.records.record(key.index as usize)?));
            }
        }

        // Field values per holder.
        let mut values: Vec<Option<&Value>> = vec![None; holders.len() * nfields];
        for (h, (_, r)) in holders.iter().enumerate() {
            let row = h * nfields;
            for (key, v) in r.iter() {
                if let Some(slot) = table.index(key).and_then(|fi| values.get_mut(row + fi)) {
                    *slot = Some(v);
                }
            }
        }

        let entity_stage = match stage {
            Some(s) => Some(s),
            None => {
                let stage_holders: Vec<(Option<u16>, &Map<String, Value>)> = holders
                    .iter()
                    .map(|(pos, r)| (policy_sys.get(*pos).copied().flatten(), r.as_ref()))
                    .collect();
                resolve_stage(policy, kind, &stage_holders)
            }
        };

        let mut mismatches: Vec<Mismatch> = Vec::new();
        let complete = holders.len() == nsys;
        // The authoritative value of each field, needed only to create missing records.
        let mut create: Option<Map<String, Value>> = (!complete).then(Map::new);
        for fi in 0..nfields {
            if Some(fi) == id_field {
                continue;
            }
            let kind_f = kinds
                .get(fi)
                .copied()
                .unwrap_or(crate::ownership::FieldKind::Exact);
            let ci_f = ci.get(fi).copied().unwrap_or(false);
            let mut first: Option<&Value> = None;
            let mut agree = true;
            for h in 0..holders.len() {
                if let Some(v) = values.get(h * nfields + fi).copied().flatten() {
                    match first {
                        None => first = Some(v),
                        Some(f) => {
                            if agree && !values_equal(kind_f, ci_f, f, v) {
                                agree = false;
                            }
                        }
                    }
                }
            }
            if first.is_none() {
                continue;
            }
            if agree && create.is_none() {
                continue;
            }
            let owner = policy.owner(kind, entity_stage, fi);
            let owner_value: Option<&Value> = owner.and_then(|o| {
                holders.iter().enumerate().find_map(|(h, (pos, _))| {
                    (policy_sys.get(*pos).copied().flatten() == Some(o))
                        .then(|| values.get(h * nfields + fi).copied().flatten())
                        .flatten()
                })
            });
            let field = k.fields.get(fi).copied().unwrap_or_default();
            if let (Some(c), Some(v)) = (create.as_mut(), owner_value) {
                c.insert(field.to_owned(), v.clone());
            }
            if agree {
                continue;
            }
            let mut held: BTreeMap<System, Value> = BTreeMap::new();
            for (h, (pos, _)) in holders.iter().enumerate() {
                if let (Some(v), Some(s)) = (
                    values.get(h * nfields + fi).copied().flatten(),
                    systems.get(*pos),
                ) {
                    held.insert(s.system.clone(), v.clone());
                }
            }
            if let Some(auth) = owner_value {
                for (h, (pos, r)) in holders.iter().enumerate() {
                    if let (Some(v), Some(s)) = (
                        values.get(h * nfields + fi).copied().flatten(),
                        systems.get(*pos),
                    ) && !values_equal(kind_f, ci_f, auth, v)
                    {
                        report.corrections.push(Correction {
                            system: s.system.clone(),
                            id: id.to_owned(),
                            system_id: r.get("id").and_then(Value::as_str).unwrap_or(id).to_owned(),
                            action: Action::Update,
                            field: Some(field.to_owned()),
                            value: auth.clone(),
                        });
                    }
                }
            } else {
                report.summary.needs_review += 1;
            }
            mismatches.push(Mismatch {
                field: field.to_owned(),
                values: held,
                owner: owner.and_then(|o| policy.system(o)).cloned(),
                authoritative: owner_value.cloned(),
                needs_review: owner_value.is_none(),
            });
        }

        let mut missing_in: Vec<System> = Vec::new();
        if let Some(record) = create {
            for (pos, s) in systems.iter().enumerate() {
                if holders.iter().any(|(p, _)| *p == pos) {
                    continue;
                }
                missing_in.push(s.system.clone());
                let system_id = local.get(&(pos, id)).copied().unwrap_or(id);
                let mut value = record.clone();
                value.insert("id".to_owned(), Value::String(system_id.to_owned()));
                report.corrections.push(Correction {
                    system: s.system.clone(),
                    id: id.to_owned(),
                    system_id: system_id.to_owned(),
                    action: Action::Create,
                    field: None,
                    value: Value::Object(value),
                });
            }
        }

        if missing_in.is_empty() && mismatches.is_empty() {
            report.summary.consistent += 1;
            continue;
        }
        if !missing_in.is_empty() {
            report.summary.with_missing += 1;
        }
        if !mismatches.is_empty() {
            report.summary.with_mismatches += 1;
            report.summary.mismatched_fields += mismatches.len() as u64;
        }
        report.findings.push(Finding {
            id: id.to_owned(),
            stage: entity_stage
                .and_then(|s| k.stages.get(s))
                .map(|s| (*s).to_owned()),
            missing_in,
            mismatches,
        });
    }

    report.findings.sort_by(|a, b| a.id.cmp(&b.id));
    report.corrections.sort_by(|a, b| {
        (&a.system, &a.id, a.action, &a.field).cmp(&(&b.system, &b.id, b.action, &b.field))
    });
    report.summary.corrections = report.corrections.len() as u64;
    report.summary.ignored_fields = ignored.into_iter().collect();
    Ok(report)
}

#[cfg(test)]
mod tests;
