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

use std::path::PathBuf;

pub use dir::DirMailer;
pub use log::LogMailer;
pub use smtp::SmtpMailer;

/// A mail transport that cannot be set up as configured.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// The `From:` address is not a mailbox.
    #[error("invalid sender address {from:?}")]
    Sender {
        /// As configured.
        from: String,
        /// Why lettre refused it.
        #[source]
        source: lettre::address::AddressError,
    },
    /// The SMTP URL is malformed.
    #[error("invalid SMTP_URL")]
    SmtpUrl(#[source] lettre::transport::smtp::Error),
    /// The `.eml` directory cannot be created.
    #[error("cannot create mail directory {}", dir.display())]
    Dir {
        /// As configured.
        dir: PathBuf,
        /// Why it cannot.
        #[source]
        source: std::io::Error,
    },
}

/// `From:` of every message unless configured otherwise.
pub const DEFAULT_FROM: &str = "todos <noreply@todos.localhost>";
