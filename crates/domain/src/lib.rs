//! The domain of `todos`: users who own todos, the rules their values obey,
//! the ports (traits) the outside world must implement, and the use cases.
//!
//! This crate has no web framework, ORM or runtime dependency, so other Rust
//! services can import it and plug in their own adapters. With the `mock`
//! feature every port also gets a [mockall] implementation (`MockUserRepository`, …).
//!
//! ```
//! use todos_domain::{NewPassword, TodoContents, TodoId, Username};
//!
//! // Values are parsed once at the edge; afterwards they are known to be valid.
//! let name = Username::parse("alice").unwrap();
//! assert_eq!(name.as_str(), "alice");
//! assert!(Username::parse(" alice").is_err());
//! assert!(NewPassword::parse("short".into()).is_err());
//! assert!(TodoContents::parse("buy milk").is_ok());
//! assert!(TodoId::parse("0").is_err());
//! assert_eq!(TodoId::parse("42").unwrap().get(), 42);
//! ```
//!
//! The use cases ([`SignUp`], [`LogIn`], [`Authentication`], [`Sessions`],
//! [`Todos`], [`EmailVerification`], [`Account`], [`PasswordReset`]) each take only the ports they use, and their
//! limits come from one [`Policies`] value. Every failure is a
//! [`DomainError`] in the domain's own words: mapping it to a protocol
//! (status codes, response texts) is the caller's job, as `todos-http` does.
//!
//! [mockall]: https://docs.rs/mockall

#![warn(missing_docs)]

mod client;
mod email;
mod error;
mod idempotency;
mod log_limit;
mod policy;
pub mod ports;
pub mod services;
mod session;
mod todo;
mod user;

pub use client::ClientAddress;
pub use email::{Email, EmailAddress, EmailKey, Message, Otp};
pub use error::{BoxError, DomainError};
pub use idempotency::{CreateOnce, IdempotencyKey, IdempotencyPolicy, fingerprint};
pub use log_limit::OncePerSecond;
pub use policy::{LoginPolicy, OtpPolicy, Policies, ResetPolicy, SessionPolicy, SignUpPolicy};
pub use ports::{
    Cache, HealthProbe, Hit, IssuedToken, Mailer, OtpGenerator, PasswordCheck, PasswordHasher,
    SessionRepository, TodoRepository, TokenCodec, TokenSubject, UserRepository,
};
pub use services::{
    account::Account,
    authentication::{Authenticated, Authentication, SessionClaim, SessionRead},
    email_verification::{EmailVerification, RandomOtpGenerator},
    limits::Reservation,
    log_in::LogIn,
    login_throttle::LoginThrottle,
    password_reset::{PasswordReset, ResetPorts},
    sessions::{Sessions, Tokens},
    sign_up::SignUp,
    sign_up_limit::SignUpLimit,
    todos::{Precondition, Todos},
};
pub use session::{RefreshDigest, RefreshToken, Rotation, Session, SessionId};
pub use todo::{
    NewTodo, PageLimit, SortOrder, Todo, TodoChange, TodoContents, TodoId, TodoPage, TodoQuery,
    from_micros, micros,
};
pub use user::{
    AccessToken, Credentials, LoginName, NewPassword, Password, PasswordHash, User, UserId,
    Username, UsernameSkeleton,
};

/// Lower-case hex of the SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(any(test, feature = "mock"))]
pub use ports::{
    MockCache, MockHealthProbe, MockMailer, MockOtpGenerator, MockPasswordHasher,
    MockSessionRepository, MockTodoRepository, MockTokenCodec, MockUserRepository,
};
