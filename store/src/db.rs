//! The two databases behind one small interface: statements with `?` parameters, integer and
//! text values, and explicit transactions. Everything the store does is written once, in
//! `lib.rs`, on top of this; only connecting, beginning a transaction and locking a row differ.

use std::collections::BTreeMap;

use billwise_core::{Error, ErrorCode};

/// A value bound to a parameter or read from a column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    I(Option<i64>),
    T(Option<String>),
}

impl V {
    pub(crate) fn int(i: i64) -> V {
        V::I(Some(i))
    }
    pub(crate) fn text(s: impl Into<String>) -> V {
        V::T(Some(s.into()))
    }
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            V::I(i) => *i,
            V::T(t) => t.as_deref().and_then(|t| t.parse().ok()),
        }
    }
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            V::T(t) => t.as_deref(),
            V::I(_) => None,
        }
    }
}

/// Which database, and its connection.
pub(crate) enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<Pg>),
}

pub(crate) struct Pg {
    client: postgres::Client,
    /// Prepared statements by their text: the store runs the same few dozen statements.
    prepared: BTreeMap<String, postgres::Statement>,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::StoreUnavailable,
        format!("the store's database could not {what}: {e}"),
    )
}

/// A PostgreSQL error with the server's message and SQLSTATE (in the message and in
/// `details.sqlstate`), so a caller can tell a lost connection from a constraint; the client's
/// own `Display` says only "db error".
fn pg_error(what: &str, e: &postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::new(
            ErrorCode::StoreUnavailable,
            format!(
                "the store's database could not {what}: {} (SQLSTATE {})",
                db.message(),
                db.code().code()
            ),
        )
        .with("sqlstate", db.code().code()),
        None => unavailable(what, e),
    }
}

/// `?` placeholders as PostgreSQL's `$1`, `$2`, ... (no statement of the store has a `?` in text).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len().saturating_add(16));
    let mut n = 0u32;
    for c in sql.chars() {
        if c == '?' {
            n = n.saturating_add(1);
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl Db {
    /// Opens a SQLite file (created when missing), or an in-memory database for `None`.
    pub(crate) fn sqlite(path: Option<&str>) -> Result<Db, Error> {
        let conn = match path {
            Some(p) => rusqlite::Connection::open(p),
            None => rusqlite::Connection::open_in_memory(),
        }
        .map_err(|e| unavailable("be opened", e))?;
        // WAL: readers never wait for the writer. `synchronous = FULL`: a committed batch is on
        // disk before `apply` returns. The busy timeout makes a second writer wait for the
        // first one's transaction rather than fail.
        conn.busy_timeout(std::time::Duration::from_secs(120))
            .map_err(|e| unavailable("be configured", e))?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|e| unavailable("be configured", e))?;
        // WAL is recorded in the file, so this is needed once per database. Switching takes an
        // exclusive lock without waiting on the busy timeout: two processes opening a new
        // database at once retry until one has switched it.
        let mut tries = 0;
        loop {
            let mode: Result<String, _> =
                conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0));
            match mode {
                Ok(m) if m.eq_ignore_ascii_case("wal") || path.is_none() => break,
                Ok(m) => return Err(unavailable("use write-ahead logging", m)),
                Err(e) if tries < 400 && is_busy(&e) => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                Err(e) => return Err(unavailable("be configured", e)),
            }
        }
        Ok(Db::Sqlite(conn))
    }

    /// Connects to PostgreSQL (`postgresql://user@host:port/db`, or key=value settings).
    pub(crate) fn postgres(url: &str) -> Result<Db, Error> {
        let client = postgres::Client::connect(url, postgres::NoTls)
            .map_err(|e| pg_error("be reached", &e))?;
        Ok(Db::Postgres(Box::new(Pg {
            client,
            prepared: BTreeMap::new(),
        })))
    }

    /// Whether the connection is gone (PostgreSQL only: a SQLite file has no connection to lose).
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Db::Sqlite(_) => false,
            Db::Postgres(p) => p.client.is_closed(),
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Runs statements with no parameters and no rows (a migration, `BEGIN`, `COMMIT`).
    pub(crate) fn script(&mut self, sql: &str) -> Result<(), Error> {
        match self {
            Db::Sqlite(c) => c.execute_batch(sql).map_err(|e| unavailable("run", e)),
            Db::Postgres(p) => p.client.batch_execute(sql).map_err(|e| pg_error("run", &e)),
        }
    }

    /// Begins a transaction that holds the write lock (SQLite) or row locks taken with
    /// `FOR UPDATE` (PostgreSQL) until it ends. The isolation level is set, not inherited from
    /// the database's default: under `REPEATABLE READ`, a worker that waited for a contract's row
    /// lock would fail instead of reading the row its predecessor committed.
    pub(crate) fn begin(&mut self) -> Result<(), Error> {
        match self {
            Db::Sqlite(_) => self.script("BEGIN IMMEDIATE"),
            Db::Postgres(_) => self.script("BEGIN ISOLATION LEVEL READ COMMITTED"),
        }
    }

    /// Begins a transaction that only reads, from one consistent snapshot of the database, and
    /// takes no lock a writer waits for (SQLite in WAL mode reads the last commit before it
    /// began; PostgreSQL reads one snapshot).
    pub(crate) fn begin_read(&mut self) -> Result<(), Error> {
        match self {
            Db::Sqlite(_) => self.script("BEGIN DEFERRED"),
            Db::Postgres(_) => self.script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        }
    }

    pub(crate) fn commit(&mut self) -> Result<(), Error> {
        self.script("COMMIT")
    }

    /// Ends a transaction without its changes. A failure here leaves nothing to undo: the
    /// transaction ends with the connection.
    pub(crate) fn rollback(&mut self) {
        let _ = self.script("ROLLBACK");
    }

    /// ` FOR UPDATE` where the database locks rows (PostgreSQL); SQLite's `BEGIN IMMEDIATE`
    /// already holds the only write lock.
    pub(crate) fn for_update(&self) -> &'static str {
        if self.is_postgres() {
            " FOR UPDATE"
        } else {
            ""
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) fn exec(&mut self, sql: &str, params: &[V]) -> Result<u64, Error> {
        match self {
            Db::Sqlite(c) => {
                let mut st = c
                    .prepare_cached(sql)
                    .map_err(|e| unavailable("prepare a statement", e))?;
                let n = st
                    .execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))
                    .map_err(|e| unavailable("write", e))?;
                Ok(n as u64)
            }
            Db::Postgres(p) => {
                let st = p.statement(sql)?;
                let args = pg_args(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    args.iter().map(|a| a.as_ref()).collect();
                p.client
                    .execute(&st, &refs)
                    .map_err(|e| pg_error("write", &e))
            }
        }
    }

    /// Runs a query; returns its rows, each column an integer or a text.
    pub(crate) fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Vec<V>>, Error> {
        match self {
            Db::Sqlite(c) => {
                let mut st = c
                    .prepare_cached(sql)
                    .map_err(|e| unavailable("prepare a query", e))?;
                let width = st.column_count();
                let mut rows = st
                    .query(rusqlite::params_from_iter(params.iter().map(sqlite_value)))
                    .map_err(|e| unavailable("read", e))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(|e| unavailable("read", e))? {
                    let mut r = Vec::with_capacity(width);
                    for i in 0..width {
                        let v: rusqlite::types::Value =
                            row.get(i).map_err(|e| unavailable("read", e))?;
                        r.push(match v {
                            rusqlite::types::Value::Integer(i) => V::int(i),
                            rusqlite::types::Value::Text(t) => V::text(t),
                            rusqlite::types::Value::Null => V::T(None),
                            rusqlite::types::Value::Real(f) => V::text(f.to_string()),
                            rusqlite::types::Value::Blob(b) => {
                                V::text(String::from_utf8_lossy(&b).into_owned())
                            }
                        });
                    }
                    out.push(r);
                }
                Ok(out)
            }
            Db::Postgres(p) => {
                let st = p.statement(sql)?;
                let args = pg_args(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    args.iter().map(|a| a.as_ref()).collect();
                let rows = p
                    .client
                    .query(&st, &refs)
                    .map_err(|e| pg_error("read", &e))?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut r = Vec::with_capacity(row.len());
                    for (i, col) in row.columns().iter().enumerate() {
                        let ty = col.type_();
                        let v = if *ty == postgres::types::Type::INT8 {
                            V::I(row.try_get(i).map_err(|e| unavailable("read", e))?)
                        } else if *ty == postgres::types::Type::INT4 {
                            let x: Option<i32> =
                                row.try_get(i).map_err(|e| unavailable("read", e))?;
                            V::I(x.map(i64::from))
                        } else {
                            V::T(row.try_get(i).map_err(|e| unavailable("read", e))?)
                        };
                        r.push(v);
                    }
                    out.push(r);
                }
                Ok(out)
            }
        }
    }

    /// Inserts rows of `columns` into `table`, many rows per statement.
    pub(crate) fn insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<V>>,
    ) -> Result<(), Error> {
        // 100 rows a statement: few round trips to PostgreSQL, far below either database's limit
        // on parameters (32,766 in SQLite, 65,535 in PostgreSQL) at the store's widest table.
        const CHUNK: usize = 100;
        let one = format!("({})", vec!["?"; columns.len()].join(","));
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<V>> = rows.by_ref().take(CHUNK).collect();
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES {}",
                columns.join(","),
                vec![one.as_str(); chunk.len()].join(",")
            );
            let params: Vec<V> = chunk.into_iter().flatten().collect();
            self.exec(&sql, &params)?;
        }
        Ok(())
    }
}

impl Pg {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, Error> {
        if let Some(st) = self.prepared.get(sql) {
            return Ok(st.clone());
        }
        let st = self
            .client
            .prepare(&numbered(sql))
            .map_err(|e| pg_error("prepare a statement", &e))?;
        self.prepared.insert(sql.to_owned(), st.clone());
        Ok(st)
    }
}

fn sqlite_value(v: &V) -> rusqlite::types::Value {
    match v {
        V::I(Some(i)) => rusqlite::types::Value::Integer(*i),
        V::T(Some(t)) => rusqlite::types::Value::Text(t.clone()),
        V::I(None) | V::T(None) => rusqlite::types::Value::Null,
    }
}

fn pg_args(params: &[V]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                V::I(i) => Box::new(*i),
                V::T(t) => Box::new(t.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn question_marks_become_numbered_parameters_for_postgres() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c = ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $2"
        );
    }
}
