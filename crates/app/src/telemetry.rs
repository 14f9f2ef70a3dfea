use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`); stdout is
/// kept for the `listening on` line that scripts read.
///
/// A thread of its own writes them: a request formats its line and queues
/// it instead of waiting on the write to stderr (BENCHMARKS.md measures
/// what that saves). The queue blocks rather than drops when it is full,
/// so no line is lost. Keep the guard for the life of the process: it
/// writes what is still queued when dropped.
#[must_use = "dropping the guard stops the log writer"]
pub fn init() -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("todos-log-writer")
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .init();
    guard
}
