use std::fmt;

use crate::DomainError;

const MAX_EMAIL_CHARS: usize = 256;

/// A plain email address, `local@domain`, of at most 256 characters: no
/// display name, quoted local part (`"a b"@x.co`), IP literal
/// (`a@[127.0.0.1]`) or comment, and a domain with a dot. Kept as given
/// for storing and mailing; compared and keyed by [`EmailAddress::key`].
///
/// ```
/// use todos_domain::EmailAddress;
///
/// let address = EmailAddress::parse("Ann@Example.com").unwrap();
/// assert_eq!(address.as_str(), "Ann@Example.com");
/// assert_eq!(address.key().as_str(), "ann@example.com");
/// assert!(EmailAddress::parse("Ann <ann@example.com>").is_err());
/// assert!(EmailAddress::parse("ann@localhost").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address as a user typed it, by the rules above.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = || {
            DomainError::invalid(
                "email",
                "must be a plain address (local@domain: no quotes, IP literal or comment) \
                 of at most 256 characters",
            )
        };
        if raw.chars().count() > MAX_EMAIL_CHARS {
            return Err(invalid());
        }
        // The crate parses no comments at all; it allows the rest unless told.
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        let parsed =
            email_address::EmailAddress::parse_with_options(raw, options).map_err(|_| invalid())?;
        if parsed.local_part().starts_with('"') {
            return Err(invalid());
        }
        Ok(Self(raw.to_owned()))
    }

    /// An address read back from a store: it was valid when stored, and
    /// is not checked again (rules may have tightened since, and a user
    /// must not lose their address to that).
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as uniqueness and per-address limits see it.
    pub fn key(&self) -> EmailKey {
        EmailKey::of(&self.0)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address in lower case (Unicode `to_lowercase`): addresses that
/// differ only in letter case are one address for uniqueness and limits.
/// Mailbox providers treat them as one in practice, whatever RFC 5321 lets
/// a local part do. No `Display`: it is a key, never an address to mail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailKey(String);

impl EmailKey {
    /// Of any stored address, valid under today's rules or not: the
    /// migration keys existing rows with this same function.
    pub fn of(address: &str) -> Self {
        Self(address.to_lowercase())
    }

    /// The key as stored and used in cache keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A one-time password as typed by the user: exactly 6 ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Otp(String);

impl Otp {
    /// Parses a code as typed: exactly six ASCII digits.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::invalid("otp", "must be exactly 6 digits"))
        }
    }

    /// The digits, for the email that carries them.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Otp(<redacted>)")
    }
}

/// A message for the [`Mailer`](crate::Mailer): whom to, and what to say.
/// How it reads (subject, plain text, HTML) is the mail adapter's: the
/// `todos-mail` crate renders each [`Message`] from its templates.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient.
    pub to: EmailAddress,
    /// What the email says.
    pub message: Message,
}

/// What an [`Email`] says, with the facts its text needs. New kinds may
/// come in later versions, so a `match` needs a catch-all arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A code that verifies the recipient's address.
    VerificationCode {
        /// The code (its `Debug` is redacted).
        code: Otp,
        /// How long it is valid.
        valid_for: std::time::Duration,
    },
    /// The recipient's address is now the verified address of an account.
    EmailVerified {
        /// The account's name.
        username: String,
    },
    /// A code that resets the password of the account whose verified
    /// address the recipient is.
    PasswordResetCode {
        /// The account's name.
        username: String,
        /// The code (its `Debug` is redacted).
        code: Otp,
        /// How long it is valid.
        valid_for: std::time::Duration,
    },
    /// The account's password was changed (by its owner, or by a reset).
    PasswordChanged {
        /// The account's name.
        username: String,
    },
    /// The account was deleted, with its todos and sessions.
    AccountDeleted {
        /// The account's name.
        username: String,
    },
    /// Plain text of the caller's own, for services built on this crate
    /// that send mail the `todos` service does not.
    Text {
        /// The subject line.
        subject: String,
        /// Plain text, lines ending in CRLF.
        body: String,
    },
}

impl Message {
    /// A short name of the kind of message, for logs (never its content).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::VerificationCode { .. } => "verification code",
            Self::EmailVerified { .. } => "email verified",
            Self::PasswordResetCode { .. } => "password reset code",
            Self::PasswordChanged { .. } => "password changed",
            Self::AccountDeleted { .. } => "account deleted",
            Self::Text { .. } => "text",
        }
    }
}

/// Leaves the message out: it may hold a code or someone's text.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("kind", &self.message.kind())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_s_debug_names_its_kind_and_hides_its_content() {
        let to = EmailAddress::parse("ann@example.com").unwrap();
        let code = Otp::parse("042917").unwrap();
        let emails = [
            Message::VerificationCode {
                code: code.clone(),
                valid_for: std::time::Duration::from_secs(180),
            },
            Message::PasswordResetCode {
                username: "ann".into(),
                code,
                valid_for: std::time::Duration::from_secs(900),
            },
            Message::Text {
                subject: "hello".into(),
                body: "private words".into(),
            },
        ]
        .map(|message| {
            format!(
                "{:?}",
                Email {
                    to: to.clone(),
                    message
                }
            )
        });
        assert_eq!(
            emails[0],
            r#"Email { to: EmailAddress("ann@example.com"), kind: "verification code", .. }"#
        );
        assert!(
            emails[1].contains(r#"kind: "password reset code""#),
            "{}",
            emails[1]
        );
        assert!(emails[2].contains(r#"kind: "text""#), "{}", emails[2]);
        for debug in &emails {
            for secret in ["042917", "private", "hello"] {
                assert!(!debug.contains(secret), "{debug}");
            }
        }
    }

    #[test]
    fn email_rules() {
        assert_eq!(
            EmailAddress::parse("Ann@Example.COM").unwrap().as_str(),
            "Ann@Example.COM"
        );
        assert_eq!(
            EmailAddress::parse("Ann@Example.COM").unwrap().to_string(),
            "Ann@Example.COM"
        );
        assert!(EmailAddress::parse("a\0b@example.com").is_err());
        for bad in [
            "",
            "plain",
            "a@b",
            "@example.com",
            "a b@example.com",
            "Ann <a@example.com>",
            "a@example.com ",
            "\"a b\"@example.com",
            "\"ab\"@example.com",
            "a@[127.0.0.1]",
            "a@[IPv6:::1]",
            "a(comment)@example.com",
            "a@example.com(comment)",
            "(comment)a@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    /// `local@domain` of `chars` characters that the address rules alone
    /// would take (local part ≤ 64, domain labels ≤ 63): only our length
    /// limit can refuse it.
    fn address_of(chars: usize) -> String {
        let domain_chars = chars - 65;
        let last = domain_chars - 2 * 64 - 4;
        format!(
            "{}@{}.{}.{}.com",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(last)
        )
    }

    #[test]
    fn addresses_may_have_256_characters_and_no_more() {
        let longest = address_of(256);
        assert_eq!(longest.chars().count(), 256);
        assert_eq!(EmailAddress::parse(&longest).unwrap().as_str(), longest);
        let too_long = address_of(257);
        assert_eq!(too_long.chars().count(), 257);
        assert!(EmailAddress::parse(&too_long).is_err());
        assert!(
            email_address::EmailAddress::parse_with_options(
                &too_long,
                email_address::Options::default()
            )
            .is_ok(),
            "refused by our limit, not by the address rules"
        );
    }

    #[test]
    fn keys_ignore_letter_case_and_addresses_keep_it() {
        let mixed = EmailAddress::parse("Ann.Lee@Example.COM").unwrap();
        assert_eq!(mixed.as_str(), "Ann.Lee@Example.COM");
        assert_eq!(mixed.key().as_str(), "ann.lee@example.com");
        assert_eq!(
            mixed.key(),
            EmailAddress::parse("ann.lee@example.com").unwrap().key()
        );
        assert_eq!(EmailKey::of("\u{c9}mile@X.CO").as_str(), "\u{e9}mile@x.co");
        assert!(EmailAddress::parse("first.last+tag@sub.example.co").is_ok());
    }

    #[test]
    fn otp_rules() {
        assert!(Otp::parse("012345").is_ok());
        for bad in ["12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345", ""] {
            assert!(Otp::parse(bad).is_err(), "{bad:?}");
        }
        assert!(!format!("{:?}", Otp::parse("654321").unwrap()).contains("654321"));
    }
}
