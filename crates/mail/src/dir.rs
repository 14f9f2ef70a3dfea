use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor, message::Mailbox};
use todos_domain::{DomainError, Email, Mailer};

use crate::{MailConfigError, compose};

/// Writes each message as one `<uuid>.eml` file into a directory, which is
/// created if missing. For development and tests: read the code from the file.
pub struct DirMailer {
    from: Mailbox,
    dir: PathBuf,
    transport: AsyncFileTransport<Tokio1Executor>,
}

impl DirMailer {
    /// Writes into `dir` (created now if missing), `From: from`.
    pub fn new(dir: &Path, from: &str) -> Result<Self, MailConfigError> {
        std::fs::create_dir_all(dir).map_err(|source| MailConfigError::Dir {
            dir: dir.to_owned(),
            source,
        })?;
        Ok(Self {
            from: compose::parse_from(from)?,
            dir: dir.to_owned(),
            transport: AsyncFileTransport::new(dir),
        })
    }
}

#[async_trait]
impl Mailer for DirMailer {
    async fn send(&self, email: Email) -> Result<(), DomainError> {
        let message = compose::message(&self.from, &email)?;
        let subject = compose::subject(&message);
        let id = self
            .transport
            .send(message)
            .await
            .map_err(|e| DomainError::unavailable("mail", e))?;
        tracing::info!(
            to = %email.to,
            kind = email.message.kind(),
            subject = %subject,
            file = %self.dir.join(format!("{id}.eml")).display(),
            "email written"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use todos_domain::{EmailAddress, Message, Otp};

    use super::*;

    #[tokio::test]
    async fn writes_one_eml_file_per_message_into_a_new_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("outbox");
        let mailer = DirMailer::new(&dir, crate::DEFAULT_FROM).unwrap();
        for _ in 0..2 {
            mailer
                .send(Email {
                    to: EmailAddress::parse("ann@example.com").unwrap(),
                    message: Message::VerificationCode {
                        code: Otp::parse("123456").unwrap(),
                        valid_for: Duration::from_secs(180),
                    },
                })
                .await
                .unwrap();
        }
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 2);
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(files[0].extension().unwrap() == "eml");
        assert!(text.contains("To: ann@example.com"), "{text}");
        assert!(
            text.contains("Subject: Your todos verification code\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: multipart/alternative;"),
            "{text}"
        );
        let plain = text
            .find("Content-Type: text/plain; charset=utf-8")
            .expect(&text);
        let html = text
            .find("Content-Type: text/html; charset=utf-8")
            .expect(&text);
        assert!(plain < html, "plain text first: {text}");
        // ASCII text with short lines: 7bit, so the file holds it verbatim.
        assert!(
            text.contains("Your verification code is 123456.\r\n"),
            "{text}"
        );
        assert!(text.contains("<strong>123456</strong>"), "{text}");
    }
}
