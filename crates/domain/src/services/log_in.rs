//! Logging in with a username and password.

use std::sync::Arc;

use super::login_throttle::throttled;
use crate::{
    ClientAddress, DomainError, LoginName, LoginThrottle, NewPassword, Password, PasswordCheck,
    PasswordHasher, Sessions, Tokens, UserRepository,
};

/// Checks a password and starts a session, under the log-in
/// throttle when one is set.
#[derive(Clone)]
pub struct LogIn {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    sessions: Sessions,
    throttle: Option<LoginThrottle>,
}

impl LogIn {
    /// Log-ins without a throttle.
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        sessions: Sessions,
    ) -> Self {
        Self {
            users,
            hasher,
            sessions,
            throttle: None,
        }
    }

    /// Limits failed log-ins per username (see [`LoginThrottle`]).
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// A new session's tokens for the user, or [`DomainError::UserNotFound`] for
    /// an unknown name and [`DomainError::NotAuthenticated`] for a wrong
    /// password, as the old service told them apart. The attempt is
    /// counted by the log-in throttle before anything is looked up
    /// ([`DomainError::RateLimited`] comes first); a success, or a failure
    /// that checked no password, gives its count back. A correct password
    /// under an outdated hash scheme (legacy bcrypt) is rehashed with the
    /// current one.
    pub async fn log_in(
        &self,
        username: &LoginName,
        password: Password,
        client: ClientAddress,
    ) -> Result<Tokens, DomainError> {
        throttled(
            self.throttle.as_ref(),
            username,
            client,
            self.check_password(username, password),
        )
        .await
    }

    async fn check_password(
        &self,
        username: &LoginName,
        password: Password,
    ) -> Result<Tokens, DomainError> {
        let credentials = self
            .users
            .find_credentials(username)
            .await?
            .ok_or(DomainError::UserNotFound)?;
        match self
            .hasher
            .verify(&password, &credentials.password_hash)
            .await?
        {
            PasswordCheck::Mismatch => return Err(DomainError::NotAuthenticated),
            PasswordCheck::Match => {}
            PasswordCheck::MatchNeedsRehash => {
                // The password was checked, so it meets whatever rules held
                // when it was set; re-wrap it only to hash it again. Under
                // overload the upgrade waits for a later log-in.
                match self
                    .hasher
                    .hash(&NewPassword::from_verified(password))
                    .await
                {
                    Ok(upgraded) => {
                        self.users
                            .update_password_hash(credentials.user.id, &upgraded)
                            .await?
                    }
                    Err(DomainError::Overloaded { .. }) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        self.sessions.start(&credentials.user).await
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::{
        AccessToken, Credentials, IssuedToken, MockCache, MockPasswordHasher,
        MockSessionRepository, MockTokenCodec, MockUserRepository, PasswordHash, Policies, UserId,
        services::fixtures::{alice, client},
    };

    fn credentials(hash: &str) -> Credentials {
        Credentials {
            user: alice(),
            password_hash: PasswordHash::new(hash.into()),
        }
    }

    fn log_in(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        tokens: MockTokenCodec,
    ) -> LogIn {
        let mut repo = MockSessionRepository::new();
        repo.expect_create().returning(|_, _| Ok(()));
        let sessions = Sessions::new(Arc::new(repo), Arc::new(tokens), &Policies::default());
        LogIn::new(Arc::new(users), Arc::new(hasher), sessions)
    }

    fn signed(
        _: &str,
        _: &crate::SessionId,
        _: std::time::SystemTime,
    ) -> Result<IssuedToken, DomainError> {
        Ok(IssuedToken {
            token: AccessToken::new("signed".into()),
            expires_in: std::time::Duration::from_secs(60),
        })
    }

    #[tokio::test]
    async fn log_in_of_unknown_user_is_not_found() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials().returning(|_| Ok(None));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().never();

        let err = log_in(users, hasher, MockTokenCodec::new())
            .log_in(
                &LoginName::parse("nobody").unwrap(),
                Password::parse("whatever1".into()).unwrap(),
                client(),
            )
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn log_in_with_wrong_password_is_not_authenticated() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .returning(|_| Ok(Some(credentials("$argon2id$x"))));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .returning(|_, _| Ok(PasswordCheck::Mismatch));
        let mut tokens = MockTokenCodec::new();
        tokens.expect_issue().never();

        let err = log_in(users, hasher, tokens)
            .log_in(
                &LoginName::parse("alice").unwrap(),
                Password::parse("wrong-password".into()).unwrap(),
                client(),
            )
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::NotAuthenticated), "{err:?}");
    }

    #[tokio::test]
    async fn log_in_issues_a_token_for_the_user() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .with(eq(LoginName::parse("alice").unwrap()))
            .returning(|_| Ok(Some(credentials("$argon2id$x"))));
        users.expect_update_password_hash().never();
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .withf(|p, h| p.expose() == "right-password" && h.expose() == "$argon2id$x")
            .returning(|_, _| Ok(PasswordCheck::Match));
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_issue()
            .withf(|name, _, _| name == "alice")
            .returning(signed);

        let token = log_in(users, hasher, tokens)
            .log_in(
                &LoginName::parse("alice").unwrap(),
                Password::parse("right-password".into()).unwrap(),
                client(),
            )
            .await
            .unwrap();

        assert_eq!(token.access_token.expose(), "signed");
    }

    #[tokio::test]
    async fn log_in_with_legacy_hash_stores_a_new_hash() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .returning(|_| Ok(Some(credentials("$2b$12$legacy"))));
        users
            .expect_update_password_hash()
            .withf(|id, h| *id == UserId(7) && h.expose() == "$argon2id$new")
            .times(1)
            .returning(|_, _| Ok(()));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .returning(|_, _| Ok(PasswordCheck::MatchNeedsRehash));
        hasher
            .expect_hash()
            .withf(|p| p.as_password().expose() == "pw")
            .times(1)
            .returning(|_| Ok(PasswordHash::new("$argon2id$new".into())));
        let mut tokens = MockTokenCodec::new();
        tokens.expect_issue().returning(signed);

        let token = log_in(users, hasher, tokens)
            .log_in(
                &LoginName::parse("alice").unwrap(),
                Password::parse("pw".into()).unwrap(),
                client(),
            )
            .await
            .unwrap();

        assert_eq!(token.access_token.expose(), "signed");
    }

    fn alice_with_hash(hash: &'static str) -> MockUserRepository {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .returning(move |_| Ok(Some(credentials(hash))));
        users
    }

    fn hasher_answering(check: Result<PasswordCheck, DomainError>) -> MockPasswordHasher {
        let check = std::sync::Mutex::new(Some(check));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .times(1)
            .returning(move |_, _| check.lock().unwrap().take().unwrap());
        hasher
    }

    fn issuing() -> MockTokenCodec {
        let mut tokens = MockTokenCodec::new();
        tokens.expect_issue().returning(signed);
        tokens
    }

    fn throttled(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        tokens: MockTokenCodec,
        cache: MockCache,
    ) -> LogIn {
        log_in(users, hasher, tokens)
            .with_throttle(LoginThrottle::new(Arc::new(cache), &Policies::default()))
    }

    fn counting_cache(releases: usize) -> MockCache {
        let mut cache = MockCache::new();
        cache
            .expect_hit()
            .times(2)
            .returning(|_, _, _| Ok(crate::Hit::Counted(1)));
        cache.expect_release().times(releases).returning(|_| Ok(()));
        cache
    }

    async fn log_in_alice(accounts: &LogIn) -> Result<Tokens, DomainError> {
        accounts
            .log_in(
                &LoginName::parse("alice").unwrap(),
                Password::parse("some-password".into()).unwrap(),
                client(),
            )
            .await
    }

    #[tokio::test]
    async fn a_throttled_log_in_is_refused_before_anything_is_looked_up() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials().never();
        let mut cache = MockCache::new();
        cache.expect_hit().returning(|_, _, _| {
            Ok(crate::Hit::Refused {
                retry_after: std::time::Duration::from_secs(30),
            })
        });
        let accounts = throttled(
            users,
            MockPasswordHasher::new(),
            MockTokenCodec::new(),
            cache,
        );
        let err = log_in_alice(&accounts).await.unwrap_err();
        assert!(matches!(err, DomainError::RateLimited { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_successful_log_in_gives_its_attempt_back() {
        let accounts = throttled(
            alice_with_hash("$argon2id$x"),
            hasher_answering(Ok(PasswordCheck::Match)),
            issuing(),
            counting_cache(2),
        );
        log_in_alice(&accounts).await.unwrap();
    }

    #[tokio::test]
    async fn a_wrong_password_or_an_unknown_name_keeps_its_attempt() {
        let accounts = throttled(
            alice_with_hash("$argon2id$x"),
            hasher_answering(Ok(PasswordCheck::Mismatch)),
            MockTokenCodec::new(),
            counting_cache(0),
        );
        let err = log_in_alice(&accounts).await.unwrap_err();
        assert!(matches!(err, DomainError::NotAuthenticated), "{err:?}");

        let mut users = MockUserRepository::new();
        users.expect_find_credentials().returning(|_| Ok(None));
        let accounts = throttled(
            users,
            MockPasswordHasher::new(),
            MockTokenCodec::new(),
            counting_cache(0),
        );
        let err = log_in_alice(&accounts).await.unwrap_err();
        assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn an_overloaded_hasher_gives_the_attempt_back() {
        let accounts = throttled(
            alice_with_hash("$argon2id$x"),
            hasher_answering(Err(DomainError::Overloaded {
                retry_after: std::time::Duration::from_secs(1),
            })),
            MockTokenCodec::new(),
            counting_cache(2),
        );
        let err = log_in_alice(&accounts).await.unwrap_err();
        assert!(matches!(err, DomainError::Overloaded { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_legacy_hash_is_kept_when_the_hasher_is_overloaded() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .returning(|_| Ok(Some(credentials("$2b$12$legacy"))));
        users.expect_update_password_hash().never();
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .returning(|_, _| Ok(PasswordCheck::MatchNeedsRehash));
        hasher.expect_hash().returning(|_| {
            Err(DomainError::Overloaded {
                retry_after: std::time::Duration::from_secs(1),
            })
        });
        let mut tokens = MockTokenCodec::new();
        tokens.expect_issue().returning(signed);
        let token = log_in_alice(&log_in(users, hasher, tokens)).await.unwrap();
        assert_eq!(token.access_token.expose(), "signed");
    }
}
