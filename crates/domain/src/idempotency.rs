//! Idempotent creation (README: "For client authors"): a client that
//! sends `POST /todos` again after a lost answer, with the same
//! `Idempotency-Key`, gets the first answer instead of a second todo.
//! Semantics after the IETF draft "The Idempotency-Key HTTP Header Field".

use std::{fmt, time::Duration};

use crate::{DomainError, NewTodo, Todo, sha256_hex};

const MAX_KEY_CHARS: usize = 255;

/// A client's key for one request: 1 to 255 visible ASCII characters
/// (`!` to `~`). Compared exactly; stored only as a digest.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a header value by the rules above.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if (1..=MAX_KEY_CHARS).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ))
        }
    }

    /// What stores keep: the SHA-256 of the key, as lower-case hex.
    pub fn digest(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }
}

/// Keys are chosen by clients and may be guessable; kept out of logs anyway.
impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdempotencyKey(..)")
    }
}

/// What a repeat must ask for to be a repeat: the SHA-256 of the contents
/// and the effective `is_done` (so `{"contents":"x"}` and
/// `{"contents":"x","is_done":false}` are the same request).
pub fn fingerprint(todo: &NewTodo) -> String {
    sha256_hex(format!("{}\n{}", todo.is_done, todo.contents.as_str()).as_bytes())
}

/// How [`TodoRepository::create_once`](crate::TodoRepository::create_once) went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOnce {
    /// The key was new (or its earlier request died): this todo is new.
    Created(Todo),
    /// The key's first request created this todo; nothing new was made.
    Replayed(Todo),
    /// The key's first request is still running.
    InProgress,
    /// The key was used for a request with another body.
    Reused,
}

/// How long keys are kept, and when a running request counts as dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyPolicy {
    /// A key is honoured this long after its first use (24 hours); the
    /// hourly purge deletes older ones.
    pub retention: Duration,
    /// A request that holds a key this long without finishing (60 s,
    /// twice the longest a request may run) is taken for dead, and a
    /// repeat may take the key over.
    pub lease: Duration,
}

impl Default for IdempotencyPolicy {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(24 * 60 * 60),
            lease: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TodoContents;

    #[test]
    fn keys_are_1_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"~".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("3f2a-9c1e_!\"#").is_ok());
        for bad in [
            String::new(),
            "x".repeat(256),
            "a b".into(),
            "tab\t".into(),
            "é".into(),
            "\u{7f}".into(),
        ] {
            assert!(IdempotencyKey::parse(&bad).is_err(), "{bad:?}");
        }
        let err = IdempotencyKey::parse("").unwrap_err();
        assert!(
            matches!(
                err,
                DomainError::Invalid {
                    field: "Idempotency-Key",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn keys_are_stored_as_digests_and_hidden_from_debug() {
        let key = IdempotencyKey::parse("order-42").unwrap();
        assert_eq!(key.digest(), sha256_hex(b"order-42"));
        assert_ne!(
            key.digest(),
            IdempotencyKey::parse("Order-42").unwrap().digest()
        );
        assert_eq!(format!("{key:?}"), "IdempotencyKey(..)");
    }

    #[test]
    fn fingerprints_tell_bodies_apart_by_contents_and_state() {
        let todo = |contents: &str, is_done| NewTodo {
            contents: TodoContents::parse(contents).unwrap(),
            is_done,
        };
        assert_eq!(
            fingerprint(&todo("milk", false)),
            fingerprint(&todo("milk", false))
        );
        assert_ne!(
            fingerprint(&todo("milk", false)),
            fingerprint(&todo("milk", true))
        );
        assert_ne!(
            fingerprint(&todo("milk", false)),
            fingerprint(&todo("milk ", false))
        );
        assert_eq!(fingerprint(&todo("milk", true)).len(), 64);
    }
}
