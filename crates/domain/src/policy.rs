//! The numbers behind the rules, in one place: how long a one-time
//! password lives, how many attempts and requests are allowed in which
//! window, and where the use cases keep their counters in the [`Cache`].
//! [`Policies::default`] holds the values the `todos` service runs with
//! (README: "Abuse resistance" and "Verifying an email address").
//!
//! [`Cache`]: crate::Cache

use std::time::Duration;

/// Every policy of the use cases, with the service's values as defaults.
///
/// ```
/// use std::time::Duration;
/// use todos_domain::Policies;
///
/// let mut policies = Policies::default();
/// assert_eq!(policies.otp.ttl, Duration::from_secs(3 * 60));
/// // Another service sharing the same Redis keeps its keys apart.
/// policies.cache_prefix = "digest:".into();
/// policies.sign_up.per_client = 0; // no sign-up limit
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policies {
    /// Prepended to every cache key the use cases write (`todos:` by
    /// default), so that several services may share one Redis.
    pub cache_prefix: String,
    /// Email verification codes.
    pub otp: OtpPolicy,
    /// Log-in attempts.
    pub login: LoginPolicy,
    /// Sign-ups per client address.
    pub sign_up: SignUpPolicy,
    /// Sessions (log-in to log-out).
    pub session: SessionPolicy,
    /// Password reset codes.
    pub reset: ResetPolicy,
    /// Idempotency keys of todo creation.
    pub idempotency: crate::IdempotencyPolicy,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            cache_prefix: "todos:".into(),
            otp: OtpPolicy::default(),
            login: LoginPolicy::default(),
            sign_up: SignUpPolicy::default(),
            session: SessionPolicy::default(),
            reset: ResetPolicy::default(),
            idempotency: crate::IdempotencyPolicy::default(),
        }
    }
}

/// Limits on email verification codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    /// How long a code is valid (3 minutes).
    pub ttl: Duration,
    /// Verify attempts per code; the next one voids it (5).
    pub max_verify_attempts: u64,
    /// Codes one user may request per `request_window`, across
    /// addresses (5 per hour).
    pub max_requests: u64,
    /// The window of `max_requests`.
    pub request_window: Duration,
    /// Code emails one address may receive per `code_email_window`,
    /// whoever asks, so that no address can be mail-bombed through many
    /// accounts (5 per hour).
    pub max_code_emails_per_address: u64,
    /// The window of `max_code_emails_per_address`.
    pub code_email_window: Duration,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3 * 60),
            max_verify_attempts: 5,
            max_requests: 5,
            request_window: Duration::from_secs(60 * 60),
            max_code_emails_per_address: 5,
            code_email_window: Duration::from_secs(60 * 60),
        }
    }
}

/// Limits on log-in attempts (also used for other password checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Attempts per username and client address in a window (10).
    pub per_client: u64,
    /// Attempts per username from all addresses in a window (100).
    pub per_username: u64,
    /// The window, from the first counted attempt (15 minutes).
    pub window: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            per_client: 10,
            per_username: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Limit on sign-ups per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignUpPolicy {
    /// Sign-ups per client address in a window (20); 0 turns the limit off.
    pub per_client: u64,
    /// The window, from the first counted sign-up (1 hour).
    pub window: Duration,
}

impl Default for SignUpPolicy {
    fn default() -> Self {
        Self {
            per_client: 20,
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session's lifetime from log-in (30 days); refreshing does not
    /// extend it, and no access token outlives it.
    pub lifetime: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

/// Limits on password reset codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetPolicy {
    /// How long a code is valid (15 minutes).
    pub ttl: Duration,
    /// Attempts per code; the last wrong one voids it (5).
    pub max_attempts: u64,
    /// Requests per address in `request_window`, known address or not (5).
    pub max_requests_per_address: u64,
    /// The window of `max_requests_per_address` (1 hour).
    pub request_window: Duration,
}

impl Default for ResetPolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(15 * 60),
            max_attempts: 5,
            max_requests_per_address: 5,
            request_window: Duration::from_secs(60 * 60),
        }
    }
}
