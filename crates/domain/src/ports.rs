//! Ports: what the use cases need from the outside world. Adapters live in
//! other crates (`todos-persistence`, `todos-auth`, …); tests use the
//! generated `Mock*` types.

use async_trait::async_trait;

use crate::{
    AccessToken, Credentials, DomainError, NewPassword, NewTodo, Password, PasswordHash, SortOrder,
    Todo, TodoId, User, UserId, Username,
};

type Result<T> = std::result::Result<T, DomainError>;

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>>;

    async fn find_credentials(&self, username: &str) -> Result<Option<Credentials>>;

    /// Fails with [`DomainError::UsernameTaken`] when the name exists; the
    /// store's unique index decides, so concurrent sign-ups cannot both win.
    async fn create(&self, username: &Username, password_hash: &PasswordHash) -> Result<User>;

    async fn update_password_hash(&self, id: UserId, password_hash: &PasswordHash) -> Result<()>;
}

/// Every operation is scoped to the owner: another user's todo is absent.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TodoRepository: Send + Sync {
    /// All of the owner's todos in id order, in a fixed number of queries.
    async fn list(&self, owner: UserId, order: SortOrder) -> Result<Vec<Todo>>;

    async fn get(&self, owner: UserId, id: TodoId) -> Result<Option<Todo>>;

    async fn create(&self, owner: UserId, todo: NewTodo) -> Result<Todo>;

    async fn set_done(&self, owner: UserId, id: TodoId, is_done: bool) -> Result<Option<Todo>>;

    /// `false` when there was no such todo.
    async fn delete(&self, owner: UserId, id: TodoId) -> Result<bool>;
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Mismatch,
    Match,
    /// Correct, but the hash uses an old scheme or parameters: store a new one.
    MatchNeedsRehash,
}

/// Slow by design; implementations keep the work off the async executor.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &NewPassword) -> Result<PasswordHash>;

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<PasswordCheck>;
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TokenCodec: Send + Sync {
    fn issue(&self, username: &str) -> Result<AccessToken>;

    /// The username the token was issued to, or [`DomainError::NotAuthorized`]
    /// for any token that is malformed, forged, of another algorithm or expired.
    fn subject(&self, token: &str) -> Result<String>;
}

/// A dependency that readiness reports on (database, cache).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthProbe: Send + Sync {
    async fn check(&self) -> Result<()>;
}
