use std::sync::Arc;

use crate::{
    AccessToken, ClientAddress, DomainError, LoginName, LoginThrottle, NewPassword, Password,
    PasswordCheck, PasswordHasher, SignUpLimit, TokenCodec, User, UserRepository, Username,
};

/// Sign-up, log-in, and turning a bearer token back into a user.
#[derive(Clone)]
pub struct Accounts {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenCodec>,
    throttle: Option<LoginThrottle>,
    sign_up_limit: Option<SignUpLimit>,
}

impl Accounts {
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenCodec>,
    ) -> Self {
        Self {
            users,
            hasher,
            tokens,
            throttle: None,
            sign_up_limit: None,
        }
    }

    /// Limits failed log-ins per username (see [`LoginThrottle`]).
    pub fn with_login_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Limits sign-ups per client address (see [`SignUpLimit`]).
    pub fn with_sign_up_limit(mut self, limit: SignUpLimit) -> Self {
        self.sign_up_limit = Some(limit);
        self
    }

    /// Creates an account. `client` is where the request came from, for
    /// the sign-up limit; `None` for trusted callers (the command line).
    pub async fn sign_up(
        &self,
        username: Username,
        password: NewPassword,
        client: Option<ClientAddress>,
    ) -> Result<User, DomainError> {
        let (Some(limit), Some(client)) = (&self.sign_up_limit, client) else {
            return self.create_account(username, password).await;
        };
        let reservation = limit.reserve(client).await?;
        let created = self.create_account(username, password).await;
        // A refused hash did no work: the client may retry without paying for it.
        if matches!(created, Err(DomainError::Overloaded { .. })) {
            limit.release(reservation).await;
        }
        created
    }

    async fn create_account(
        &self,
        username: Username,
        password: NewPassword,
    ) -> Result<User, DomainError> {
        // The same name or a look-alike (same skeleton, not both ASCII) is
        // taken; answered before the costly hash. The unique index still
        // decides races between concurrent sign-ups of one exact name, but
        // two simultaneous sign-ups of look-alike names are not serialised:
        // both may succeed (see the README, "Usernames and email addresses").
        let look_alikes = self.users.find_by_skeleton(&username.skeleton()).await?;
        if look_alikes
            .iter()
            .any(|user| username.is_confusable_with(&user.username))
        {
            return Err(DomainError::UsernameTaken);
        }
        let hash = self.hasher.hash(&password).await?;
        self.users.create(&username, &hash).await
    }

    /// 404 for an unknown user and 401 for a wrong password, as the old
    /// service answered. The attempt is counted by the log-in throttle
    /// before anything is looked up (429 comes first); a success, or a
    /// failure that checked no password, gives its count back. A correct
    /// password under an outdated hash scheme (legacy bcrypt) is rehashed
    /// with the current one.
    pub async fn log_in(
        &self,
        username: &LoginName,
        password: Password,
        client: ClientAddress,
    ) -> Result<AccessToken, DomainError> {
        let Some(throttle) = &self.throttle else {
            return self.check_password(username, password).await;
        };
        let attempt = throttle.reserve(username, client).await?;
        let outcome = self.check_password(username, password).await;
        match &outcome {
            // Wrong guesses, at unknown names too, keep their count.
            Err(DomainError::NotAuthorized | DomainError::UserNotFound) => drop(attempt),
            // Success, or no password was checked (overload, outage).
            _ => throttle.release(attempt).await,
        }
        outcome
    }

    async fn check_password(
        &self,
        username: &LoginName,
        password: Password,
    ) -> Result<AccessToken, DomainError> {
        let credentials = self
            .users
            .find_credentials(username.as_str())
            .await?
            .ok_or(DomainError::UserNotFound)?;
        match self
            .hasher
            .verify(&password, &credentials.password_hash)
            .await?
        {
            PasswordCheck::Mismatch => return Err(DomainError::NotAuthorized),
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
        self.tokens.issue(&credentials.user.username)
    }

    /// The user a bearer token belongs to: 401 for a bad token, 404 when
    /// the user no longer exists.
    pub async fn authenticate(&self, token: &str) -> Result<User, DomainError> {
        let username = self.tokens.subject(token)?;
        self.users
            .find_by_username(&username)
            .await?
            .ok_or(DomainError::UserNotFound)
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::{
        Credentials, MockPasswordHasher, MockTokenCodec, MockUserRepository, PasswordHash, UserId,
    };

    fn alice() -> User {
        User {
            id: UserId(7),
            username: "alice".into(),
            email: None,
            email_verified: false,
        }
    }

    fn client() -> ClientAddress {
        ClientAddress::new("192.0.2.1".parse().unwrap())
    }

    fn credentials(hash: &str) -> Credentials {
        Credentials {
            user: alice(),
            password_hash: PasswordHash::new(hash.into()),
        }
    }

    fn accounts(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        tokens: MockTokenCodec,
    ) -> Accounts {
        Accounts::new(Arc::new(users), Arc::new(hasher), Arc::new(tokens))
    }

    #[tokio::test]
    async fn sign_up_hashes_the_plain_password_once_and_saves_the_user() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_skeleton()
            .with(eq(Username::parse("alice").unwrap().skeleton()))
            .returning(|_| Ok(vec![]));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .withf(|p| p.as_password().expose() == "correct horse")
            .times(1)
            .returning(|_| Ok(PasswordHash::new("$argon2id$hashed".into())));
        users
            .expect_create()
            .withf(|name, hash| name.as_str() == "alice" && hash.expose() == "$argon2id$hashed")
            .times(1)
            .returning(|_, _| Ok(alice()));

        let user = accounts(users, hasher, MockTokenCodec::new())
            .sign_up(
                Username::parse("alice").unwrap(),
                NewPassword::parse("correct horse".into()).unwrap(),
                None,
            )
            .await
            .unwrap();

        assert_eq!(user, alice());
    }

    /// Signs up `name` where the repository holds `existing` (all of one
    /// skeleton); `Ok(true)` when it was created.
    async fn sign_up_beside(
        name: &str,
        existing: &'static [&'static str],
    ) -> Result<bool, DomainError> {
        let mut users = MockUserRepository::new();
        users.expect_find_by_skeleton().returning(|_| {
            Ok(existing
                .iter()
                .enumerate()
                .map(|(i, name)| User {
                    id: UserId(i as i64 + 1),
                    username: (*name).into(),
                    ..alice()
                })
                .collect())
        });
        users.expect_create().returning(|_, _| Ok(alice()));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$argon2id$hashed".into())));
        match accounts(users, hasher, MockTokenCodec::new())
            .sign_up(
                Username::parse(name).unwrap(),
                NewPassword::parse("correct horse".into()).unwrap(),
                None,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(DomainError::UsernameTaken) => Ok(false),
            Err(other) => Err(other),
        }
    }

    #[tokio::test]
    async fn sign_up_of_a_taken_name_is_a_conflict_without_hashing() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_skeleton()
            .returning(|_| Ok(vec![alice()]));
        users.expect_create().never();
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().never();

        let err = accounts(users, hasher, MockTokenCodec::new())
            .sign_up(
                Username::parse("alice").unwrap(),
                NewPassword::parse("correct horse".into()).unwrap(),
                None,
            )
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::UsernameTaken), "{err:?}");
    }

    #[tokio::test]
    async fn sign_up_of_a_look_alike_is_a_conflict_unless_both_are_ascii() {
        // Cyrillic а (U+0430) beside Latin a, in either order.
        assert!(!sign_up_beside("\u{430}lice", &["alice"]).await.unwrap());
        assert!(!sign_up_beside("alice", &["\u{430}lice"]).await.unwrap());
        assert!(
            !sign_up_beside("alice", &["bob", "\u{430}lice"])
                .await
                .unwrap()
        );
        // Both ASCII: `rn` and `m` share a skeleton and stay two names.
        assert!(sign_up_beside("rn", &["m"]).await.unwrap());
        assert!(sign_up_beside("m", &["rn", "rn"]).await.unwrap());
        // A skeleton digest shared by a name that is not confusable (a
        // collision, however unlikely) does not refuse.
        assert!(sign_up_beside("alice", &["Alice"]).await.unwrap());
        assert!(sign_up_beside("alice", &[]).await.unwrap());
    }

    #[tokio::test]
    async fn log_in_of_unknown_user_is_not_found() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials().returning(|_| Ok(None));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().never();

        let err = accounts(users, hasher, MockTokenCodec::new())
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
    async fn log_in_with_wrong_password_is_not_authorized() {
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

        let err = accounts(users, hasher, tokens)
            .log_in(
                &LoginName::parse("alice").unwrap(),
                Password::parse("wrong-password".into()).unwrap(),
                client(),
            )
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::NotAuthorized), "{err:?}");
    }

    #[tokio::test]
    async fn log_in_issues_a_token_for_the_user() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .with(eq("alice"))
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
            .with(eq("alice"))
            .returning(|_| Ok(AccessToken::new("signed".into())));

        let token = accounts(users, hasher, tokens)
            .log_in(
                &LoginName::parse("alice").unwrap(),
                Password::parse("right-password".into()).unwrap(),
                client(),
            )
            .await
            .unwrap();

        assert_eq!(token.expose(), "signed");
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
        tokens
            .expect_issue()
            .returning(|_| Ok(AccessToken::new("signed".into())));

        let token = accounts(users, hasher, tokens)
            .log_in(
                &LoginName::parse("alice").unwrap(),
                Password::parse("pw".into()).unwrap(),
                client(),
            )
            .await
            .unwrap();

        assert_eq!(token.expose(), "signed");
    }

    #[tokio::test]
    async fn token_of_a_deleted_user_is_user_not_found() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().returning(|_| Ok(None));
        let mut tokens = MockTokenCodec::new();
        tokens.expect_subject().returning(|_| Ok("ghost".into()));

        let err = accounts(users, MockPasswordHasher::new(), tokens)
            .authenticate("token")
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn bad_token_is_not_authorized_without_a_lookup() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().never();
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_subject()
            .returning(|_| Err(DomainError::NotAuthorized));

        let err = accounts(users, MockPasswordHasher::new(), tokens)
            .authenticate("garbage")
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::NotAuthorized), "{err:?}");
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
        tokens
            .expect_issue()
            .returning(|_| Ok(AccessToken::new("signed".into())));
        tokens
    }

    fn throttled(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        tokens: MockTokenCodec,
        cache: crate::MockCache,
    ) -> Accounts {
        accounts(users, hasher, tokens).with_login_throttle(LoginThrottle::new(Arc::new(cache)))
    }

    fn counting_cache(releases: usize) -> crate::MockCache {
        let mut cache = crate::MockCache::new();
        cache
            .expect_hit()
            .times(2)
            .returning(|_, _, _| Ok(crate::Hit::Counted(1)));
        cache.expect_release().times(releases).returning(|_| Ok(()));
        cache
    }

    async fn log_in_alice(accounts: &Accounts) -> Result<AccessToken, DomainError> {
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
        let mut cache = crate::MockCache::new();
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
        assert!(
            matches!(err, DomainError::TooManyRequests { .. }),
            "{err:?}"
        );
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
        assert!(matches!(err, DomainError::NotAuthorized), "{err:?}");

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
        tokens
            .expect_issue()
            .returning(|_| Ok(AccessToken::new("signed".into())));
        let token = log_in_alice(&accounts(users, hasher, tokens))
            .await
            .unwrap();
        assert_eq!(token.expose(), "signed");
    }

    fn limited(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        cache: crate::MockCache,
    ) -> Accounts {
        accounts(users, hasher, MockTokenCodec::new())
            .with_sign_up_limit(SignUpLimit::per_hour(Arc::new(cache), 20))
    }

    async fn sign_up_alice(accounts: &Accounts) -> Result<User, DomainError> {
        accounts
            .sign_up(
                Username::parse("alice").unwrap(),
                NewPassword::parse("correct horse".into()).unwrap(),
                Some(client()),
            )
            .await
    }

    #[tokio::test]
    async fn a_sign_up_over_the_limit_is_refused_before_any_work() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_skeleton().never();
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().never();
        let mut cache = crate::MockCache::new();
        cache.expect_hit().returning(|_, _, _| {
            Ok(crate::Hit::Refused {
                retry_after: std::time::Duration::from_secs(60),
            })
        });
        let err = sign_up_alice(&limited(users, hasher, cache))
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::TooManyRequests { .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_sign_up_refused_by_an_overloaded_hasher_does_not_count() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_skeleton()
            .returning(|_| Ok(Vec::new()));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().returning(|_| {
            Err(DomainError::Overloaded {
                retry_after: std::time::Duration::from_secs(1),
            })
        });
        let mut cache = crate::MockCache::new();
        cache
            .expect_hit()
            .with(
                eq("todos:sign-up:192.0.2.1"),
                eq(20),
                eq(std::time::Duration::from_secs(3600)),
            )
            .returning(|_, _, _| Ok(crate::Hit::Counted(1)));
        cache
            .expect_release()
            .with(eq("todos:sign-up:192.0.2.1"))
            .times(1)
            .returning(|_| Ok(()));
        let err = sign_up_alice(&limited(users, hasher, cache))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Overloaded { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_successful_sign_up_counts() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_skeleton()
            .returning(|_| Ok(Vec::new()));
        users.expect_create().returning(|_, _| Ok(alice()));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$argon2id$h".into())));
        let mut cache = crate::MockCache::new();
        cache
            .expect_hit()
            .times(1)
            .returning(|_, _, _| Ok(crate::Hit::Counted(1)));
        cache.expect_release().never();
        sign_up_alice(&limited(users, hasher, cache)).await.unwrap();
    }
}
