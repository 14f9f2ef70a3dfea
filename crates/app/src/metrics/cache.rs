//! Cache errors by operation: a decorator around whichever cache adapter
//! is wired, so that neither the domain nor the adapters know of metrics.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use prometheus_client::{
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};
use todos_domain::{Cache, DomainError, Hit};

/// The cache port's operations, in the order of [`CacheErrors`]' handles.
const OPERATIONS: [&str; 7] = ["put", "get", "take", "delete", "hit", "release", "ping"];

#[derive(Clone, Copy)]
enum Operation {
    Put,
    Get,
    Take,
    Delete,
    Hit,
    Release,
    Ping,
}

/// One counter per operation, looked up once: every operation's series
/// exists from the start (at 0), and counting an error is one atomic add.
#[derive(Clone, Debug)]
pub(crate) struct CacheErrors([Counter; OPERATIONS.len()]);

impl CacheErrors {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let family = Family::<[(&'static str, &'static str); 1], Counter>::default();
        registry.register(
            "cache_errors",
            "Cache operations that failed (the cache unreachable or erring), by operation",
            family.clone(),
        );
        Self(OPERATIONS.map(|operation| family.get_or_create_owned(&[("operation", operation)])))
    }

    fn count<T>(
        &self,
        operation: Operation,
        result: Result<T, DomainError>,
    ) -> Result<T, DomainError> {
        if result.is_err() {
            self.0[operation as usize].inc();
        }
        result
    }
}

/// `inner`, counting its errors.
pub(crate) struct MeteredCache {
    pub(crate) inner: Arc<dyn Cache>,
    pub(crate) errors: CacheErrors,
}

#[async_trait]
impl Cache for MeteredCache {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), DomainError> {
        let result = self.inner.put(key, value, ttl).await;
        self.errors.count(Operation::Put, result)
    }

    async fn get(&self, key: &str) -> Result<Option<String>, DomainError> {
        let result = self.inner.get(key).await;
        self.errors.count(Operation::Get, result)
    }

    async fn take(&self, key: &str) -> Result<Option<String>, DomainError> {
        let result = self.inner.take(key).await;
        self.errors.count(Operation::Take, result)
    }

    async fn delete(&self, key: &str) -> Result<(), DomainError> {
        let result = self.inner.delete(key).await;
        self.errors.count(Operation::Delete, result)
    }

    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<Hit, DomainError> {
        let result = self.inner.hit(key, limit, window).await;
        self.errors.count(Operation::Hit, result)
    }

    async fn release(&self, key: &str) -> Result<(), DomainError> {
        let result = self.inner.release(key).await;
        self.errors.count(Operation::Release, result)
    }

    async fn ping(&self) -> Result<(), DomainError> {
        let result = self.inner.ping().await;
        self.errors.count(Operation::Ping, result)
    }
}

#[cfg(test)]
mod tests {
    use todos_domain::MockCache;

    use super::*;

    #[tokio::test]
    async fn errors_are_counted_by_operation_and_successes_are_not() {
        let mut registry = Registry::default();
        let errors = CacheErrors::register(&mut registry);
        let mut inner = MockCache::new();
        inner
            .expect_get()
            .returning(|_| Err(DomainError::unavailable("cache", "down")));
        inner.expect_put().returning(|_, _, _| Ok(()));
        let cache = MeteredCache {
            inner: Arc::new(inner),
            errors: errors.clone(),
        };

        assert!(cache.get("k").await.is_err());
        assert!(cache.get("k").await.is_err());
        cache.put("k", "v", Duration::from_secs(1)).await.unwrap();

        let counts: Vec<u64> = errors.0.iter().map(Counter::get).collect();
        assert_eq!(counts, [0, 2, 0, 0, 0, 0, 0], "{OPERATIONS:?}");
    }
}
