//! Sessions: the server-side truth behind access and refresh tokens
//! (README: "Sessions").

use std::{fmt, time::SystemTime};

use rand::RngCore;

use crate::{UserId, sha256_hex};

/// Random bytes as lower-case hex.
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A session's id: 128 random bits as 32 lower-case hex digits. Opaque
/// to clients, not guessable, and safe to show (it grants nothing alone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh id from the thread-local CSPRNG.
    pub fn generate() -> Self {
        Self(random_hex(16))
    }

    /// An id as a client or a token gives it; `None` when it cannot be an
    /// id at all (then no session has it).
    ///
    /// ```
    /// use todos_domain::SessionId;
    ///
    /// let id = SessionId::generate();
    /// assert_eq!(SessionId::parse(id.as_str()), Some(id));
    /// assert_eq!(SessionId::parse("not-an-id"), None);
    /// ```
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(raw.to_owned()))
    }

    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A refresh token: 256 random bits as 64 hex digits, handed to the client
/// once and stored only as its [`RefreshDigest`]. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// A fresh token from the thread-local CSPRNG.
    pub fn generate() -> Self {
        Self(random_hex(32))
    }

    /// A token as a client presents it. Any text is taken: one that was
    /// never issued is simply unknown.
    pub fn presented(raw: String) -> Self {
        Self(raw)
    }

    /// The token itself, for the response to the client only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps and looks tokens up by.
    pub fn digest(&self) -> RefreshDigest {
        RefreshDigest(sha256_hex(self.0.as_bytes()))
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// SHA-256 (hex) of a [`RefreshToken`]: a dump of the store shows no
/// usable token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefreshDigest(String);

impl RefreshDigest {
    /// A digest read back from a store.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id, also the `sid` claim of its access tokens.
    pub id: SessionId,
    /// Whose it is.
    pub user: UserId,
    /// When the log-in created it.
    pub created_at: SystemTime,
    /// When it ends by itself: its lifetime counted from log-in; refreshing
    /// does not extend it.
    pub expires_at: SystemTime,
    /// When it was ended (log-out, revocation, refresh-token reuse), if it was.
    pub ended_at: Option<SystemTime>,
}

impl Session {
    /// Whether tokens of this session are accepted at `now`.
    pub fn is_live(&self, now: SystemTime) -> bool {
        self.ended_at.is_none() && now < self.expires_at
    }
}

/// Outcome of [`SessionRepository::rotate`](crate::SessionRepository::rotate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was current: it is spent now, and the new one
    /// is current. The session and its user's name, for the access token.
    Rotated {
        /// The live session.
        session: Session,
        /// Its user's name.
        username: String,
    },
    /// The presented token was spent already: the session is ended now.
    Reused,
    /// No live session has this token.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_is_exactly_32_lower_case_hex_digits() {
        let id = SessionId::generate();
        assert_eq!(id.as_str().len(), 32);
        assert_ne!(id, SessionId::generate());
        for not_an_id in [
            "",
            "0123456789abcdef",                  // hex, too short
            "0123456789abcdef0123456789abcdef0", // hex, too long
            "0123456789ABCDEF0123456789ABCDEF",  // upper case
            "ghijklmnopqrstuvwxyzghijklmnopqr",  // 32, not hex
            "../../../../../../../etc/passwd/",
        ] {
            assert_eq!(SessionId::parse(not_an_id), None, "{not_an_id:?}");
        }
    }

    #[test]
    fn liveness_needs_no_end_and_a_future_expiry() {
        let now = SystemTime::now();
        let second = std::time::Duration::from_secs(1);
        let session = |expires_at, ended_at| Session {
            id: SessionId::generate(),
            user: UserId(1),
            created_at: now - second,
            expires_at,
            ended_at,
        };
        assert!(session(now + second, None).is_live(now));
        assert!(!session(now, None).is_live(now), "expired at its end");
        assert!(!session(now + second, Some(now)).is_live(now));
    }
}
