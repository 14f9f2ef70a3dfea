//! SQLite reads run in place: on the request's own thread, through
//! rusqlite, instead of as a message to one of sqlx's per-connection worker
//! threads and the rows back. That hop (flume channels, futex wake-ups) was
//! over half the CPU of `GET /todos`; reading in place serves the two hot
//! reads about 1.5× faster (BENCHMARKS.md, "SQLite reads in place").
//!
//! Only short, indexed, read-only statements belong here: the statement
//! runs synchronously on a tokio worker. The connections are opened
//! read-only and never wait for a lock (busy timeout 0): anything that goes
//! wrong here — a busy database, a file that cannot be opened, a row that
//! does not decode — hands the read back to the pool, whose answer
//! (including 503 when the database is unavailable) stands.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Instant,
};

use rusqlite::OpenFlags;
use sea_orm::{Statement, Value};

use crate::StatementCounter;

/// Read-only connections to one SQLite file, shared by the threads that
/// read: a thread takes one for a statement and puts it back, so there are
/// never more than the threads reading at once.
#[derive(Clone, Debug)]
pub struct InPlaceReads {
    path: PathBuf,
    idle: Arc<Mutex<Vec<rusqlite::Connection>>>,
    statements: StatementCounter,
}

impl InPlaceReads {
    /// For the SQLite file at `path` (as [`crate::sqlite_file`] reads it
    /// from the URL the pool was opened with).
    pub(crate) fn at(path: PathBuf, statements: StatementCounter) -> Self {
        Self {
            path,
            idle: Arc::default(),
            statements,
        }
    }

    /// Runs `statement` and maps each row with `decode`. An error means
    /// the caller should read through the pool instead.
    pub(crate) fn query_map<T>(
        &self,
        statement: &Statement,
        decode: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Vec<T>> {
        let connection = match self.idle.lock().expect("never poisoned").pop() {
            Some(connection) => connection,
            None => self.open()?,
        };
        let started = Instant::now();
        let rows = run(&connection, statement, decode);
        self.statements
            .record(&statement.sql, started.elapsed(), rows.is_err());
        // A connection that failed is dropped: the next read opens afresh.
        if rows.is_ok() {
            self.idle.lock().expect("never poisoned").push(connection);
        }
        rows
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        let connection = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Never block a tokio worker on a lock: busy goes to the pool.
        connection.busy_timeout(std::time::Duration::ZERO)?;
        // A page's LIMIT is written into its SQL, so each limit a client
        // uses is a statement of its own.
        connection.set_prepared_statement_cache_capacity(64);
        Ok(connection)
    }
}

fn run<T>(
    connection: &rusqlite::Connection,
    statement: &Statement,
    mut decode: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut prepared = connection.prepare_cached(&statement.sql)?;
    for (at, value) in statement.values.iter().flat_map(|v| &v.0).enumerate() {
        bind(&mut prepared, at + 1, value)?;
    }
    let mut rows = prepared.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Binds the value kinds the hot reads use; any other kind is an error, so
/// the read goes to the pool, which binds everything.
fn bind(
    prepared: &mut rusqlite::CachedStatement<'_>,
    at: usize,
    value: &Value,
) -> rusqlite::Result<()> {
    match value {
        Value::Bool(v) => prepared.raw_bind_parameter(at, *v),
        Value::Int(v) => prepared.raw_bind_parameter(at, *v),
        Value::BigInt(v) => prepared.raw_bind_parameter(at, *v),
        Value::BigUnsigned(v) => {
            let v = v
                .map(i64::try_from)
                .transpose()
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            prepared.raw_bind_parameter(at, v)
        }
        Value::String(v) => prepared.raw_bind_parameter(at, v.as_deref()),
        other => Err(rusqlite::Error::ToSqlConversionFailure(
            format!("no in-place binding for {}", kind(other)).into(),
        )),
    }
}

/// The value's kind, never the value: statements carry user data.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Double(_) | Value::Float(_) => "a float",
        Value::Bytes(_) => "bytes",
        _ => "this kind of value",
    }
}
