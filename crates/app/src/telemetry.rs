use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`); stdout is
/// kept for the `listening on` line that scripts read.
///
/// `format` is `TODOS_LOG_FORMAT`: text lines, or one JSON object a line
/// with the event's fields at the top (`timestamp`, `level`, `message`,
/// `status`, `latency_us`, …) and the request's span under `span`
/// (`request_id`, `method`, `route`, `path`); README: "Running with
/// metrics".
///
/// A thread of its own writes them: a request formats its line and queues
/// it instead of waiting on the write to stderr (BENCHMARKS.md measures
/// what that saves). The queue blocks rather than drops when it is full,
/// so no line is lost. Keep the guard for the life of the process: it
/// writes what is still queued when dropped.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("todos-log-writer")
        .finish(std::io::stderr());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    guard
}
