use std::sync::Arc;

use async_trait::async_trait;
use todos_domain::{Cache, DomainError, HealthProbe};

/// Readiness of the cache: a PING on Redis; always up in process.
pub struct CacheProbe(pub Arc<dyn Cache>);

#[async_trait]
impl HealthProbe for CacheProbe {
    async fn check(&self) -> Result<(), DomainError> {
        self.0.ping().await
    }
}
