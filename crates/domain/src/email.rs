use std::fmt;

use crate::DomainError;

const MAX_EMAIL_CHARS: usize = 256;

/// A plausible email address of at most 256 characters, kept as given
/// (local parts are case-sensitive; every database compares it exactly).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = || {
            DomainError::invalid(
                "email",
                "must be a valid email address of at most 256 characters",
            )
        };
        if raw.chars().count() > MAX_EMAIL_CHARS {
            return Err(invalid());
        }
        let parsed: email_address::EmailAddress = raw.parse().map_err(|_| invalid())?;
        // Display names (`Ann <a@b.c>`) parse too; only a bare address is plausible input.
        if parsed.email() != raw || !parsed.domain().contains('.') {
            return Err(invalid());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A one-time password as typed by the user: exactly 6 ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Otp(String);

impl Otp {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::invalid("otp", "must be exactly 6 digits"))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Otp(<redacted>)")
    }
}

/// A message for the [`Mailer`](crate::Mailer). Its body may hold a code,
/// so `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: EmailAddress,
    pub subject: String,
    pub body: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert_eq!(
            EmailAddress::parse("Ann@Example.COM").unwrap().as_str(),
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
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
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
