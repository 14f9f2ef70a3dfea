use thiserror::Error;

/// Any error from an adapter, kept with its cause chain for the logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a use case can fail with, in the domain's own words. A
/// caller decides what each means to its own users: the `todos-http`
/// crate maps every variant to one status code and response text.
///
/// New variants may come in later versions, so a `match` needs a
/// catch-all arm.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DomainError {
    /// Input that breaks a rule of the domain; `field` names the input.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The input's name, e.g. `"username"`.
        field: &'static str,
        /// The rule it breaks, e.g. `"must be 1 to 256 characters"`.
        reason: String,
    },

    /// No user has this name (any more).
    #[error("no such user")]
    UserNotFound,

    /// The user has no todo with this id (another user's todo included).
    #[error("no such todo")]
    TodoNotFound,

    /// The todo is not in the state the request required (its version
    /// differs from the one the client last saw).
    #[error("the todo has changed")]
    PreconditionFailed,

    /// An idempotency key came again with a request other than its first.
    #[error("the idempotency key was used for another request")]
    IdempotencyKeyReused,

    /// The first request with this idempotency key is still running.
    #[error("the first request with this idempotency key is still running")]
    RequestInProgress,

    /// The user has no live session with this id.
    #[error("no such session")]
    SessionNotFound,

    /// An account with this name, or one that looks the same, exists.
    #[error("the username is taken")]
    UsernameTaken,

    /// Another account has already verified this address.
    #[error("the email address is verified by another account")]
    EmailTaken,

    /// A one-time code (email verification or password reset) that is
    /// wrong, expired, used up or voided.
    #[error("the one-time password is not valid")]
    InvalidOtp,

    /// A rate limit was hit; the caller may try again after `retry_after`.
    #[error("rate limit reached, retry in {retry_after:?}")]
    RateLimited {
        /// Until the limit's window ends.
        retry_after: std::time::Duration,
    },

    /// Credentials that do not match, or a token that is missing,
    /// malformed, forged or expired.
    #[error("not authenticated")]
    NotAuthenticated,

    /// Too much work is queued (password hashing); refused at once rather
    /// than kept waiting. The caller may try again after `retry_after`.
    #[error("overloaded, retry in {retry_after:?}")]
    Overloaded {
        /// A guess at when the queue will have room.
        retry_after: std::time::Duration,
    },

    /// A dependency (`"database"`, `"cache"`, …) cannot be reached right now.
    #[error("{component} unavailable")]
    Unavailable {
        /// Which dependency: `"database"`, `"cache"`, `"mail"`, …
        component: &'static str,
        /// What its adapter reported.
        #[source]
        source: BoxError,
    },

    /// A fault that is not the caller's: a bug or a broken dependency.
    #[error("unexpected error")]
    Unexpected(#[source] BoxError),
}

impl DomainError {
    /// [`DomainError::Invalid`] for the input `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The same error, with an [`DomainError::Invalid`] naming `field`
    /// instead: for an input whose rules are another's (a
    /// `new_password` is a [`NewPassword`](crate::NewPassword)).
    pub fn in_field(self, field: &'static str) -> Self {
        match self {
            Self::Invalid { reason, .. } => Self::Invalid { field, reason },
            other => other,
        }
    }

    /// [`DomainError::Unexpected`] caused by `source`.
    pub fn unexpected(source: impl Into<BoxError>) -> Self {
        Self::Unexpected(source.into())
    }

    /// [`DomainError::Unavailable`]: `component` failed with `source`.
    pub fn unavailable(component: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            component,
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_field_renames_only_invalid_input() {
        let renamed = crate::NewPassword::parse("short".into())
            .unwrap_err()
            .in_field("new_password");
        assert!(
            matches!(&renamed, DomainError::Invalid { field: "new_password", reason } if reason.contains('8')),
            "{renamed:?}"
        );
        assert!(matches!(
            DomainError::UserNotFound.in_field("new_password"),
            DomainError::UserNotFound
        ));
    }
}
