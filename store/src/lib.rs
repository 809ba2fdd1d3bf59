//! A durable home for billwise engines: one engine per contract, kept in SQLite (a file, the
//! embedded default) or PostgreSQL (for many workers and machines).
//!
//! The core's [`Engine`] is pure: it holds one contract's world in memory and its state is a
//! snapshot the caller keeps. The store keeps it for them, per contract: the envelope log (every
//! envelope received, with its batch and outcome), snapshots taken every
//! [`Store::snapshot_every`] envelopes, the audit chain (one row per applied event) and the
//! exception queue (one row per refused envelope, `open`, `retried` or `resolved`).
//!
//! [`Store::apply`] runs in one database transaction: it locks the contract's row, rebuilds the
//! engine from its latest snapshot and the log after it (or takes it from this process's cache
//! when the database is still at the version the cache holds), applies the envelopes, and writes
//! the log, the audit entries, the applied keys, the exceptions and the new head together. Two
//! workers applying to one contract queue on its row lock, so an envelope is applied once however
//! many workers receive it, and a process that dies mid-batch leaves the database as it was before
//! the batch. `spec/domain/store.md` states the guarantees.
//!
//! ```
//! use billwise_store::{ApplyOptions, Store};
//!
//! let mut store = Store::open("sqlite://").unwrap(); // in memory; "sqlite:///billing.db" for a file
//! let envelope = serde_json::from_str(r#"{
//!   "idempotency_key": "psa-1", "correlation_id": "week-2", "source": "psa",
//!   "occurred_at": "2026-01-12T17:00:00Z",
//!   "event": {"type": "time_entry.recorded", "time_entry": {
//!     "id": "TE-1", "project_id": "PRJ-1", "task_id": "T-1", "resource_id": "R-1",
//!     "role": "Developer", "work_date": "2026-01-12", "hours": "8", "status": "submitted"}}
//! }"#).unwrap();
//! let applied = store.apply("MSA-1", &[envelope], &ApplyOptions::default()).unwrap();
//! assert_eq!(applied.version, 1);
//! assert!(store.verify("MSA-1").unwrap().valid);
//! ```

mod clock;
mod db;
pub mod schema;

use std::collections::BTreeMap;

use billwise_core::engine::audit::{self, AuditEntry, Sha256Digest};
use billwise_core::engine::{Engine, Envelope, ExceptionEntry, Outcome, OutcomeStatus};
use billwise_core::json::{self, Limits};
use billwise_core::model::{Id, OwnershipPolicy};
use billwise_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::db::{Db, V};

/// How many envelopes may be logged after a contract's latest snapshot before the next one is
/// taken: rebuilding an engine replays at most this many (10,000 replay in about 25 ms). A
/// snapshot holds the whole engine, so taking one costs the contract's size: every 1,000
/// envelopes, writing snapshots was most of the work of a large contract's batches
/// (`benches/PERFORMANCE.md`).
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 10_000;

/// How many contracts' engines one [`Store`] keeps in memory between calls.
const CACHED_ENGINES: usize = 64;

/// The limits the store reads its own rows with. What it wrote was checked on the way in (every
/// envelope against [`Limits::DEFAULT`]), and a snapshot holds a contract's whole history: a
/// large contract's snapshot is far past the limits of one request, and must still read back.
const OWN_ROWS: Limits = Limits {
    max_bytes: usize::MAX,
    max_depth: 128,
    max_items: usize::MAX,
    max_string_bytes: usize::MAX,
};

/// Options of [`Store::apply`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyOptions {
    /// Apply all the envelopes or none (the engine's atomic batch).
    #[serde(default)]
    pub atomic: bool,
    /// For a contract the store does not hold yet: the ownership policy its engine enforces. For
    /// one it holds: when given, it must be the policy the contract was created with.
    #[serde(default)]
    pub ownership_policy: Option<OwnershipPolicy>,
}

/// What [`Store::apply`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// The contract.
    pub contract_id: String,
    /// The engine's version after the batch.
    pub version: u64,
    /// One outcome per envelope, in order (as [`Engine::apply_batch`] gives them).
    pub outcomes: Vec<Outcome>,
}

/// Where an exception stands in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionStatus {
    /// Refused once, waiting.
    Open,
    /// Refused more than once (sent again by its sender or retried here), still waiting.
    Retried,
    /// The envelope (or a corrected document) was applied later, or a person resolved it with a note.
    Resolved,
}

impl ExceptionStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Retried => "retried",
            Self::Resolved => "resolved",
        }
    }
    fn find(s: &str) -> Option<ExceptionStatus> {
        [Self::Open, Self::Retried, Self::Resolved]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// A status as a caller writes it (`open`, `retried`, `resolved`): the one reading the CLI
    /// and the bindings share.
    pub fn parse(s: &str) -> Result<ExceptionStatus, Error> {
        Self::find(s).ok_or_else(|| {
            Error::new(
                ErrorCode::InputInvalidValue,
                format!("`{s}` is not an exception status: use open, retried or resolved"),
            )
            .at("/status")
        })
    }
}

/// One refused envelope, as the store holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredException {
    /// The contract.
    pub contract_id: String,
    /// Its position in the contract's exception queue (1 for the first).
    pub sequence: u64,
    /// `open`, `retried` or `resolved`.
    pub status: ExceptionStatus,
    /// The envelope's idempotency key, correlation id, source and event type.
    pub idempotency_key: String,
    pub correlation_id: String,
    pub source: String,
    pub event_type: String,
    /// The latest rejection's code and message.
    pub code: String,
    pub message: String,
    /// How many times it was refused.
    pub attempts: u64,
    /// The engine version when it was last refused.
    pub rejected_at_version: u64,
    /// The version that applied it, when it was applied later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by_version: Option<u64>,
    /// The note of the person who resolved it by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the store first and last saw it refused (UTC, from the store's clock).
    pub first_seen_at: String,
    pub last_seen_at: String,
    /// The engine's exception entry: the envelope as received, the problems of an invalid document.
    pub entry: ExceptionEntry,
}

/// Which exceptions [`Store::exceptions`] lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionFilter {
    /// Only this contract's.
    #[serde(default)]
    pub contract_id: Option<String>,
    /// Only those with this status; by default those not resolved (open and retried).
    #[serde(default)]
    pub status: Option<ExceptionStatus>,
    /// Only those with this reason code.
    #[serde(default)]
    pub code: Option<String>,
    /// Only those from this source system.
    #[serde(default)]
    pub source: Option<String>,
    /// Only those first seen before this time (`YYYY-MM-DDTHH:MM:SSZ`): the old ones.
    #[serde(default)]
    pub seen_before: Option<String>,
}

/// One envelope of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    pub contract_id: String,
    /// Its position in the contract's log.
    pub seq: u64,
    pub received_at: String,
    pub idempotency_key: String,
    pub source: String,
    pub event_type: String,
    /// `applied`, `duplicate` or `rejected`.
    pub status: String,
    /// The version it produced (applied, duplicate) or found (rejected).
    pub version: u64,
    /// The rejection's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Everything the store holds of one correlation id, across contracts and source systems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub correlation_id: String,
    /// Every envelope received with it, in the order received.
    pub steps: Vec<TraceStep>,
    /// Its exceptions not resolved: where it is stuck.
    pub stuck: Vec<StoredException>,
}

/// A contract rebuilt from its log, compared with the state the store holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayReport {
    pub contract_id: String,
    /// How many envelopes the log holds (all replayed, in their batches).
    pub envelopes: u64,
    /// The version the replay reached, and the stored one.
    pub replayed_version: u64,
    pub stored_version: u64,
    /// Whether the replayed engine's snapshot is byte for byte the stored engine's.
    pub matches: bool,
    /// SHA-256 of each snapshot.
    pub replayed_sha256: String,
    pub stored_sha256: String,
}

/// What [`Store::verify`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub contract_id: String,
    /// True when every check passed.
    pub valid: bool,
    pub version: u64,
    /// How many audit entries were read from the database and checked.
    pub audit_entries: u64,
    /// Each failed check, as a sentence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One contract's row: where its engine stands.
#[derive(Debug, Clone)]
struct Head {
    version: u64,
    log_seq: u64,
    batches: u64,
    snapshot_seq: u64,
    audit_head: String,
    policy: Option<String>,
    /// How many actions the contract's action log holds, and the last one's hash.
    actions: u64,
    actions_head: String,
}

/// A store of engines, one per contract, in a database: see the crate docs.
pub struct Store {
    db: Db,
    /// Where to connect again when PostgreSQL drops the connection (a server restart).
    url: String,
    snapshot_every: u64,
    /// Engines by contract, each with the log position it is at and when it was last used. An
    /// entry is used only while the database's head is still at that position (another worker
    /// may have applied since).
    cache: BTreeMap<String, (u64, Engine, u64)>,
    /// Counts uses of the cache, to evict the engine used least recently.
    uses: u64,
    /// Whether the transaction under way writes (and so locks the rows it reads).
    writing: bool,
}

fn u(i: u64) -> V {
    V::int(i64::try_from(i).unwrap_or(i64::MAX))
}

fn get_u(row: &[V], i: usize) -> u64 {
    row.get(i)
        .and_then(V::as_i64)
        .and_then(|x| u64::try_from(x).ok())
        .unwrap_or(0)
}

fn get_t(row: &[V], i: usize) -> String {
    row.get(i)
        .and_then(V::as_text)
        .unwrap_or_default()
        .to_owned()
}

fn get_ot(row: &[V], i: usize) -> Option<String> {
    row.get(i).and_then(V::as_text).map(str::to_owned)
}

fn corrupt(msg: String) -> Error {
    Error::new(ErrorCode::StoreCorrupt, msg)
}

fn not_found(msg: String) -> Error {
    Error::new(ErrorCode::StoreNotFound, msg)
}

fn contract_id(id: &str) -> Result<Id, Error> {
    Id::new(id).map_err(|e| e.at("/contract_id"))
}

/// The audit head of an engine with no events.
fn genesis() -> String {
    Sha256Digest::GENESIS.to_hex()
}

/// Reads the store URL: `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite://` (memory),
/// `postgresql://...` or `postgres://...`.
fn connect(url: &str) -> Result<Db, Error> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        return match rest {
            "" | "/:memory:" => Db::sqlite(None),
            _ => match rest.strip_prefix('/') {
                Some(path) if !path.is_empty() => Db::sqlite(Some(path)),
                _ => Err(bad_url(url)),
            },
        };
    }
    if url.starts_with("postgresql://") || url.starts_with("postgres://") {
        return Db::postgres(url);
    }
    Err(bad_url(url))
}

fn bad_url(url: &str) -> Error {
    // The URL may carry a password: show only its scheme.
    let scheme: String = url.chars().take_while(|c| *c != ':').take(20).collect();
    Error::new(
        ErrorCode::StoreInvalidUrl,
        format!(
            "`{scheme}:...` is not a store URL: use sqlite:///PATH (relative), sqlite:////PATH (absolute), sqlite:// (in memory) or postgresql://USER@HOST:PORT/DB"
        ),
    )
    .at("/url")
}

impl Store {
    /// Opens the store at `url`, creating its tables or running the migrations it lacks.
    pub fn open(url: &str) -> Result<Store, Error> {
        let mut db = connect(url)?;
        schema::migrate(&mut db, &clock::now())?;
        Ok(Store {
            db,
            url: url.to_owned(),
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            cache: BTreeMap::new(),
            uses: 0,
            writing: false,
        })
    }

    /// Takes a snapshot whenever `n` envelopes were logged after the latest one (at least 1).
    pub fn snapshot_every(mut self, n: u64) -> Store {
        self.snapshot_every = n.max(1);
        self
    }

    /// The ids of the contracts the store holds, sorted.
    pub fn contracts(&mut self) -> Result<Vec<String>, Error> {
        let rows = self.db.query(
            "SELECT contract_id FROM billwise_contracts ORDER BY contract_id",
            &[],
        )?;
        Ok(rows.iter().map(|r| get_t(r, 0)).collect())
    }

    /// Applies `envelopes` to the contract's engine (created on the first apply) in one
    /// transaction: see the crate docs.
    pub fn apply(
        &mut self,
        contract: &str,
        envelopes: &[Envelope],
        options: &ApplyOptions,
    ) -> Result<Applied, Error> {
        let id = contract_id(contract)?;
        let policy = options
            .ownership_policy
            .as_ref()
            .map(json::to_canonical_string)
            .transpose()?;
        // An envelope built in code (not read from JSON with the limits) could be larger than any
        // request may be; it would then be stored but refused by every later read of the log.
        let mut texts = Vec::with_capacity(envelopes.len());
        for (i, env) in envelopes.iter().enumerate() {
            let text = json::to_canonical_string(env)?;
            json::check_limits(text.as_bytes(), &Limits::DEFAULT)
                .map_err(|e| e.under(&format!("/envelopes/{i}")))?;
            texts.push(text);
        }
        self.in_transaction(id.as_str(), true, |s| {
            s.apply_locked(
                id.as_str(),
                envelopes,
                &texts,
                options.atomic,
                policy.as_deref(),
            )
        })
    }

    /// Runs `f` in a transaction (one that writes and locks, or one that only reads); the
    /// contract's cached engine is dropped unless it commits, since `f` may have changed it.
    ///
    /// When PostgreSQL drops the connection (a restart, a failover), the store connects again
    /// and runs `f` once more. That is safe even if the lost connection had committed: what `f`
    /// applied comes back as duplicates.
    fn in_transaction<T>(
        &mut self,
        contract: &str,
        write: bool,
        mut f: impl FnMut(&mut Store) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match self.transaction_once(contract, write, &mut f) {
            Err(e) if e.code == ErrorCode::StoreUnavailable && self.db.is_closed() => {
                let mut db = connect(&self.url)?;
                schema::migrate(&mut db, &clock::now())?;
                self.db = db;
                self.cache.clear();
                self.transaction_once(contract, write, &mut f)
            }
            r => r,
        }
    }

    fn transaction_once<T>(
        &mut self,
        contract: &str,
        write: bool,
        f: &mut impl FnMut(&mut Store) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if write {
            self.db.begin()?;
        } else {
            self.db.begin_read()?;
        }
        self.writing = write;
        // A newer build may have migrated the database since this store opened it: its rules
        // are not this build's to write by.
        let r = schema::check(&mut self.db).and_then(|()| f(self));
        self.writing = false;
        match r {
            Ok(x) => match self.db.commit() {
                Ok(()) => Ok(x),
                Err(e) => {
                    self.cache.remove(contract);
                    self.db.rollback();
                    Err(e)
                }
            },
            Err(e) => {
                self.cache.remove(contract);
                self.db.rollback();
                Err(e)
            }
        }
    }

    /// Reads (and, in PostgreSQL, locks) a contract's row.
    fn head(&mut self, contract: &str) -> Result<Option<Head>, Error> {
        let sql = format!(
            "SELECT version, log_seq, batches, snapshot_seq, audit_head, ownership_policy, actions, actions_head FROM billwise_contracts WHERE contract_id = ?{}",
            if self.writing {
                self.db.for_update()
            } else {
                ""
            }
        );
        let rows = self.db.query(&sql, &[V::text(contract)])?;
        Ok(rows.first().map(|r| Head {
            version: get_u(r, 0),
            log_seq: get_u(r, 1),
            batches: get_u(r, 2),
            snapshot_seq: get_u(r, 3),
            audit_head: get_t(r, 4),
            policy: get_ot(r, 5),
            actions: get_u(r, 6),
            actions_head: get_t(r, 7),
        }))
    }

    fn existing_head(&mut self, contract: &str) -> Result<Head, Error> {
        self.head(contract)?.ok_or_else(|| {
            not_found(format!("the store holds no contract `{contract}`")).at("/contract_id")
        })
    }

    fn apply_locked(
        &mut self,
        contract: &str,
        envelopes: &[Envelope],
        texts: &[String],
        atomic: bool,
        policy: Option<&str>,
    ) -> Result<Applied, Error> {
        let now = clock::now();
        let head = match self.head(contract)? {
            Some(h) => h,
            None => {
                // A new contract. Two workers creating it at once: the second waits on the
                // primary key until the first commits, then inserts nothing and reads its row
                // (whose policy is then checked as any existing contract's).
                self.db.exec(
                    "INSERT INTO billwise_contracts (contract_id, version, log_seq, batches, snapshot_seq, audit_head, ownership_policy, actions, actions_head, created_at, updated_at) VALUES (?, 0, 0, 0, 0, ?, ?, 0, ?, ?, ?) ON CONFLICT (contract_id) DO NOTHING",
                    &[V::text(contract), V::text(genesis()), V::T(policy.map(str::to_owned)), V::text(genesis()), V::text(&now), V::text(&now)],
                )?;
                self.existing_head(contract)?
            }
        };
        if policy.is_some() && policy != head.policy.as_deref() {
            return Err(Error::new(
                ErrorCode::StorePolicyMismatch,
                format!(
                    "contract `{contract}` was created with {} ownership policy; apply without one, or with the same",
                    if head.policy.is_some() { "another" } else { "no" }
                ),
            )
            .at("/ownership_policy"));
        }
        let mut engine = self.engine_at(contract, &head)?;
        let before: Vec<(u32, Option<u64>)> = engine
            .exceptions()
            .iter()
            .map(|e| (e.attempts, e.resolved_by_version))
            .collect();
        let audit_before = engine.audit().len();
        let outcomes = engine.apply_batch(envelopes, atomic)?;

        let batch = head.batches.saturating_add(1);
        let mut log = Vec::with_capacity(envelopes.len());
        let mut processed = Vec::new();
        for (i, ((env, o), text)) in envelopes.iter().zip(&outcomes).zip(texts).enumerate() {
            let seq = head.log_seq.saturating_add(1).saturating_add(i as u64);
            log.push(vec![
                V::text(contract),
                u(seq),
                u(batch),
                V::int(i64::from(atomic)),
                V::text(env.idempotency_key.as_str()),
                V::text(env.correlation_id.as_str()),
                V::text(env.source.as_str()),
                V::text(env.event.type_name()),
                V::text(o.status.as_str()),
                u(o.version),
                V::T(o.rejection.as_ref().map(|r| r.code.as_str().to_owned())),
                V::text(text),
                V::text(&now),
            ]);
            if o.status == OutcomeStatus::Applied {
                processed.push(vec![
                    V::text(contract),
                    V::text(env.idempotency_key.as_str()),
                    V::text(billwise_core::engine::fingerprint(env)?.to_hex()),
                    u(o.version),
                ]);
            }
        }
        let log_seq = head.log_seq.saturating_add(envelopes.len() as u64);
        self.db.insert(
            "billwise_envelopes",
            &[
                "contract_id",
                "seq",
                "batch",
                "atomic",
                "idempotency_key",
                "correlation_id",
                "source",
                "event_type",
                "status",
                "version",
                "reason",
                "envelope",
                "received_at",
            ],
            log,
        )?;
        // The primary key (contract, idempotency key) is the database's own guarantee that a key
        // is applied once: a second insert fails the transaction.
        self.db.insert(
            "billwise_processed",
            &["contract_id", "idempotency_key", "fingerprint", "version"],
            processed,
        )?;
        let mut audit_rows = Vec::new();
        for e in engine.audit().get(audit_before..).unwrap_or_default() {
            audit_rows.push(vec![
                V::text(contract),
                u(e.version),
                V::text(e.hash.to_hex()),
                V::text(json::to_canonical_string(e)?),
            ]);
        }
        self.db.insert(
            "billwise_audit",
            &["contract_id", "version", "hash", "entry"],
            audit_rows,
        )?;
        self.sync_exceptions(contract, &engine, &before, &now)?;

        let mut snapshot_seq = head.snapshot_seq;
        if log_seq.saturating_sub(head.snapshot_seq) >= self.snapshot_every {
            self.db.exec(
                "INSERT INTO billwise_snapshots (contract_id, log_seq, version, snapshot, taken_at) VALUES (?, ?, ?, ?, ?)",
                &[V::text(contract), u(log_seq), u(engine.version()), V::text(engine.snapshot()?), V::text(&now)],
            )?;
            // The two latest snapshots are kept; the log holds everything before them.
            self.db.exec(
                "DELETE FROM billwise_snapshots WHERE contract_id = ? AND log_seq < ?",
                &[V::text(contract), u(head.snapshot_seq)],
            )?;
            snapshot_seq = log_seq;
        }
        let audit_head = engine
            .audit()
            .last()
            .map_or_else(genesis, |e| e.hash.to_hex());
        self.db.exec(
            "UPDATE billwise_contracts SET version = ?, log_seq = ?, batches = ?, snapshot_seq = ?, audit_head = ?, updated_at = ? WHERE contract_id = ?",
            &[u(engine.version()), u(log_seq), u(batch), u(snapshot_seq), V::text(audit_head), V::text(&now), V::text(contract)],
        )?;
        let version = engine.version();
        self.keep(contract, log_seq, engine);
        Ok(Applied {
            contract_id: contract.to_owned(),
            version,
            outcomes,
        })
    }

    /// The engine as this store's last call on `contract` left it (`None` when it is not kept in
    /// memory): for reading what an [`Store::apply`] just did without another transaction. It
    /// may be behind the database when other workers have applied since.
    pub fn cached_engine(&self, contract: &str) -> Option<&Engine> {
        self.cache.get(contract).map(|(_, e, _)| e)
    }

    fn keep(&mut self, contract: &str, log_seq: u64, engine: Engine) {
        if self.cache.len() >= CACHED_ENGINES && !self.cache.contains_key(contract) {
            let oldest = self
                .cache
                .iter()
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.cache.remove(&k);
            }
        }
        self.uses = self.uses.saturating_add(1);
        self.cache
            .insert(contract.to_owned(), (log_seq, engine, self.uses));
    }

    /// The contract's engine at `head`: the cached one when it is still at the head's log
    /// position, or the latest snapshot with the log after it replayed in its batches.
    fn engine_at(&mut self, contract: &str, head: &Head) -> Result<Engine, Error> {
        // The cached engine is the committed state at its log position: when other workers
        // have applied since, replaying what they logged after it brings it to the head, which
        // costs their envelopes rather than a restore of the whole snapshot.
        // Only from the latest snapshot on: a cache older than that would replay more than a
        // rebuild from the snapshot does, with the contract locked all the while.
        if let Some((seq, mut engine, _)) = self.cache.remove(contract)
            && seq <= head.log_seq
            && seq >= head.snapshot_seq
        {
            self.replay_log(contract, seq, head.log_seq, &mut engine)?;
            return self.at_head(contract, head, engine);
        }
        let rows = self.db.query(
            "SELECT log_seq, snapshot FROM billwise_snapshots WHERE contract_id = ? ORDER BY log_seq DESC LIMIT 1",
            &[V::text(contract)],
        )?;
        let (from, mut engine) = match rows.first() {
            Some(r) => {
                let mut engine = Engine::new();
                engine
                    .restore(get_t(r, 1).as_bytes(), &OWN_ROWS)
                    .map_err(|e| {
                        corrupt(format!(
                            "the snapshot of contract `{contract}` at log position {} cannot be restored: {}",
                            get_u(r, 0),
                            e.message
                        ))
                    })?;
                (get_u(r, 0), engine)
            }
            None => (0, self.new_engine(contract, head)?),
        };
        self.replay_log(contract, from, head.log_seq, &mut engine)?;
        self.at_head(contract, head, engine)
    }

    /// `engine`, once checked to be at the head's version and audit hash.
    fn at_head(&self, contract: &str, head: &Head, engine: Engine) -> Result<Engine, Error> {
        let audit_head = engine
            .audit()
            .last()
            .map_or_else(genesis, |e| e.hash.to_hex());
        if engine.version() != head.version || audit_head != head.audit_head {
            return Err(corrupt(format!(
                "contract `{contract}`: its log rebuilds version {} (audit hash {audit_head}) but its row says version {} ({})",
                engine.version(),
                head.version,
                head.audit_head
            )));
        }
        Ok(engine)
    }

    fn new_engine(&self, contract: &str, head: &Head) -> Result<Engine, Error> {
        match &head.policy {
            None => Ok(Engine::new()),
            Some(p) => {
                let policy: OwnershipPolicy = json::from_str(p, &OWN_ROWS).map_err(|e| {
                    corrupt(format!(
                        "the ownership policy of contract `{contract}` cannot be read: {}",
                        e.message
                    ))
                })?;
                Engine::with_ownership_policy(policy)
            }
        }
    }

    /// Applies the logged envelopes after position `from` (up to `to`) in their batches, and
    /// checks each gets the outcome it got when it was received.
    fn replay_log(
        &mut self,
        contract: &str,
        from: u64,
        to: u64,
        engine: &mut Engine,
    ) -> Result<u64, Error> {
        let rows = self.db.query(
            "SELECT seq, batch, atomic, status, envelope FROM billwise_envelopes WHERE contract_id = ? AND seq > ? AND seq <= ? ORDER BY seq",
            &[V::text(contract), u(from), u(to)],
        )?;
        let mut expected = from;
        let mut i = 0;
        while i < rows.len() {
            let batch = rows.get(i).map_or(0, |r| get_u(r, 1));
            let atomic = rows.get(i).is_some_and(|r| get_u(r, 2) == 1);
            let mut envelopes = Vec::new();
            let mut statuses = Vec::new();
            while let Some(r) = rows.get(i).filter(|r| get_u(r, 1) == batch) {
                expected = expected.saturating_add(1);
                if get_u(r, 0) != expected {
                    return Err(corrupt(format!(
                        "contract `{contract}`: its log skips from position {} to {}",
                        expected.saturating_sub(1),
                        get_u(r, 0)
                    )));
                }
                let env: Envelope = json::from_str(&get_t(r, 4), &OWN_ROWS).map_err(|e| {
                    corrupt(format!(
                        "contract `{contract}`: the envelope at log position {} cannot be read: {}",
                        get_u(r, 0),
                        e.message
                    ))
                })?;
                envelopes.push(env);
                statuses.push(get_t(r, 3));
                i += 1;
            }
            let outcomes = engine.apply_batch(&envelopes, atomic).map_err(|e| {
                corrupt(format!(
                    "contract `{contract}`: batch {batch} of its log no longer applies: {}",
                    e.message
                ))
            })?;
            for (o, status) in outcomes.iter().zip(&statuses) {
                if o.status.as_str() != status {
                    return Err(corrupt(format!(
                        "contract `{contract}`: envelope `{}` of batch {batch} was {status} when received but is {} on replay",
                        o.idempotency_key,
                        o.status.as_str()
                    )));
                }
            }
        }
        if expected != to {
            return Err(corrupt(format!(
                "contract `{contract}`: its log ends at position {expected}, its row says {to}"
            )));
        }
        Ok(expected.saturating_sub(from))
    }

    /// Writes the exceptions the batch added or changed.
    fn sync_exceptions(
        &mut self,
        contract: &str,
        engine: &Engine,
        before: &[(u32, Option<u64>)],
        now: &str,
    ) -> Result<(), Error> {
        let mut new = Vec::new();
        for (i, e) in engine.exceptions().iter().enumerate() {
            let status = if e.resolved_by_version.is_some() {
                ExceptionStatus::Resolved
            } else if e.attempts > 1 {
                ExceptionStatus::Retried
            } else {
                ExceptionStatus::Open
            };
            // The entry's JSON is written only for the entries the batch added or changed: a
            // long queue is not written out again on every apply.
            let entry = || json::to_canonical_string(e).map(V::text);
            match before.get(i) {
                Some(&(attempts, resolved))
                    if attempts == e.attempts && resolved == e.resolved_by_version => {}
                Some(_) => {
                    // A later attempt re-opens an exception resolved by hand: it was refused again.
                    self.db.exec(
                        "UPDATE billwise_exceptions SET status = ?, code = ?, message = ?, attempts = ?, rejected_at_version = ?, resolved_by_version = ?, entry = ?, last_seen_at = ? WHERE contract_id = ? AND sequence = ?",
                        &[
                            V::text(status.as_str()),
                            V::text(e.code.as_str()),
                            V::text(&e.message),
                            V::int(i64::from(e.attempts)),
                            u(e.rejected_at_version),
                            V::I(e.resolved_by_version.map(|v| i64::try_from(v).unwrap_or(i64::MAX))),
                            entry()?,
                            V::text(now),
                            V::text(contract),
                            u(e.sequence),
                        ],
                    )?;
                }
                None => new.push(vec![
                    V::text(contract),
                    u(e.sequence),
                    V::text(e.envelope.idempotency_key.as_str()),
                    V::text(e.envelope.correlation_id.as_str()),
                    V::text(e.envelope.source.as_str()),
                    V::text(e.envelope.event.type_name()),
                    V::text(status.as_str()),
                    V::text(e.code.as_str()),
                    V::text(&e.message),
                    V::int(i64::from(e.attempts)),
                    u(e.rejected_at_version),
                    V::I(
                        e.resolved_by_version
                            .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
                    ),
                    entry()?,
                    V::text(now),
                    V::text(now),
                ]),
            }
        }
        self.db.insert(
            "billwise_exceptions",
            &[
                "contract_id",
                "sequence",
                "idempotency_key",
                "correlation_id",
                "source",
                "event_type",
                "status",
                "code",
                "message",
                "attempts",
                "rejected_at_version",
                "resolved_by_version",
                "entry",
                "first_seen_at",
                "last_seen_at",
            ],
            new,
        )
    }

    const EXCEPTION_COLUMNS: &str = "contract_id, sequence, status, idempotency_key, correlation_id, source, event_type, code, message, attempts, rejected_at_version, resolved_by_version, note, first_seen_at, last_seen_at, entry";

    fn exception_row(&self, r: &[V]) -> Result<StoredException, Error> {
        let status = ExceptionStatus::find(&get_t(r, 2)).ok_or_else(|| {
            corrupt(format!(
                "exception {} of contract `{}` has the status `{}`",
                get_u(r, 1),
                get_t(r, 0),
                get_t(r, 2)
            ))
        })?;
        let entry: ExceptionEntry = json::from_str(&get_t(r, 15), &OWN_ROWS).map_err(|e| {
            corrupt(format!(
                "exception {} of contract `{}` cannot be read: {}",
                get_u(r, 1),
                get_t(r, 0),
                e.message
            ))
        })?;
        Ok(StoredException {
            contract_id: get_t(r, 0),
            sequence: get_u(r, 1),
            status,
            idempotency_key: get_t(r, 3),
            correlation_id: get_t(r, 4),
            source: get_t(r, 5),
            event_type: get_t(r, 6),
            code: get_t(r, 7),
            message: get_t(r, 8),
            attempts: get_u(r, 9),
            rejected_at_version: get_u(r, 10),
            resolved_by_version: r.get(11).and_then(V::as_i64).map(|v| v as u64),
            note: get_ot(r, 12),
            first_seen_at: get_t(r, 13),
            last_seen_at: get_t(r, 14),
            entry,
        })
    }

    /// The exceptions `filter` selects, oldest first (by when first seen, then contract and
    /// position).
    pub fn exceptions(&mut self, filter: &ExceptionFilter) -> Result<Vec<StoredException>, Error> {
        let mut sql = format!(
            "SELECT {} FROM billwise_exceptions WHERE 1 = 1",
            Self::EXCEPTION_COLUMNS
        );
        let mut params = Vec::new();
        match filter.status {
            Some(s) => {
                sql.push_str(" AND status = ?");
                params.push(V::text(s.as_str()));
            }
            None => sql.push_str(" AND status <> 'resolved'"),
        }
        for (column, value) in [
            ("contract_id", &filter.contract_id),
            ("code", &filter.code),
            ("source", &filter.source),
        ] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND {column} = ?"));
                params.push(V::text(v));
            }
        }
        if let Some(t) = &filter.seen_before {
            let date = t.get(..10).unwrap_or(t);
            billwise_core::model::Date::parse(date).map_err(|_| {
                Error::new(
                    ErrorCode::InputInvalidDate,
                    format!("`{t}` is not a time written `2026-01-31` or `2026-01-31T12:00:00Z`"),
                )
                .at("/seen_before")
            })?;
            sql.push_str(" AND first_seen_at < ?");
            params.push(V::text(t));
        }
        sql.push_str(" ORDER BY first_seen_at, contract_id, sequence");
        let rows = self.db.query(&sql, &params)?;
        rows.iter().map(|r| self.exception_row(r)).collect()
    }

    fn exception(&mut self, contract: &str, sequence: u64) -> Result<StoredException, Error> {
        let sql = format!(
            "SELECT {} FROM billwise_exceptions WHERE contract_id = ? AND sequence = ?",
            Self::EXCEPTION_COLUMNS
        );
        let rows = self.db.query(&sql, &[V::text(contract), u(sequence)])?;
        match rows.first() {
            Some(r) => self.exception_row(r),
            None => Err(
                not_found(format!("contract `{contract}` has no exception {sequence}"))
                    .at("/sequence"),
            ),
        }
    }

    /// Applies the envelope of exception `sequence` again, as its sender would resend it (it is
    /// logged like any envelope). Applied, the exception is resolved; refused, it is `retried`.
    pub fn retry(&mut self, contract: &str, sequence: u64) -> Result<Applied, Error> {
        let id = contract_id(contract)?;
        let x = self.exception(id.as_str(), sequence)?;
        self.apply(id.as_str(), &[x.entry.envelope], &ApplyOptions::default())
    }

    /// Retries every exception `filter` selects (by default every one not resolved), oldest
    /// first, each in its own transaction.
    pub fn retry_all(&mut self, filter: &ExceptionFilter) -> Result<Vec<Applied>, Error> {
        let xs = self.exceptions(filter)?;
        let mut out = Vec::with_capacity(xs.len());
        for x in xs {
            if x.status != ExceptionStatus::Resolved {
                out.push(self.retry(&x.contract_id, x.sequence)?);
            }
        }
        Ok(out)
    }

    /// Marks exception `sequence` resolved by a person, with their note; the action is recorded
    /// in the contract's hash-chained action log ([`Store::verify`] checks it). The engine's
    /// state is unchanged: resolving says the envelope needs nothing more, not that it applied.
    pub fn resolve(
        &mut self,
        contract: &str,
        sequence: u64,
        note: &str,
        actor: &str,
    ) -> Result<StoredException, Error> {
        let id = contract_id(contract)?;
        let note = note.trim();
        if note.is_empty() {
            return Err(Error::new(
                ErrorCode::DocumentEmptyField,
                "resolving an exception by hand needs a note saying why",
            )
            .at("/note"));
        }
        let actor = if actor.trim().is_empty() {
            "unknown"
        } else {
            actor.trim()
        };
        self.in_transaction(id.as_str(), true, |s| {
            let head = s.existing_head(id.as_str())?;
            s.exception(id.as_str(), sequence)?;
            let now = clock::now();
            s.db.exec(
                "UPDATE billwise_exceptions SET status = 'resolved', note = ? WHERE contract_id = ? AND sequence = ?",
                &[V::text(note), V::text(id.as_str()), u(sequence)],
            )?;
            s.record_action(id.as_str(), &head, "resolve", sequence, actor, note, &now)?;
            s.exception(id.as_str(), sequence)
        })
    }

    /// Appends an action to the contract's action log, chained to the one before by its hash;
    /// the contract's row records the count and the last hash, so an action removed from the end
    /// is found too.
    #[allow(clippy::too_many_arguments)]
    fn record_action(
        &mut self,
        contract: &str,
        head: &Head,
        action: &str,
        sequence: u64,
        actor: &str,
        note: &str,
        now: &str,
    ) -> Result<(), Error> {
        let n = head.actions.saturating_add(1);
        let prev = head.actions_head.clone();
        let hash = action_hash(contract, n, now, action, sequence, actor, note, &prev)?;
        self.db.exec(
            "UPDATE billwise_contracts SET actions = ?, actions_head = ? WHERE contract_id = ?",
            &[u(n), V::text(&hash), V::text(contract)],
        )?;
        self.db.exec(
            "INSERT INTO billwise_actions (contract_id, n, at, action, sequence, actor, note, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[V::text(contract), u(n), V::text(now), V::text(action), u(sequence), V::text(actor), V::text(note), V::text(prev), V::text(hash)],
        )?;
        Ok(())
    }

    /// Every envelope received with `correlation_id`, across contracts, and its exceptions not
    /// resolved.
    pub fn trace(&mut self, correlation_id: &str) -> Result<Trace, Error> {
        let rows = self.db.query(
            "SELECT contract_id, seq, received_at, idempotency_key, source, event_type, status, version, reason FROM billwise_envelopes WHERE correlation_id = ? ORDER BY received_at, contract_id, seq",
            &[V::text(correlation_id)],
        )?;
        let steps = rows
            .iter()
            .map(|r| TraceStep {
                contract_id: get_t(r, 0),
                seq: get_u(r, 1),
                received_at: get_t(r, 2),
                idempotency_key: get_t(r, 3),
                source: get_t(r, 4),
                event_type: get_t(r, 5),
                status: get_t(r, 6),
                version: get_u(r, 7),
                reason: get_ot(r, 8),
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM billwise_exceptions x WHERE status <> 'resolved' AND (correlation_id = ? OR EXISTS (SELECT 1 FROM billwise_envelopes e WHERE e.correlation_id = ? AND e.contract_id = x.contract_id AND e.idempotency_key = x.idempotency_key)) ORDER BY first_seen_at, contract_id, sequence",
            Self::EXCEPTION_COLUMNS
        );
        // An exception keeps the correlation id it was first refused under; a retry sent under
        // another one is found through the log.
        let rows = self
            .db
            .query(&sql, &[V::text(correlation_id), V::text(correlation_id)])?;
        let stuck = rows
            .iter()
            .map(|r| self.exception_row(r))
            .collect::<Result<_, _>>()?;
        Ok(Trace {
            correlation_id: correlation_id.to_owned(),
            steps,
            stuck,
        })
    }

    /// The contract's engine as the store holds it, as the core's canonical snapshot JSON
    /// (`Engine::restore` reads it back; `engine_apply` takes it).
    pub fn snapshot(&mut self, contract: &str) -> Result<String, Error> {
        self.engine(contract)?.snapshot()
    }

    /// The contract's engine as the store holds it now (read in a transaction of its own).
    pub fn engine(&mut self, contract: &str) -> Result<Engine, Error> {
        let id = contract_id(contract)?;
        self.in_transaction(id.as_str(), false, |s| {
            let head = s.existing_head(id.as_str())?;
            let engine = s.engine_at(id.as_str(), &head)?;
            s.keep(id.as_str(), head.log_seq, engine.clone());
            Ok(engine)
        })
    }

    /// Rebuilds the contract from its whole log, from an empty engine, and compares the result
    /// with the engine the store holds (its latest snapshot and the log after it).
    pub fn replay(&mut self, contract: &str) -> Result<ReplayReport, Error> {
        let id = contract_id(contract)?;
        self.in_transaction(id.as_str(), false, |s| {
            let head = s.existing_head(id.as_str())?;
            s.replay_report(id.as_str(), &head)
        })
    }

    /// [`Store::replay`] in a transaction under way. The stored engine is rebuilt from the
    /// database (latest snapshot and tail), never taken from this store's memory, which may
    /// hold what the database no longer does.
    fn replay_report(&mut self, contract: &str, head: &Head) -> Result<ReplayReport, Error> {
        self.cache.remove(contract);
        let stored_engine = self.engine_at(contract, head)?;
        let stored = stored_engine.snapshot()?;
        let mut engine = self.new_engine(contract, head)?;
        let envelopes = self.replay_log(contract, 0, head.log_seq, &mut engine)?;
        let replayed = engine.snapshot()?;
        self.keep(contract, head.log_seq, stored_engine);
        Ok(ReplayReport {
            contract_id: contract.to_owned(),
            envelopes,
            replayed_version: engine.version(),
            stored_version: head.version,
            matches: replayed == stored,
            replayed_sha256: audit::sha256_hex(replayed.as_bytes()),
            stored_sha256: audit::sha256_hex(stored.as_bytes()),
        })
    }

    /// Checks the contract's records against each other: the audit chain read from the database
    /// (every hash, every link, its head), one applied key per version, the log's positions and
    /// outcomes against a rebuild, the exception rows against the engine's queue, and the
    /// action log's chain.
    pub fn verify(&mut self, contract: &str) -> Result<Verification, Error> {
        let id = contract_id(contract)?;
        self.in_transaction(id.as_str(), false, |s| s.verify_locked(id.as_str()))
    }

    /// [`Store::verify`] for every contract, sorted by id.
    pub fn verify_all(&mut self) -> Result<Vec<Verification>, Error> {
        let ids = self.contracts()?;
        ids.iter().map(|c| self.verify(c)).collect()
    }

    fn verify_locked(&mut self, contract: &str) -> Result<Verification, Error> {
        let head = self.existing_head(contract)?;
        let mut problems = Vec::new();

        let rows = self.db.query(
            "SELECT version, hash, entry FROM billwise_audit WHERE contract_id = ? ORDER BY version",
            &[V::text(contract)],
        )?;
        let mut entries: Vec<AuditEntry> = Vec::with_capacity(rows.len());
        for r in &rows {
            match json::from_str::<AuditEntry>(&get_t(r, 2), &OWN_ROWS) {
                Ok(e) => {
                    if e.version != get_u(r, 0) || e.hash.to_hex() != get_t(r, 1) {
                        problems.push(format!(
                            "the audit row at version {} does not agree with the entry it holds",
                            get_u(r, 0)
                        ));
                    }
                    entries.push(e);
                }
                Err(e) => problems.push(format!(
                    "the audit entry at version {} cannot be read: {}",
                    get_u(r, 0),
                    e.message
                )),
            }
        }
        let check = audit::verify(&entries, Some(&head.audit_head))?;
        if let Some(p) = &check.problem {
            problems.push(format!(
                "audit chain, entry {}: {} ({})",
                p.index,
                p.message,
                p.code.as_str()
            ));
        }
        if entries.len() as u64 != head.version {
            problems.push(format!(
                "the contract is at version {} but the database holds {} audit entries",
                head.version,
                entries.len()
            ));
        }

        let keys = self.db.query(
            "SELECT idempotency_key, version FROM billwise_processed WHERE contract_id = ? ORDER BY version",
            &[V::text(contract)],
        )?;
        if keys.len() as u64 != head.version {
            problems.push(format!(
                "{} idempotency keys are recorded as applied for {} versions",
                keys.len(),
                head.version
            ));
        }
        for k in &keys {
            let v = get_u(k, 1);
            let key = get_t(k, 0);
            let entry = usize::try_from(v)
                .ok()
                .and_then(|v| v.checked_sub(1))
                .and_then(|i| entries.get(i));
            if entry.is_none_or(|e| e.idempotency_key.as_str() != key) {
                problems.push(format!(
                    "key `{key}` is recorded as applied at version {v}, but that audit entry is not its"
                ));
            }
        }

        // The action log: every hash and link, ending where the contract's row says.
        let actions = self.db.query(
            "SELECT n, at, action, sequence, actor, note, prev_hash, hash FROM billwise_actions WHERE contract_id = ? ORDER BY n",
            &[V::text(contract)],
        )?;
        let mut prev = genesis();
        let mut resolved_by_hand: BTreeMap<u64, String> = BTreeMap::new();
        for (i, a) in actions.iter().enumerate() {
            let n = get_u(a, 0);
            let expected = action_hash(
                contract,
                n,
                &get_t(a, 1),
                &get_t(a, 2),
                get_u(a, 3),
                &get_t(a, 4),
                &get_t(a, 5),
                &prev,
            )?;
            if n != i as u64 + 1 || get_t(a, 6) != prev || get_t(a, 7) != expected {
                problems.push(format!(
                    "the action log is broken at action {n}: it was changed, removed or inserted after it was written"
                ));
                break;
            }
            if get_t(a, 2) == "resolve" {
                resolved_by_hand.insert(get_u(a, 3), get_t(a, 5));
            }
            prev = expected;
        }
        if actions.len() as u64 != head.actions || prev != head.actions_head {
            problems.push(format!(
                "the contract's row records {} actions ending at {}; the action log holds {} ending at {prev}",
                head.actions,
                head.actions_head,
                actions.len()
            ));
        }

        // The engine from the latest snapshot and the log after it (which checks every logged
        // outcome and ends at the row's version and audit hash) must be the engine the whole log
        // rebuilds from empty: the audit chain covers the events, not the state a snapshot holds.
        match self.replay_report(contract, &head) {
            Ok(r) if !r.matches => problems.push(format!(
                "the stored engine (latest snapshot and the log after it, sha256 {}) is not the one its whole log rebuilds (sha256 {})",
                r.stored_sha256, r.replayed_sha256
            )),
            Ok(_) => {}
            Err(e) => problems.push(e.message),
        }

        // Each exception row against the engine's queue, and its status against the rules.
        if let Some((_, engine, _)) = self.cache.get(contract) {
            let queue: Vec<(u64, u64, Option<u64>)> = engine
                .exceptions()
                .iter()
                .map(|e| (e.sequence, u64::from(e.attempts), e.resolved_by_version))
                .collect();
            let rows = self.db.query(
                "SELECT sequence, attempts, resolved_by_version, status, note FROM billwise_exceptions WHERE contract_id = ? ORDER BY sequence",
                &[V::text(contract)],
            )?;
            let held: Vec<(u64, u64, Option<u64>)> = rows
                .iter()
                .map(|r| {
                    (
                        get_u(r, 0),
                        get_u(r, 1),
                        r.get(2).and_then(V::as_i64).map(|v| v as u64),
                    )
                })
                .collect();
            if held != queue {
                problems.push(format!(
                    "the database holds {} exception rows; the engine's queue has {} entries (or their attempts or resolutions differ)",
                    held.len(),
                    queue.len()
                ));
            }
            for r in &rows {
                let (sequence, attempts, status) = (get_u(r, 0), get_u(r, 1), get_t(r, 3));
                let applied_later = r.get(2).and_then(V::as_i64).is_some();
                let problem = match status.as_str() {
                    "resolved" if applied_later => None,
                    "resolved" => match resolved_by_hand.get(&sequence) {
                        Some(note) if get_ot(r, 4).as_deref() == Some(note.as_str()) => None,
                        _ => Some(
                            "is resolved by hand, but the action log has no resolve action with its note",
                        ),
                    },
                    _ if applied_later => Some("was applied later, but is not `resolved`"),
                    "retried" if attempts > 1 => None,
                    "open" if attempts == 1 => None,
                    _ => Some(
                        "has a status its attempts do not give (open: refused once; retried: more than once)",
                    ),
                };
                if let Some(p) = problem {
                    problems.push(format!("exception {sequence} (`{status}`) {p}"));
                }
            }
        }

        Ok(Verification {
            contract_id: contract.to_owned(),
            valid: problems.is_empty(),
            version: head.version,
            audit_entries: entries.len() as u64,
            problems,
        })
    }
}

/// SHA-256 of the canonical JSON of an action without its hash.
#[allow(clippy::too_many_arguments)]
fn action_hash(
    contract: &str,
    n: u64,
    at: &str,
    action: &str,
    sequence: u64,
    actor: &str,
    note: &str,
    prev_hash: &str,
) -> Result<String, Error> {
    let text = json::to_canonical_string(&serde_json::json!({
        "action": action, "actor": actor, "at": at, "contract_id": contract, "n": n,
        "note": note, "prev_hash": prev_hash, "sequence": sequence,
    }))?;
    Ok(audit::sha256_hex(text.as_bytes()))
}

/// The store's methods on JSON, for bindings that speak text (the Node addon): `method` is one of
/// [`METHODS`], `input` its arguments as a JSON object; the answer is canonical JSON (for
/// `snapshot`, the snapshot's own text).
pub fn call(store: &mut Store, method: &str, input: &[u8]) -> Result<String, Error> {
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Args {
        #[serde(default)]
        contract_id: Option<String>,
        #[serde(default)]
        envelopes: Option<Vec<Envelope>>,
        #[serde(default)]
        atomic: bool,
        #[serde(default)]
        ownership_policy: Option<OwnershipPolicy>,
        #[serde(default)]
        sequence: Option<u64>,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        actor: Option<String>,
        #[serde(default)]
        correlation_id: Option<String>,
        #[serde(default)]
        status: Option<ExceptionStatus>,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        source: Option<String>,
        #[serde(default)]
        seen_before: Option<String>,
    }
    let limits = Limits {
        max_bytes: usize::MAX,
        ..Limits::DEFAULT
    };
    let a: Args = if input.iter().all(u8::is_ascii_whitespace) {
        Args::default()
    } else {
        json::from_slice(input, &limits)?
    };
    fn need<T>(v: Option<T>, field: &str) -> Result<T, Error> {
        v.ok_or_else(|| {
            Error::new(
                ErrorCode::InputMissingField,
                format!("`{field}` is required"),
            )
            .at(format!("/{field}"))
        })
    }
    let filter = |a: &Args| ExceptionFilter {
        contract_id: a.contract_id.clone(),
        status: a.status,
        code: a.code.clone(),
        source: a.source.clone(),
        seen_before: a.seen_before.clone(),
    };
    fn out<T: Serialize>(v: &T) -> Result<String, Error> {
        json::to_canonical_string(v)
    }
    match method {
        "apply" => {
            let contract = need(a.contract_id.clone(), "contract_id")?;
            let envelopes = need(a.envelopes.clone(), "envelopes")?;
            let options = ApplyOptions {
                atomic: a.atomic,
                ownership_policy: a.ownership_policy.clone(),
            };
            out(&store.apply(&contract, &envelopes, &options)?)
        }
        "exceptions" => out(&store.exceptions(&filter(&a))?),
        "retry" => out(&store.retry(
            &need(a.contract_id.clone(), "contract_id")?,
            need(a.sequence, "sequence")?,
        )?),
        "retry_all" => out(&store.retry_all(&filter(&a))?),
        "resolve" => out(&store.resolve(
            &need(a.contract_id.clone(), "contract_id")?,
            need(a.sequence, "sequence")?,
            &need(a.note.clone(), "note")?,
            &need(a.actor.clone(), "actor")?,
        )?),
        "trace" => out(&store.trace(&need(a.correlation_id.clone(), "correlation_id")?)?),
        "replay" => out(&store.replay(&need(a.contract_id.clone(), "contract_id")?)?),
        "verify" => match &a.contract_id {
            Some(c) => out(&store.verify(c)?),
            None => out(&store.verify_all()?),
        },
        "contracts" => out(&store.contracts()?),
        "snapshot" => store.snapshot(&need(a.contract_id.clone(), "contract_id")?),
        _ => Err(Error::new(
            ErrorCode::InputInvalidValue,
            format!(
                "`{method}` is not a store method: use one of {}",
                METHODS.join(", ")
            ),
        )),
    }
}

/// The methods [`call`] answers.
pub const METHODS: &[&str] = &[
    "apply",
    "exceptions",
    "retry",
    "retry_all",
    "resolve",
    "trace",
    "replay",
    "verify",
    "contracts",
    "snapshot",
];
