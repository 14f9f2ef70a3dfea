//! At most so many sign-ups per client address in a window (rate limited beyond),
//! so one client cannot fill the database with junk accounts or the
//! password-hashing queue with their hashes.

use std::sync::Arc;

use super::limits::{self, Reservation};
use crate::{Cache, ClientAddress, DomainError, Policies, SignUpPolicy};

/// Counts sign-ups per client address in the cache.
#[derive(Clone)]
pub struct SignUpLimit {
    cache: Arc<dyn Cache>,
    policy: SignUpPolicy,
    prefix: String,
}

impl SignUpLimit {
    /// A limit of `policies.sign_up` (whose `per_client` of 0 turns it
    /// off), keeping its counters under `policies.cache_prefix`.
    pub fn new(cache: Arc<dyn Cache>, policies: &Policies) -> Self {
        Self {
            cache,
            policy: policies.sign_up,
            prefix: policies.cache_prefix.clone(),
        }
    }

    pub(crate) async fn reserve(&self, client: ClientAddress) -> Result<Reservation, DomainError> {
        if self.policy.per_client == 0 {
            return Ok(Reservation::default());
        }
        limits::reserve(
            &self.cache,
            [(
                format!("{}sign-up:{client}", self.prefix),
                self.policy.per_client,
            )],
            self.policy.window,
        )
        .await
    }

    pub(crate) async fn release(&self, reservation: Reservation) {
        limits::release(&self.cache, reservation).await;
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use std::time::Duration;

    use super::*;
    use crate::{Hit, MockCache};

    fn client() -> ClientAddress {
        ClientAddress::new("2001:db8::7".parse().unwrap())
    }

    #[tokio::test]
    async fn counts_per_address_in_an_hour() {
        let mut cache = MockCache::new();
        cache
            .expect_hit()
            .with(
                eq("todos:sign-up:2001:db8::/64"),
                eq(20),
                eq(Duration::from_secs(3600)),
            )
            .times(1)
            .returning(|_, _, _| Ok(Hit::Counted(1)));
        let limit = SignUpLimit::new(Arc::new(cache), &Policies::default());
        let _counted = limit.reserve(client()).await.unwrap();
    }

    #[tokio::test]
    async fn beyond_the_limit_is_rate_limited() {
        let mut cache = MockCache::new();
        cache.expect_hit().returning(|_, _, _| {
            Ok(Hit::Refused {
                retry_after: Duration::from_secs(3000),
            })
        });
        let err = SignUpLimit::new(Arc::new(cache), &Policies::default())
            .reserve(client())
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::RateLimited { retry_after } if retry_after.as_secs() == 3000)
        );
    }

    #[tokio::test]
    async fn zero_turns_it_off() {
        let mut cache = MockCache::new();
        cache.expect_hit().never();
        let _free = SignUpLimit::new(Arc::new(cache), &per_client(0))
            .reserve(client())
            .await
            .unwrap();
    }

    fn per_client(limit: u64) -> Policies {
        Policies {
            sign_up: SignUpPolicy {
                per_client: limit,
                ..SignUpPolicy::default()
            },
            ..Policies::default()
        }
    }
}
