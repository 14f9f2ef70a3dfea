//! Slows down password guessing: after [`MAX_FAILURES`] failed log-ins for
//! one username within [`WINDOW`], further attempts for it are refused
//! (429 with `Retry-After`) until the window, which starts at the first
//! failure, has passed. State lives in the cache port, so on Redis every
//! instance sees the same count.
//!
//! A successful log-in does not reset the count: otherwise an attacker
//! could interleave guesses with the victim's own log-ins. The lockout
//! therefore also holds against the account owner until the window ends.

use std::{sync::Arc, time::Duration};

use crate::{Cache, DomainError, Hit, LoginName};

pub const MAX_FAILURES: u64 = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct LoginThrottle {
    cache: Arc<dyn Cache>,
}

impl LoginThrottle {
    pub fn new(cache: Arc<dyn Cache>) -> Self {
        Self { cache }
    }

    fn key(username: &LoginName) -> String {
        format!("todos:login-failures:{}", username.as_str())
    }

    /// Refuses when the username is locked out. Fails open when the cache
    /// is unreachable: an outage must not lock every user out (SPEC: only
    /// the OTP routes depend on the cache).
    pub async fn check(&self, username: &LoginName) -> Result<(), DomainError> {
        let key = Self::key(username);
        let failures = match self.cache.get(&key).await {
            Ok(value) => value.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0),
            Err(err) => {
                tracing::warn!(error = %err, "log-in throttle unavailable, letting the attempt through");
                return Ok(());
            }
        };
        if failures < MAX_FAILURES {
            return Ok(());
        }
        // At the limit, a hit counts nothing and tells how long is left.
        match self.cache.hit(&key, MAX_FAILURES, WINDOW).await {
            Ok(Hit::Refused { retry_after }) => Err(DomainError::TooManyRequests { retry_after }),
            Ok(Hit::Counted(_)) | Err(_) => Ok(()),
        }
    }

    pub async fn record_failure(&self, username: &LoginName) {
        if let Err(err) = self
            .cache
            .hit(&Self::key(username), MAX_FAILURES, WINDOW)
            .await
        {
            tracing::warn!(error = %err, "could not count a failed log-in");
        }
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::MockCache;

    fn name() -> LoginName {
        LoginName::parse("alice").unwrap()
    }

    #[tokio::test]
    async fn below_the_limit_passes_without_counting() {
        let mut cache = MockCache::new();
        cache
            .expect_get()
            .with(eq("todos:login-failures:alice"))
            .returning(|_| Ok(Some("9".into())));
        cache.expect_hit().never();
        LoginThrottle::new(Arc::new(cache))
            .check(&name())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn at_the_limit_is_429_with_the_time_left() {
        let mut cache = MockCache::new();
        cache.expect_get().returning(|_| Ok(Some("10".into())));
        cache.expect_hit().returning(|_, _, _| {
            Ok(Hit::Refused {
                retry_after: Duration::from_secs(600),
            })
        });
        let err = LoginThrottle::new(Arc::new(cache))
            .check(&name())
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::TooManyRequests { retry_after } if retry_after.as_secs() == 600)
        );
    }

    #[tokio::test]
    async fn a_cache_outage_fails_open() {
        let mut cache = MockCache::new();
        cache
            .expect_get()
            .returning(|_| Err(DomainError::unavailable("cache", "down")));
        cache
            .expect_hit()
            .returning(|_, _, _| Err(DomainError::unavailable("cache", "down")));
        let throttle = LoginThrottle::new(Arc::new(cache));
        throttle.check(&name()).await.unwrap();
        throttle.record_failure(&name()).await;
    }
}
