use async_trait::async_trait;
use todos_domain::{DomainError, Email, Mailer};

use crate::render;

/// The default mailer: renders each message and writes a line per message
/// to the log. The plain text (which may hold a one-time password) is only
/// logged at TRACE level, for local development with
/// `RUST_LOG=todos_mail=trace`; the HTML version is not logged.
#[derive(Debug, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: Email) -> Result<(), DomainError> {
        let rendered = render::render(&email)?;
        tracing::info!(
            to = %email.to,
            kind = email.message.kind(),
            subject = %rendered.subject,
            "email (not sent: no mail transport configured)"
        );
        tracing::trace!(to = %email.to, body = %rendered.text, "email body");
        Ok(())
    }
}
