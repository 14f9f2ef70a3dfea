//! Creating an account.

use std::sync::Arc;

use crate::{
    ClientAddress, DomainError, NewPassword, PasswordHasher, SignUpLimit, User, UserRepository,
    Username,
};

/// Creates accounts: checks the name is free, hashes the password, stores
/// the user. Needs no token codec: a command-line tool creates users too.
#[derive(Clone)]
pub struct SignUp {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    limit: Option<SignUpLimit>,
}

impl SignUp {
    /// Sign-ups without a per-client limit.
    pub fn new(users: Arc<dyn UserRepository>, hasher: Arc<dyn PasswordHasher>) -> Self {
        Self {
            users,
            hasher,
            limit: None,
        }
    }

    /// Limits sign-ups per client address (see [`SignUpLimit`]).
    pub fn with_limit(mut self, limit: SignUpLimit) -> Self {
        self.limit = Some(limit);
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
        let (Some(limit), Some(client)) = (&self.limit, client) else {
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
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::{
        MockCache, MockPasswordHasher, MockUserRepository, PasswordHash, Policies, UserId,
        services::fixtures::{alice, client},
    };

    fn sign_up(users: MockUserRepository, hasher: MockPasswordHasher) -> SignUp {
        SignUp::new(Arc::new(users), Arc::new(hasher))
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

        let user = sign_up(users, hasher)
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
        match sign_up(users, hasher)
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

        let err = sign_up(users, hasher)
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

    fn limited(users: MockUserRepository, hasher: MockPasswordHasher, cache: MockCache) -> SignUp {
        sign_up(users, hasher).with_limit(SignUpLimit::new(Arc::new(cache), &Policies::default()))
    }

    async fn sign_up_alice(accounts: &SignUp) -> Result<User, DomainError> {
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
        let mut cache = MockCache::new();
        cache.expect_hit().returning(|_, _, _| {
            Ok(crate::Hit::Refused {
                retry_after: std::time::Duration::from_secs(60),
            })
        });
        let err = sign_up_alice(&limited(users, hasher, cache))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::RateLimited { .. }), "{err:?}");
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
        let mut cache = MockCache::new();
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
        let mut cache = MockCache::new();
        cache
            .expect_hit()
            .times(1)
            .returning(|_, _, _| Ok(crate::Hit::Counted(1)));
        cache.expect_release().never();
        sign_up_alice(&limited(users, hasher, cache)).await.unwrap();
    }
}
