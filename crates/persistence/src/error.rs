use sea_orm::{
    DbErr, RuntimeErr, SqlErr,
    sqlx::{Error, error::DatabaseError, mysql::MySqlDatabaseError},
};
use todos_domain::DomainError;

/// Maps storage errors once, at the edge: a lost or exhausted connection is
/// `Unavailable` (503), anything else `Unexpected` (500).
pub(crate) fn db_error(err: DbErr) -> DomainError {
    if is_unavailable(&err) {
        DomainError::unavailable("database", err)
    } else {
        DomainError::unexpected(err)
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Error::Io(_)
                | Error::PoolTimedOut
                | Error::PoolClosed
                | Error::Tls(_)
                | Error::WorkerCrashed => true,
                Error::Database(db) => is_server_unavailable(db.as_ref()),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Errors the server reports when it, not the query, is the problem.
fn is_server_unavailable(db: &dyn DatabaseError) -> bool {
    if let Some(mysql) = db.try_downcast_ref::<MySqlDatabaseError>() {
        // shutdown in progress, connection killed, server gone, lost
        // connection; deadlock and lock wait timeout (the transaction was
        // rolled back: retrying later succeeds)
        return matches!(mysql.number(), 1053 | 1927 | 2006 | 2013 | 1205 | 1213);
    }
    let code = db.code().unwrap_or_default();
    // PostgreSQL: class 08 (connection exception), 57P01-57P03 (shutting
    // down, cannot connect now). SQLite: BUSY and LOCKED, primary or
    // extended, once the busy timeout has run out.
    code.starts_with("08")
        || code.starts_with("57P0")
        // PostgreSQL: deadlock detected, serialization failure.
        || code == "40P01"
        || code == "40001"
        || matches!(code.parse::<i32>().map(|c| c & 0xff), Ok(5 | 6))
}

/// True when an insert hit a unique index (a taken username).
pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
