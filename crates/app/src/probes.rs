use async_trait::async_trait;
use todos_domain::{DomainError, HealthProbe};

/// Readiness of the in-process cache: it lives in this process, so it is up
/// whenever the process can answer.
pub struct InProcessCacheProbe;

#[async_trait]
impl HealthProbe for InProcessCacheProbe {
    async fn check(&self) -> Result<(), DomainError> {
        Ok(())
    }
}
