use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use todos_domain::{DomainError, HealthProbe};

/// Readiness of the database: one round trip on a pooled connection.
pub struct DatabaseProbe {
    db: DatabaseConnection,
}

impl DatabaseProbe {
    /// Probes the pool of `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl HealthProbe for DatabaseProbe {
    async fn check(&self) -> Result<(), DomainError> {
        self.db
            .ping()
            .await
            // Whatever the ping's error, the database does not answer.
            .map_err(|e| DomainError::unavailable("database", e))
    }
}
