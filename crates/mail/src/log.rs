use async_trait::async_trait;
use todos_domain::{DomainError, Email, Mailer};

/// The default mailer: writes a line per message to the log. The body (which
/// may hold a one-time password) is only logged at TRACE level, for local
/// development with `RUST_LOG=todos_mail=trace`.
#[derive(Debug, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: Email) -> Result<(), DomainError> {
        tracing::info!(to = %email.to, subject = %email.subject, "email (not sent: no mail transport configured)");
        tracing::trace!(to = %email.to, body = %email.body, "email body");
        Ok(())
    }
}
