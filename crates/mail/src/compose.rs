use lettre::{
    Message,
    message::{Mailbox, header::ContentType},
};
use todos_domain::{DomainError, Email};

use crate::MailConfigError;

/// A plain-text UTF-8 message from `from` to the email's recipient.
pub(crate) fn message(from: &Mailbox, email: &Email) -> Result<Message, DomainError> {
    let to: Mailbox = email
        .to
        .as_str()
        .parse()
        .map_err(|e| DomainError::unexpected(format!("recipient is not a mailbox: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(email.body.clone())
        .map_err(|e| DomainError::unexpected(format!("cannot build message: {e}")))
}

pub(crate) fn parse_from(from: &str) -> Result<Mailbox, MailConfigError> {
    from.parse().map_err(|source| MailConfigError::Sender {
        from: from.to_owned(),
        source,
    })
}
