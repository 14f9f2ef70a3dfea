//! Rate limits as slots reserved in the cache before the work they guard,
//! in one atomic step each, so concurrent requests cannot slip past them.
//! Every limit fails open when the cache is unreachable: an outage must
//! not lock users out (it is logged at most once a second).

use std::{sync::Arc, time::Duration};

use crate::{Cache, DomainError, Hit, OncePerSecond};

/// Slots held by one request. Dropping it keeps them counted; the limit
/// that took them gives them back (e.g. [`LoginThrottle::release`]) when
/// the request must not count.
///
/// [`LoginThrottle::release`]: crate::LoginThrottle::release
#[derive(Debug, Default)]
#[must_use = "a reservation either counts (drop it) or is released"]
pub struct Reservation {
    keys: Vec<String>,
}

static CACHE_DOWN: OncePerSecond = OncePerSecond::new();

fn fail_open(err: &DomainError) {
    if let Some(held_back) = CACHE_DOWN.admit() {
        tracing::warn!(error = %err, held_back, "rate limits unavailable, letting requests through");
    }
}

/// Takes one slot of each `(key, limit)` in turn; the first refusal gives
/// back what was taken and answers [`DomainError::RateLimited`].
pub(crate) async fn reserve(
    cache: &Arc<dyn Cache>,
    limits: impl IntoIterator<Item = (String, u64)>,
    window: Duration,
) -> Result<Reservation, DomainError> {
    let mut reservation = Reservation::default();
    for (key, limit) in limits {
        match cache.hit(&key, limit, window).await {
            Ok(Hit::Counted(_)) => reservation.keys.push(key),
            Ok(Hit::Refused { retry_after }) => {
                release(cache, reservation).await;
                return Err(DomainError::RateLimited { retry_after });
            }
            Err(err) => {
                fail_open(&err);
                return Ok(reservation);
            }
        }
    }
    Ok(reservation)
}

pub(crate) async fn release(cache: &Arc<dyn Cache>, reservation: Reservation) {
    for key in reservation.keys {
        if let Err(err) = cache.release(&key).await {
            fail_open(&err);
        }
    }
}
