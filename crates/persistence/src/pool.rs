use sea_orm::{DatabaseBackend, DatabaseConnection};

/// What a connection pool holds right now, for the metrics (README:
/// "Running with metrics"): a snapshot, read without waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections lent out to a query or transaction.
    pub in_use: u32,
    /// Connections open and waiting to be lent.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// The pool behind `db`, or `None` for a connection without one (a mock).
/// Panics on a disconnected `DatabaseConnection` (what `Default` makes), as
/// SeaORM's `get_database_backend` does.
pub fn pool_stats(db: &DatabaseConnection) -> Option<PoolStats> {
    let (size, idle, max) = match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseBackend::MySql => {
            let pool = db.get_mysql_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => return None,
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
    Some(PoolStats {
        in_use: size - idle,
        idle,
        max,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::TransactionTrait;

    use super::*;
    use crate::{DatabaseSettings, connect};

    /// The stats once `in_use` is `n`: a connection goes back to the pool
    /// on a task of sqlx's, a moment after it was dropped. Panics after 5 s.
    async fn once_in_use(db: &DatabaseConnection, n: u32) -> PoolStats {
        for _ in 0..500 {
            let stats = pool_stats(db).unwrap();
            if stats.in_use == n {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("in use never became {n}: {:?}", pool_stats(db));
    }

    #[tokio::test]
    async fn a_transaction_holds_a_connection_until_it_ends() {
        let db = connect(&DatabaseSettings::new("sqlite::memory:"))
            .await
            .unwrap();
        let before = once_in_use(&db, 0).await;
        assert_eq!(before.max, 4, "{before:?}");
        assert!(before.idle >= 1, "min_connections keeps one: {before:?}");

        let transaction = db.begin().await.unwrap();
        let during = pool_stats(&db).unwrap();
        assert_eq!(during.in_use, 1, "{during:?}");
        assert_eq!(
            during.in_use + during.idle,
            before.idle.max(1),
            "{during:?}"
        );

        transaction.rollback().await.unwrap();
        once_in_use(&db, 0).await;
    }
}
