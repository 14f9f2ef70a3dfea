use std::fmt;

use unicode_normalization::is_nfc;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::{DomainError, EmailAddress, sha256_hex};

const MAX_USERNAME_CHARS: usize = 256;
const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 1024;

/// Database id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A username as a new account may take it: 1–256 characters, no leading or
/// trailing whitespace, no control or format characters (Unicode `Cc`,
/// `Cf`: zero-width spaces and joiners, bidi controls, …), in Unicode
/// normalization form C. Stored exactly as given, compared by code points,
/// so a name has one spelling and nothing in it is invisible.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Parses a name for a new account, by the rules above.
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
        if raw
            .chars()
            .any(|c| c.general_category() == GeneralCategory::Format)
        {
            return Err(DomainError::invalid(
                "username",
                "must not contain format characters (Unicode Cf: zero-width and bidi controls, …)",
            ));
        }
        if !is_nfc(&raw) {
            return Err(DomainError::invalid(
                "username",
                "must be in Unicode normalization form C (NFC)",
            ));
        }
        Ok(Self(raw))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the name looks like; see [`UsernameSkeleton`].
    pub fn skeleton(&self) -> UsernameSkeleton {
        UsernameSkeleton::of(&self.0)
    }

    /// Whether a new account of this name would be mistaken for the account
    /// `existing`: the same name, or the same confusable skeleton unless
    /// both names are ASCII (`аlice` with a Cyrillic а is `alice`; `rn` and
    /// `m` are both ASCII and stay two names, as they always were).
    pub fn is_confusable_with(&self, existing: &str) -> bool {
        self.0 == existing
            || (!(self.0.is_ascii() && existing.is_ascii())
                && self.skeleton() == UsernameSkeleton::of(existing))
    }
}

/// What a username looks like: the SHA-256 (hex) of its confusable
/// skeleton as Unicode TR39 defines it (NFD, default-ignorables dropped,
/// each character mapped to its prototype, NFD again), so `аlice` with a
/// Cyrillic а and `alice` share one.
///
/// The skeleton comes from `unicode-security` (unicode-rs, the crate behind
/// rustc's confusable-identifier lint), which implements TR39's definition
/// as written and tracks the Unicode version of `unicode-normalization`.
/// `decancer` was not chosen: its "cure" also folds case and strips
/// characters, a moderation heuristic rather than TR39.
///
/// A digest, not the skeleton: one character may map to up to 18, and a
/// fixed 64 ASCII characters index on every database and compare alike
/// under any collation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsernameSkeleton(String);

impl UsernameSkeleton {
    /// Of any stored name, valid under today's rules or not: the migration
    /// fills it for existing accounts with this same function.
    pub fn of(name: &str) -> Self {
        let skeleton: String = unicode_security::skeleton(name).collect();
        Self(sha256_hex(skeleton.as_bytes()))
    }

    /// The digest, 64 lower-case hex digits.
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
    /// Parses a name as typed at log-in.
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

    /// The name.
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
    /// Parses a password as typed at log-in.
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

    /// The password itself, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A password for a new account: 8–1024 characters.
#[derive(Clone)]
pub struct NewPassword(Password);

impl NewPassword {
    /// Parses a password chosen for a new account.
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

    /// The password, to hash it.
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
    /// Wraps a hash as the hasher made it or the store kept it.
    pub fn new(encoded: String) -> Self {
        Self(encoded)
    }

    /// The encoded hash, for the store and the verifier only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A signed bearer token handed to a client after log-in.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token the token codec signed.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself, for the response to the client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A user as the rest of the system sees it: no secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The store's id.
    pub id: UserId,
    /// The name as stored: valid under the rules of when it was taken
    /// (the old service's were looser than [`Username`]'s).
    pub username: String,
    /// The address the user proved to receive mail at, if any. An
    /// address is only ever kept once verified.
    pub verified_email: Option<EmailAddress>,
}

/// A user together with the stored hash, only for checking a log-in.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Who is logging in.
    pub user: User,
    /// Their stored hash.
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
        assert!(
            LoginName::parse("alice\u{200b}").is_ok(),
            "log-in stays loose"
        );
        assert!(LoginName::parse("a\0").is_err());
        assert!(LoginName::parse("").is_err());
        assert_eq!(Username::parse("ünï").unwrap().to_string(), "ünï");
    }

    #[test]
    fn names_may_have_256_characters_and_no_more() {
        for name in ["x".repeat(256), "é".repeat(256)] {
            assert_eq!(LoginName::parse(name.clone()).unwrap().as_str(), name);
        }
        assert!(LoginName::parse("x".repeat(257)).is_err());
        assert!(LoginName::parse("é".repeat(257)).is_err());
    }

    #[test]
    fn usernames_are_nfc_without_format_characters() {
        assert!(Username::parse("jos\u{e9}").is_ok(), "NFC é");
        assert!(Username::parse("jose\u{301}").is_err(), "NFD é");
        assert!(
            Username::parse("\u{212b}ngstr\u{f6}m").is_err(),
            "Angstrom sign"
        );
        assert!(Username::parse("\u{ff41}lice").is_ok(), "fullwidth is NFC");
        for bad in [
            "al\u{200b}ice",
            "\u{200b}",
            "a\u{200d}b",
            "\u{202e}ecila",
            "a\u{2066}b",
            "a\u{feff}",
            "a\u{ad}b",
            "tag\u{e0041}",
        ] {
            let err = Username::parse(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    DomainError::Invalid {
                        field: "username",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn confusable_names_are_one_name_unless_both_are_ascii() {
        let cyrillic = Username::parse("\u{430}lice").unwrap();
        let latin = Username::parse("alice").unwrap();
        assert!(cyrillic.is_confusable_with("alice"));
        assert!(latin.is_confusable_with("\u{430}lice"));
        assert!(latin.is_confusable_with("alice"), "the same name");
        assert!(!latin.is_confusable_with("Alice"), "case differs");
        assert!(
            Username::parse("\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}")
                .unwrap()
                .is_confusable_with("alice")
        );
        assert!(
            !Username::parse("rn").unwrap().is_confusable_with("m"),
            "ASCII both"
        );
        assert!(!latin.is_confusable_with("bob"));
        assert_eq!(latin.skeleton(), UsernameSkeleton::of("\u{430}lice"));
        assert_eq!(
            Username::parse("rn").unwrap().skeleton(),
            UsernameSkeleton::of("m")
        );
        assert_eq!(latin.skeleton().as_str().len(), 64);
    }

    #[test]
    fn password_rules() {
        assert!(NewPassword::parse("1234567".into()).is_err());
        assert!(NewPassword::parse("12345678".into()).is_ok());
        assert!(NewPassword::parse("é".repeat(1024)).is_ok());
        assert!(NewPassword::parse("x".repeat(1025)).is_err());
        assert!(Password::parse("short".into()).is_ok());
        assert!(Password::parse("x".into()).is_ok());
        assert!(Password::parse(String::new()).is_err());
        assert_eq!(
            Password::parse("é".repeat(1024)).unwrap().expose(),
            "é".repeat(1024)
        );
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
