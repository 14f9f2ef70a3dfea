use thiserror::Error;

/// Any error from an adapter, kept with its cause chain for the logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a use case can fail with. The HTTP layer maps each variant to
/// one status code and `detail` text, in one place.
#[derive(Debug, Error)]
pub enum DomainError {
    /// Input that breaks a rule of the domain; `field` names the input.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },

    #[error("User Not Found")]
    UserNotFound,

    #[error("ToDo Not Found")]
    TodoNotFound,

    #[error("Username Already Taken")]
    UsernameTaken,

    /// Another account has already verified this address.
    #[error("Email Already In Use")]
    EmailTaken,

    /// A one-time password that is wrong, expired, used up or voided.
    #[error("Bad Request")]
    InvalidOtp,

    /// A rate limit was hit; the caller may try again after `retry_after`.
    #[error("Too Many Requests")]
    TooManyRequests { retry_after: std::time::Duration },

    /// Bad credentials or a token that is missing, malformed, forged or expired.
    #[error("Not Authorized")]
    NotAuthorized,

    /// Too much work is queued (password hashing); refused at once rather
    /// than kept waiting. The caller may try again after `retry_after`.
    #[error("overloaded")]
    Overloaded { retry_after: std::time::Duration },

    /// A dependency (`"database"`, `"cache"`, …) cannot be reached right now.
    #[error("{component} unavailable")]
    Unavailable {
        component: &'static str,
        #[source]
        source: BoxError,
    },

    /// A fault that is not the caller's: a bug or a broken dependency.
    #[error("unexpected error")]
    Unexpected(#[source] BoxError),
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub fn unexpected(source: impl Into<BoxError>) -> Self {
        Self::Unexpected(source.into())
    }

    pub fn unavailable(component: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            component,
            source: source.into(),
        }
    }
}
