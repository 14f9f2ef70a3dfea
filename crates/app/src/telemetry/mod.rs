mod json_lines;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt::format::JsonFields};

use crate::config::LogFormat;

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`); stdout is
/// kept for the `listening on` line that scripts read.
///
/// `format` is `TODOS_LOG_FORMAT`: text lines, or one flat JSON object a
/// line (`time`, `level`, `message`, the request's `request_id`, `method`,
/// `route`, `path`, and the event's fields such as `status` and
/// `latency_us`); README: "Running with metrics".
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
            .fmt_fields(JsonFields::new())
            .event_format(json_lines::JsonLines)
            .init(),
    }
    guard
}
