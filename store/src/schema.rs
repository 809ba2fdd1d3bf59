//! The store's tables and their migrations.
//!
//! Each migration is one numbered script, written once in SQL both databases read (TEXT and
//! BIGINT columns, composite primary keys, no autoincrement). `billwise_schema` records which
//! ran. Opening a store runs the missing ones in order, in one transaction that holds a lock
//! (SQLite's write lock, a PostgreSQL advisory lock), so two processes opening a new database at
//! once migrate it once. A database migrated by a newer billwise is refused
//! (`STORE_SCHEMA_TOO_NEW`) rather than written with rules this build does not know.
//! A migration is never edited once released: a change is a new migration.

use billwise_core::{Error, ErrorCode};

use crate::db::{Db, V};

/// The migrations, in order; the last one's number is the schema version this build writes.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "
CREATE TABLE billwise_contracts (
  contract_id TEXT PRIMARY KEY,
  version BIGINT NOT NULL,
  log_seq BIGINT NOT NULL,
  batches BIGINT NOT NULL,
  snapshot_seq BIGINT NOT NULL,
  audit_head TEXT NOT NULL,
  ownership_policy TEXT,
  actions BIGINT NOT NULL,
  actions_head TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE billwise_envelopes (
  contract_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  batch BIGINT NOT NULL,
  atomic BIGINT NOT NULL,
  idempotency_key TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  source TEXT NOT NULL,
  event_type TEXT NOT NULL,
  status TEXT NOT NULL,
  version BIGINT NOT NULL,
  reason TEXT,
  envelope TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (contract_id, seq)
);
CREATE INDEX billwise_envelopes_correlation ON billwise_envelopes (correlation_id);
CREATE TABLE billwise_processed (
  contract_id TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (contract_id, idempotency_key)
);
CREATE TABLE billwise_audit (
  contract_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  hash TEXT NOT NULL,
  entry TEXT NOT NULL,
  PRIMARY KEY (contract_id, version)
);
CREATE TABLE billwise_exceptions (
  contract_id TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  idempotency_key TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  source TEXT NOT NULL,
  event_type TEXT NOT NULL,
  status TEXT NOT NULL,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  rejected_at_version BIGINT NOT NULL,
  resolved_by_version BIGINT,
  note TEXT,
  entry TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  PRIMARY KEY (contract_id, sequence)
);
CREATE INDEX billwise_exceptions_status ON billwise_exceptions (status, code, source);
CREATE INDEX billwise_exceptions_correlation ON billwise_exceptions (correlation_id);
CREATE TABLE billwise_snapshots (
  contract_id TEXT NOT NULL,
  log_seq BIGINT NOT NULL,
  version BIGINT NOT NULL,
  snapshot TEXT NOT NULL,
  taken_at TEXT NOT NULL,
  PRIMARY KEY (contract_id, log_seq)
);
CREATE TABLE billwise_actions (
  contract_id TEXT NOT NULL,
  n BIGINT NOT NULL,
  at TEXT NOT NULL,
  action TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  actor TEXT NOT NULL,
  note TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (contract_id, n)
);
",
)];

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Brings the database to [`latest`], or refuses one a newer build migrated.
pub(crate) fn migrate(db: &mut Db, now: &str) -> Result<(), Error> {
    db.begin()?;
    let r = migrate_in(db, now);
    match r {
        Ok(()) => db.commit(),
        Err(e) => {
            db.rollback();
            Err(e)
        }
    }
}

fn migrate_in(db: &mut Db, now: &str) -> Result<(), Error> {
    if db.is_postgres() {
        // One migrating process at a time, across machines: the lock ends with the transaction.
        db.exec(
            "SELECT pg_advisory_xact_lock(?)",
            &[V::int(0x6269_6c6c_7769)],
        )?;
    }
    db.script(
        "CREATE TABLE IF NOT EXISTS billwise_schema (version BIGINT NOT NULL, applied_at TEXT NOT NULL)",
    )?;
    let current = version(db)?;
    for (n, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        db.script(sql)?;
        db.exec(
            "INSERT INTO billwise_schema (version, applied_at) VALUES (?, ?)",
            &[V::int(*n), V::text(now)],
        )?;
    }
    Ok(())
}

/// The database's schema version, refused when it is newer than this build's.
fn version(db: &mut Db) -> Result<i64, Error> {
    let rows = db.query("SELECT MAX(version) FROM billwise_schema", &[])?;
    let current = rows
        .first()
        .and_then(|r| r.first())
        .and_then(V::as_i64)
        .unwrap_or(0);
    if current > latest() {
        return Err(Error::new(
            ErrorCode::StoreSchemaTooNew,
            format!(
                "the store's database is at schema version {current}, newer than this build's {}: use a newer billwise",
                latest()
            ),
        ));
    }
    Ok(current)
}

/// Checks, in a transaction under way, that no newer build has migrated the database since it
/// was opened.
pub(crate) fn check(db: &mut Db) -> Result<(), Error> {
    version(db).map(|_| ())
}
