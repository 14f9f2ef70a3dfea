//! Work that must finish even when the client hangs up.
//!
//! hyper drops a handler's future when its connection closes. For most
//! routes that is right: nothing was answered, nothing is lost. A password
//! check is different: the log-in throttle takes a slot before the check
//! and gives it back after a right password, so a check dropped halfway
//! kept its slot, and ten log-ins whose clients timed out locked the owner
//! out for 15 minutes (README, "Abuse resistance"). Such work runs on a
//! task of its own, which the request only waits for.

use std::panic;

use tracing::Instrument;

/// Runs `work` to its end on a task of its own (in the request's span) and
/// answers its output; if the request is dropped meanwhile, `work` still
/// finishes. A panic in `work` is the request's panic.
pub(crate) async fn to_completion<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> T {
    match tokio::spawn(work.in_current_span()).await {
        Ok(output) => output,
        Err(err) if err.is_panic() => panic::resume_unwind(err.into_panic()),
        // Only a runtime shutting down cancels a task, and it takes this
        // request with it.
        Err(err) => panic!("the runtime dropped a request's work: {err}"),
    }
}
