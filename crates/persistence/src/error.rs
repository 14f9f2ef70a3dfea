use sea_orm::{DbErr, RuntimeErr, SqlErr};
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
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
            e.as_ref(),
            sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::Tls(_)
                | sea_orm::sqlx::Error::WorkerCrashed
        ),
        _ => false,
    }
}

/// True when an insert hit a unique index (a taken username).
pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
