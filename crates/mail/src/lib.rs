//! [`Mailer`](todos_domain::Mailer) adapters over lettre. Each sends one
//! plain-text message and returns when it is handed over; queueing and
//! retries are the caller's (see `todos-app`'s background mailer).
//!
//! Errors worth retrying (network, I/O, SMTP 4xx) are reported as
//! `DomainError::Unavailable { component: "mail" }`; the rest as `Unexpected`.

mod compose;
mod dir;
mod log;
mod smtp;

pub use dir::DirMailer;
pub use log::LogMailer;
pub use smtp::SmtpMailer;

/// `From:` of every message unless configured otherwise.
pub const DEFAULT_FROM: &str = "todos <noreply@todos.localhost>";
