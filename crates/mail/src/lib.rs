//! [`Mailer`](todos_domain::Mailer) adapters over lettre. Each renders the
//! [`Email`](todos_domain::Email)'s message from its templates and sends it
//! (or, [`LogMailer`], logs it), returning when it is handed over; queueing
//! and retries are the caller's (see `todos-app`'s background mailer).
//!
//! # Templates
//!
//! Each kind of [`Message`](todos_domain::Message) reads as the askama
//! templates in this crate's `templates/<kind>/` say: `subject.txt` (one
//! line), `text.txt` (the plain text) and `html.html` (the HTML version,
//! which extends `templates/layout.html`). The kinds are
//! `verification_code`, `email_verified`, `password_reset_code`,
//! `password_changed` and `account_deleted`. `Message::Text` has no
//! templates: it is sent as its caller's subject and plain text.
//!
//! To change an email, edit its files and rebuild (`cargo test -p
//! todos-mail` checks them): templates are compiled into the crate, and a
//! variable its kind does not have is a compile error. The variables are
//! the fields of the kind's struct in `src/render.rs` (`address`,
//! `username`, `code`, `minutes`, as the kind has them); a new one needs a
//! field there. `.html` templates HTML-escape what they print, `.txt` ones
//! print it as it is. Lines become CRLF-terminated when rendered.
//!
//! Keep the plain text ASCII and its lines at most 73 characters: lettre
//! then sends it as `7bit`, and `.eml` files hold it verbatim. Otherwise
//! the part goes out quoted-printable (never base64: see `compose.rs`),
//! where ASCII lines of at most 76 characters without `=` still read
//! verbatim, and longer ones are broken with `=` at the end of a line.
//!
//! A message is `multipart/alternative`, plain text first and HTML second,
//! or a single `text/plain` part for `Message::Text`.
//!
//! Errors worth retrying (network, I/O, SMTP 4xx) are reported as
//! `DomainError::Unavailable { component: "mail" }`; the rest as `Unexpected`.

mod compose;
mod dir;
mod log;
mod render;
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
