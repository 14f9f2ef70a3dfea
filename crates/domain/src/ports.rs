//! Ports: what the use cases need from the outside world. Adapters live in
//! other crates (`todos-persistence`, `todos-auth`, …); tests use the
//! generated `Mock*` types.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::{
    AccessToken, CreateOnce, Credentials, DomainError, Email, EmailAddress, IdempotencyKey,
    LoginName, NewPassword, NewTodo, Otp, Password, PasswordHash, Precondition, RefreshDigest,
    Rotation, Session, SessionClaim, SessionId, SessionRead, SortOrder, Todo, TodoChange, TodoId,
    TodoPage, TodoQuery, User, UserId, Username, UsernameSkeleton,
};

type Result<T> = std::result::Result<T, DomainError>;

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
/// Where users are stored.
pub trait UserRepository: Send + Sync {
    /// The user of this exact name (compared code point by code point).
    async fn find_by_username(&self, username: &LoginName) -> Result<Option<User>>;

    /// The user of this exact name with their stored password hash.
    async fn find_credentials(&self, username: &LoginName) -> Result<Option<Credentials>>;

    /// Every user whose name has this [`UsernameSkeleton`] (the same name
    /// included).
    async fn find_by_skeleton(&self, skeleton: &UsernameSkeleton) -> Result<Vec<User>>;

    /// Stores the user with its name's skeleton. Fails with
    /// [`DomainError::UsernameTaken`] when the exact name exists; the store's
    /// unique index decides, so concurrent sign-ups cannot both win.
    async fn create(&self, username: &Username, password_hash: &PasswordHash) -> Result<User>;

    /// Replaces the user's password hash (after a rehash under the current scheme).
    async fn update_password_hash(&self, id: UserId, password_hash: &PasswordHash) -> Result<()>;

    /// The user whose verified address is `email` in any letter case
    /// (compared by [`EmailAddress::key`]).
    async fn find_by_verified_email(&self, email: &EmailAddress) -> Result<Option<User>>;

    /// Deletes the user with everything of theirs (todos, sessions) in
    /// one transaction: all of it or nothing. `false` when there was no
    /// such user. Their name is free again afterwards.
    async fn delete(&self, id: UserId) -> Result<bool>;

    /// Up to `limit` users with a verified address, by id, after the user
    /// `after` (from the first when `None`): a page of a walk through all
    /// of them that stays correct while users come and go.
    async fn list_verified(&self, after: Option<UserId>, limit: u64) -> Result<Vec<User>>;

    /// Stores `email` as the user's verified address. Fails with
    /// [`DomainError::EmailTaken`] when another user has verified it in any
    /// letter case (the store keeps [`EmailAddress::key`] unique), and
    /// [`DomainError::UserNotFound`] when the user is gone.
    async fn set_verified_email(&self, id: UserId, email: &EmailAddress) -> Result<User>;
}

/// Every operation is scoped to the owner: another user's todo is absent.
/// Times come from the caller (`now`), stored in whole microseconds.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TodoRepository: Send + Sync {
    /// All of the owner's todos in id order, in a fixed number of queries.
    async fn list(&self, owner: UserId, order: SortOrder) -> Result<Vec<Todo>>;

    /// A page of the owner's todos, in one statement: those `query`
    /// selects, at most its limit, and whether more follow.
    async fn page(&self, owner: UserId, query: &TodoQuery) -> Result<TodoPage>;

    /// The user `claim` names, the claimed session when it is theirs, and
    /// a page of the user's todos as [`TodoRepository::page`] reads it,
    /// all in one statement; `None` when there is no such user.
    async fn page_as(
        &self,
        claim: &SessionClaim,
        query: &TodoQuery,
    ) -> Result<Option<SessionRead<TodoPage>>>;

    /// Like [`TodoRepository::page_as`], with the user's todo `id` (if
    /// they have it) instead of a page.
    async fn get_as(
        &self,
        claim: &SessionClaim,
        id: TodoId,
    ) -> Result<Option<SessionRead<Option<Todo>>>>;

    /// The owner's todo `id`, or `None` when the owner has no such todo.
    async fn get(&self, owner: UserId, id: TodoId) -> Result<Option<Todo>>;

    /// Stores a new todo of the owner's, made at `now`, and returns it
    /// with its id.
    async fn create(&self, owner: UserId, todo: NewTodo, now: SystemTime) -> Result<Todo>;

    /// Like [`TodoRepository::create`], at most once per `key` of the
    /// owner's: the todo and the key's record of it commit together. A
    /// key whose request has held it longer than `lease` without
    /// finishing may be taken over. `fingerprint` tells a repeat of the
    /// first request from another request with the same key.
    async fn create_once(
        &self,
        owner: UserId,
        todo: NewTodo,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: SystemTime,
        lease: Duration,
    ) -> Result<CreateOnce>;

    /// Applies `change` to the owner's todo and moves its `updated_at` to
    /// `now` (or a microsecond past the old one, if that is later), in one
    /// statement that also checks `precondition`'s versions: `None` when
    /// there is no such todo, or it is at none of those versions.
    async fn update(
        &self,
        owner: UserId,
        id: TodoId,
        change: &TodoChange,
        precondition: &Precondition,
        now: SystemTime,
    ) -> Result<Option<Todo>>;

    /// Deletes the owner's todo, in one statement that also checks
    /// `precondition`'s versions; `false` when nothing matched.
    async fn delete(&self, owner: UserId, id: TodoId, precondition: &Precondition) -> Result<bool>;

    /// Deletes idempotency keys first used before `before`; how many.
    async fn purge_idempotency_keys(&self, before: SystemTime) -> Result<u64>;
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is wrong.
    Mismatch,
    /// The password is right and the hash is current.
    Match,
    /// Correct, but the hash uses an old scheme or parameters: store a new one.
    MatchNeedsRehash,
}

/// Slow by design; implementations keep the work off the async executor.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash of `password` under the current scheme and parameters.
    async fn hash(&self, password: &NewPassword) -> Result<PasswordHash>;

    /// Checks `password` against `hash`, whatever scheme made the hash.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<PasswordCheck>;
}

/// Issues and checks the signed access tokens of sessions.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TokenCodec: Send + Sync {
    /// A signed token of `username` in `session`, valid for the codec's
    /// lifetime but never past `until` (the session's end).
    fn issue(&self, username: &str, session: &SessionId, until: SystemTime) -> Result<IssuedToken>;

    /// Whom the token was issued to, or [`DomainError::NotAuthenticated`]
    /// for any token that is malformed, forged, of another algorithm or expired.
    fn subject(&self, token: &str) -> Result<TokenSubject>;
}

/// A freshly signed access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token.
    pub token: AccessToken,
    /// How long it is valid (its `exp` − `iat`).
    pub expires_in: Duration,
}

/// What a valid access token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSubject {
    /// The user's name (`sub`).
    pub username: String,
    /// The session (`sid`); `None` in tokens issued before sessions existed.
    pub session: Option<SessionId>,
}

/// Where sessions are stored. Times are compared by the caller's `now`.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session with the digest of its first refresh token.
    async fn create(&self, session: &Session, refresh: &RefreshDigest) -> Result<()>;

    /// The user of this exact name and, when it is theirs, the session
    /// `id` (ended or not), read in one statement: the bearer check costs
    /// no more than reading the user.
    async fn find_user_and_session(
        &self,
        username: &LoginName,
        id: &SessionId,
    ) -> Result<Option<(User, Option<Session>)>>;

    /// The user's live sessions at `now`, newest first.
    async fn list_live(&self, user: UserId, now: SystemTime) -> Result<Vec<Session>>;

    /// Ends the user's session `id` if it is live; `false` when there is
    /// no such live session of theirs.
    async fn end(&self, user: UserId, id: &SessionId, now: SystemTime) -> Result<bool>;

    /// Ends every live session of the user.
    async fn end_all(&self, user: UserId, now: SystemTime) -> Result<()>;

    /// Ends every live session of the user but `keep`.
    async fn end_all_except(&self, user: UserId, keep: &SessionId, now: SystemTime) -> Result<()>;

    /// Spends `presented` and makes `next` the session's refresh token, in
    /// one atomic step: of concurrent rotations with one token, one wins.
    /// A token spent before ends its session ([`Rotation::Reused`]).
    async fn rotate(
        &self,
        presented: &RefreshDigest,
        next: &RefreshDigest,
        now: SystemTime,
    ) -> Result<Rotation>;

    /// Deletes sessions that ended or expired before `now`, with their
    /// spent tokens; how many.
    async fn purge(&self, now: SystemTime) -> Result<u64>;
}

/// A dependency that readiness reports on (database, cache).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// `Ok` when the dependency answers; [`DomainError::Unavailable`] when not.
    async fn check(&self) -> Result<()>;
}

/// Outcome of [`Cache::hit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Counted; this is the `n`th hit in the current window.
    Counted(u64),
    /// The limit was already reached; nothing was counted.
    Refused {
        /// Until the window ends.
        retry_after: Duration,
    },
}

/// A shared key-value store with expiry (Redis, or in process). Every
/// operation is atomic, so several instances may share one store.
/// Unreachable stores fail with [`DomainError::Unavailable`] (`"cache"`).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Cache: Send + Sync {
    /// Stores `value` under `key` for `ttl`, replacing what was there.
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<()>;

    /// The value under `key`, if any and not expired.
    async fn get(&self, key: &str) -> Result<Option<String>>;

    /// Removes `key` and returns its value; of two concurrent takes, only
    /// one gets it.
    async fn take(&self, key: &str) -> Result<Option<String>>;

    /// Removes `key`; removing a missing key is no error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Counts one hit on the counter `key` unless it already holds `limit`
    /// hits. The counter's window of `window` starts at its first hit.
    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<Hit>;

    /// Takes back one hit counted on `key` (never below zero), keeping
    /// the window's end: a reservation that turned out not to count.
    async fn release(&self, key: &str) -> Result<()>;

    /// One round trip, for readiness.
    async fn ping(&self) -> Result<()>;
}

/// Delivers email. Implementations may queue: a successful return means
/// "accepted", not "delivered".
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Accepts `email` for delivery.
    async fn send(&self, email: Email) -> Result<()>;
}

/// Makes one-time passwords; production uses a CSPRNG.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait OtpGenerator: Send + Sync {
    /// A fresh code, unpredictable to anyone else.
    fn generate(&self) -> Otp;
}
