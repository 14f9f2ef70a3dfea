//! At most so many sign-ups per client address in a window (429 beyond),
//! so one client cannot fill the database with junk accounts or the
//! password-hashing queue with their hashes.

use std::{sync::Arc, time::Duration};

use super::limits::{self, Reservation};
use crate::{Cache, ClientAddress, DomainError};

#[derive(Clone)]
pub struct SignUpLimit {
    cache: Arc<dyn Cache>,
    per_client: u64,
    window: Duration,
}

impl SignUpLimit {
    /// `per_client` sign-ups per address per hour; 0 turns the limit off.
    pub fn per_hour(cache: Arc<dyn Cache>, per_client: u64) -> Self {
        Self {
            cache,
            per_client,
            window: Duration::from_secs(60 * 60),
        }
    }

    pub(crate) async fn reserve(&self, client: ClientAddress) -> Result<Reservation, DomainError> {
        if self.per_client == 0 {
            return Ok(Reservation::default());
        }
        limits::reserve(
            &self.cache,
            [(format!("todos:sign-up:{client}"), self.per_client)],
            self.window,
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
        let limit = SignUpLimit::per_hour(Arc::new(cache), 20);
        let _counted = limit.reserve(client()).await.unwrap();
    }

    #[tokio::test]
    async fn beyond_the_limit_is_429() {
        let mut cache = MockCache::new();
        cache.expect_hit().returning(|_, _, _| {
            Ok(Hit::Refused {
                retry_after: Duration::from_secs(3000),
            })
        });
        let err = SignUpLimit::per_hour(Arc::new(cache), 20)
            .reserve(client())
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::TooManyRequests { retry_after } if retry_after.as_secs() == 3000)
        );
    }

    #[tokio::test]
    async fn zero_turns_it_off() {
        let mut cache = MockCache::new();
        cache.expect_hit().never();
        let _free = SignUpLimit::per_hour(Arc::new(cache), 0)
            .reserve(client())
            .await
            .unwrap();
    }
}
