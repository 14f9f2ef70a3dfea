//! The hourly purge of what can no longer be used: sessions that ended
//! or expired (README: "Sessions") and idempotency keys past their 24
//! hours (README: "For client authors"), so neither table grows without
//! bound.

use std::time::Duration;

use todos_domain::{Sessions, Todos};
use tokio::task::JoinHandle;

/// How often; also once at start.
pub(crate) const EVERY: Duration = Duration::from_secs(60 * 60);

/// Runs until aborted. A failed purge (database down) waits for the next.
pub(crate) fn spawn(sessions: Sessions, todos: Todos, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sessions.purge().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "ended and expired sessions purged"),
                Err(err) => tracing::warn!(error = %err, "session purge failed; next in an hour"),
            }
            match todos.purge_idempotency_keys().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired idempotency keys purged"),
                Err(err) => {
                    tracing::warn!(error = %err, "idempotency key purge failed; next in an hour")
                }
            }
        }
    })
}
