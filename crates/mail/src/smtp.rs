use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor, message::Mailbox};
use todos_domain::{DomainError, Email, Mailer};

use crate::{MailConfigError, compose};

/// Sends over SMTP. The URL picks the security: `smtps://` is implicit TLS,
/// `smtp://…?tls=required` STARTTLS, plain `smtp://` none (lettre's URL
/// format, credentials as `user:pass@`).
pub struct SmtpMailer {
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// Sends through the server at `url`, `From: from`.
    pub fn new(url: &str, from: &str) -> Result<Self, MailConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(MailConfigError::SmtpUrl)?
            .build();
        Ok(Self {
            from: compose::parse_from(from)?,
            transport,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: Email) -> Result<(), DomainError> {
        let message = compose::message(&self.from, &email)?;
        let subject = compose::subject(&message);
        match self.transport.send(message).await {
            Ok(_) => {
                tracing::info!(to = %email.to, kind = email.message.kind(), subject = %subject, "email sent");
                Ok(())
            }
            Err(e) if e.is_permanent() => Err(DomainError::unexpected(e)),
            Err(e) => Err(DomainError::unavailable("mail", e)),
        }
    }
}
