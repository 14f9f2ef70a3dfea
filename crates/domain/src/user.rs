use std::fmt;

use crate::DomainError;

const MAX_USERNAME_CHARS: usize = 256;
const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 1024;

/// Database id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A username as a new account may take it: 1–256 characters, no leading or
/// trailing whitespace, no control characters. Stored exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        let chars = raw.chars().count();
        if chars == 0 || chars > MAX_USERNAME_CHARS {
            return Err(DomainError::invalid(
                "username",
                format!("must be 1 to {MAX_USERNAME_CHARS} characters"),
            ));
        }
        if raw.trim() != raw {
            return Err(DomainError::invalid(
                "username",
                "must not start or end with whitespace",
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "username",
                "must not contain control characters",
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A username offered at log-in: 1–256 characters without NUL. Looser
/// than [`Username`] so that accounts named under the old service's rules
/// can still log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginName(String);

impl LoginName {
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        let chars = raw.chars().count();
        if chars == 0 || chars > MAX_USERNAME_CHARS || raw.contains('\0') {
            return Err(DomainError::invalid(
                "username",
                format!("must be 1 to {MAX_USERNAME_CHARS} characters, without NUL"),
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password offered at log-in. Only bounded in length (1–1024 characters):
/// accounts from the old service may have passwords that predate the
/// [`NewPassword`] rules and must still be able to log in. The bound keeps
/// hashing cost in check.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Self, DomainError> {
        let chars = raw.chars().count();
        if chars == 0 || chars > MAX_PASSWORD_CHARS {
            return Err(DomainError::invalid(
                "password",
                format!("must be 1 to {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A password for a new account: 8–1024 characters.
#[derive(Clone)]
pub struct NewPassword(Password);

impl NewPassword {
    pub fn parse(raw: String) -> Result<Self, DomainError> {
        let chars = raw.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(DomainError::invalid(
                "password",
                format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        Ok(Self(Password(raw)))
    }

    /// Wraps a password that has just been verified against a stored hash,
    /// to rehash it under the current scheme.
    pub(crate) fn from_verified(password: Password) -> Self {
        Self(password)
    }

    pub fn as_password(&self) -> &Password {
        &self.0
    }
}

// Secrets never print, not even in debug output or panics.
macro_rules! redacted_debug {
    ($($ty:ty),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($ty), "(<redacted>)"))
            }
        }
    )*};
}
redacted_debug!(Password, NewPassword, PasswordHash, AccessToken);

/// A stored password hash as a self-describing string (PHC `$argon2id$…`, or
/// a legacy bcrypt `$2b$…`), so the verifier can tell which scheme made it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(encoded: String) -> Self {
        Self(encoded)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A signed bearer token handed to a client after log-in.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A user as the rest of the system sees it: no secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// A user together with the stored hash, only for checking a log-in.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: PasswordHash,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(Username::parse("a").is_ok());
        assert!(Username::parse("ünïcødé 名前").is_ok());
        assert!(Username::parse("x".repeat(256)).is_ok());
        assert!(
            Username::parse("é".repeat(256)).is_ok(),
            "counts characters, not bytes"
        );
        assert!(Username::parse("x".repeat(257)).is_err());
        assert!(Username::parse("").is_err());
        assert!(Username::parse(" bob").is_err());
        assert!(Username::parse("bob\t").is_err());
        assert!(Username::parse("b\u{0}ob").is_err());
        assert!(Username::parse("b\nob").is_err());
        assert!(LoginName::parse(" legacy name ").is_ok());
        assert!(LoginName::parse("a\0").is_err());
        assert!(LoginName::parse("").is_err());
    }

    #[test]
    fn password_rules() {
        assert!(NewPassword::parse("1234567".into()).is_err());
        assert!(NewPassword::parse("12345678".into()).is_ok());
        assert!(NewPassword::parse("é".repeat(1024)).is_ok());
        assert!(NewPassword::parse("x".repeat(1025)).is_err());
        assert!(Password::parse("short".into()).is_ok());
        assert!(Password::parse(String::new()).is_err());
        assert!(Password::parse("x".repeat(1025)).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let p = Password::parse("hunter2hunter2".into()).unwrap();
        let h = PasswordHash::new("$argon2id$secret".into());
        let t = AccessToken::new("eyJsecret".into());
        let all = format!("{p:?} {h:?} {t:?}");
        assert!(!all.contains("hunter2") && !all.contains("secret"), "{all}");
    }
}
