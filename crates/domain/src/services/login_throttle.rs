//! Slows down password guessing. Every log-in attempt reserves a slot
//! before its password is checked, in one atomic step of the cache, so
//! however many attempts arrive at once, at most [`LoginPolicy::per_client`]
//! passwords are checked per username and client address in a window, and
//! at most [`LoginPolicy::per_username`] per username from all addresses
//! together. Beyond that: [`DomainError::RateLimited`] until the window, which
//! starts at the first counted attempt, has passed.
//!
//! A success gives its own slot back, so the owner's log-ins never count
//! against them; wrong passwords and unknown usernames keep theirs. Being
//! keyed by address too, a stranger's wrong guesses do not lock the owner
//! out from their own address (short of the per-username cap).
//!
//! State lives in the cache port, so on Redis every instance sees the same
//! counts. When the cache is unreachable the throttle fails open: an
//! outage must not lock every user out.

use std::sync::Arc;

use super::limits::{self, Reservation};
use crate::{Cache, ClientAddress, DomainError, LoginName, LoginPolicy, Policies};

/// Counts log-in attempts in the cache (see the module documentation).
#[derive(Clone)]
pub struct LoginThrottle {
    cache: Arc<dyn Cache>,
    policy: LoginPolicy,
    prefix: String,
}

impl LoginThrottle {
    /// A throttle with `policies.login`, keeping its counters under
    /// `policies.cache_prefix`.
    pub fn new(cache: Arc<dyn Cache>, policies: &Policies) -> Self {
        Self {
            cache,
            policy: policies.login,
            prefix: policies.cache_prefix.clone(),
        }
    }

    /// Reserves one attempt for `username` from `client`, or refuses with
    /// [`DomainError::RateLimited`] when either limit is reached.
    pub async fn reserve(
        &self,
        username: &LoginName,
        client: ClientAddress,
    ) -> Result<Reservation, DomainError> {
        let prefix = &self.prefix;
        // The address comes first: it holds no space, so the key is unambiguous.
        let per_client = format!("{prefix}login:client:{client} {}", username.as_str());
        let per_username = format!("{prefix}login:user:{}", username.as_str());
        limits::reserve(
            &self.cache,
            [
                (per_client, self.policy.per_client),
                (per_username, self.policy.per_username),
            ],
            self.policy.window,
        )
        .await
    }

    /// Gives the attempt's slots back: it succeeded, or never got to
    /// check a password.
    pub async fn release(&self, attempt: Reservation) {
        limits::release(&self.cache, attempt).await;
    }

    /// Runs `check`, a password check of `username`'s, as one attempt:
    /// reserved before it runs; kept when it fails as a wrong guess
    /// ([`DomainError::NotAuthenticated`], or [`DomainError::UserNotFound`]
    /// at an unknown name), given back otherwise (a success, or a failure
    /// that checked no password: overload, outage).
    pub async fn attempt<T>(
        &self,
        username: &LoginName,
        client: ClientAddress,
        check: impl Future<Output = Result<T, DomainError>>,
    ) -> Result<T, DomainError> {
        let attempt = self.reserve(username, client).await?;
        let outcome = check.await;
        match &outcome {
            Err(DomainError::NotAuthenticated | DomainError::UserNotFound) => drop(attempt),
            _ => self.release(attempt).await,
        }
        outcome
    }
}

/// [`LoginThrottle::attempt`] when there is a throttle, `check` alone when not.
pub(crate) async fn throttled<T>(
    throttle: Option<&LoginThrottle>,
    username: &LoginName,
    client: ClientAddress,
    check: impl Future<Output = Result<T, DomainError>>,
) -> Result<T, DomainError> {
    match throttle {
        Some(throttle) => throttle.attempt(username, client, check).await,
        None => check.await,
    }
}

#[cfg(test)]
mod tests {
    use mockall::{Sequence, predicate::eq};

    use std::time::Duration;

    use super::*;
    use crate::{Hit, MockCache};

    fn name() -> LoginName {
        LoginName::parse("alice").unwrap()
    }

    fn client() -> ClientAddress {
        ClientAddress::new("192.0.2.1".parse().unwrap())
    }

    const PER_CLIENT: &str = "todos:login:client:192.0.2.1 alice";
    const PER_USER: &str = "todos:login:user:alice";
    const WINDOW: Duration = Duration::from_secs(900);

    #[tokio::test]
    async fn an_attempt_reserves_a_slot_per_client_and_per_username_and_releases_both() {
        let mut cache = MockCache::new();
        let mut order = Sequence::new();
        cache
            .expect_hit()
            .with(eq(PER_CLIENT), eq(10), eq(WINDOW))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(Hit::Counted(1)));
        cache
            .expect_hit()
            .with(eq(PER_USER), eq(100), eq(WINDOW))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(Hit::Counted(1)));
        cache
            .expect_release()
            .with(eq(PER_CLIENT))
            .times(1)
            .returning(|_| Ok(()));
        cache
            .expect_release()
            .with(eq(PER_USER))
            .times(1)
            .returning(|_| Ok(()));
        let throttle = LoginThrottle::new(Arc::new(cache), &Policies::default());
        let attempt = throttle.reserve(&name(), client()).await.unwrap();
        throttle.release(attempt).await;
    }

    #[tokio::test]
    async fn a_refusal_per_client_is_rate_limited_with_the_time_left_and_reserves_nothing() {
        let mut cache = MockCache::new();
        cache
            .expect_hit()
            .with(eq(PER_CLIENT), eq(10), eq(WINDOW))
            .returning(|_, _, _| {
                Ok(Hit::Refused {
                    retry_after: Duration::from_secs(600),
                })
            });
        cache.expect_release().never();
        let err = LoginThrottle::new(Arc::new(cache), &Policies::default())
            .reserve(&name(), client())
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::RateLimited { retry_after } if retry_after.as_secs() == 600)
        );
    }

    #[tokio::test]
    async fn a_refusal_per_username_gives_the_client_slot_back() {
        let mut cache = MockCache::new();
        cache
            .expect_hit()
            .with(eq(PER_CLIENT), eq(10), eq(WINDOW))
            .returning(|_, _, _| Ok(Hit::Counted(3)));
        cache
            .expect_hit()
            .with(eq(PER_USER), eq(100), eq(WINDOW))
            .returning(|_, _, _| {
                Ok(Hit::Refused {
                    retry_after: Duration::from_secs(7),
                })
            });
        cache
            .expect_release()
            .with(eq(PER_CLIENT))
            .times(1)
            .returning(|_| Ok(()));
        let err = LoginThrottle::new(Arc::new(cache), &Policies::default())
            .reserve(&name(), client())
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::RateLimited { retry_after } if retry_after.as_secs() == 7)
        );
    }

    #[tokio::test]
    async fn the_policies_set_the_limits_the_window_and_the_key_prefix() {
        let mut cache = MockCache::new();
        cache
            .expect_hit()
            .with(
                eq("app:login:client:192.0.2.1 alice"),
                eq(3),
                eq(Duration::from_secs(60)),
            )
            .times(1)
            .returning(|_, _, _| Ok(Hit::Counted(1)));
        cache
            .expect_hit()
            .with(
                eq("app:login:user:alice"),
                eq(30),
                eq(Duration::from_secs(60)),
            )
            .times(1)
            .returning(|_, _, _| Ok(Hit::Counted(1)));
        let policies = Policies {
            cache_prefix: "app:".into(),
            login: LoginPolicy {
                per_client: 3,
                per_username: 30,
                window: Duration::from_secs(60),
            },
            ..Policies::default()
        };
        let attempt = LoginThrottle::new(Arc::new(cache), &policies)
            .reserve(&name(), client())
            .await
            .unwrap();
        drop(attempt);
    }

    #[tokio::test]
    async fn a_cache_outage_fails_open() {
        let mut cache = MockCache::new();
        cache
            .expect_hit()
            .returning(|_, _, _| Err(DomainError::unavailable("cache", "down")));
        cache.expect_release().never();
        let throttle = LoginThrottle::new(Arc::new(cache), &Policies::default());
        let attempt = throttle.reserve(&name(), client()).await.unwrap();
        throttle.release(attempt).await;
    }
}
