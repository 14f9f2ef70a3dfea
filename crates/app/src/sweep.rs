//! The hourly purge of sessions that can no longer be used (ended or
//! expired), so the session table does not grow without bound (README:
//! "Sessions").

use std::time::Duration;

use todos_domain::Sessions;
use tokio::task::JoinHandle;

/// How often; also once at start.
pub(crate) const EVERY: Duration = Duration::from_secs(60 * 60);

/// Runs until aborted. A failed purge (database down) waits for the next.
pub(crate) fn spawn(sessions: Sessions, every: Duration) -> JoinHandle<()> {
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
        }
    })
}
