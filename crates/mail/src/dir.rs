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
        let id = self
            .transport
            .send(message)
            .await
            .map_err(|e| DomainError::unavailable("mail", e))?;
        tracing::info!(to = %email.to, subject = %email.subject, file = %self.dir.join(format!("{id}.eml")).display(), "email written");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use todos_domain::EmailAddress;

    use super::*;

    #[tokio::test]
    async fn writes_one_eml_file_per_message_into_a_new_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("outbox");
        let mailer = DirMailer::new(&dir, crate::DEFAULT_FROM).unwrap();
        for n in 0..2 {
            mailer
                .send(Email {
                    to: EmailAddress::parse("ann@example.com").unwrap(),
                    subject: format!("hello {n}"),
                    body: "Your verification code is 123456.".into(),
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
        assert!(text.contains("123456"), "{text}");
    }
}
