//! What a signed-in user does to their own account: change its password,
//! delete it (README: "Account lifecycle"). Both ask for the current
//! password, under the log-in throttle of the username: a stolen access
//! token alone cannot take the account over or destroy it, nor guess its
//! password faster than log-in can.

use std::{sync::Arc, time::SystemTime};

use super::login_throttle::throttled;
use crate::{
    Authenticated, ClientAddress, DomainError, Email, LoginName, LoginThrottle, Mailer, Message,
    NewPassword, Password, PasswordCheck, PasswordHasher, SessionRepository, User, UserRepository,
};

/// Changes passwords and deletes accounts (see the module documentation).
#[derive(Clone)]
pub struct Account {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    sessions: Arc<dyn SessionRepository>,
    mailer: Arc<dyn Mailer>,
    throttle: Option<LoginThrottle>,
}

impl Account {
    /// Without a throttle; notices go out through `mailer`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        sessions: Arc<dyn SessionRepository>,
        mailer: Arc<dyn Mailer>,
    ) -> Self {
        Self {
            users,
            hasher,
            sessions,
            mailer,
            throttle: None,
        }
    }

    /// Counts password checks in the log-in throttle (see [`LoginThrottle`]).
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Replaces the password of `who`'s account when `current` is right
    /// ([`DomainError::NotAuthenticated`] when not), then ends every other
    /// session of theirs (the one asking stays) and mails a notice to the
    /// verified address, if any. The new hash is stored before sessions
    /// end, so no log-in with the old password can slip in between.
    pub async fn change_password(
        &self,
        who: &Authenticated,
        current: Password,
        new: NewPassword,
        client: ClientAddress,
    ) -> Result<(), DomainError> {
        let user = &who.user;
        self.confirm(user, current, client).await?;
        let hash = self.hasher.hash(&new).await?;
        self.users.update_password_hash(user.id, &hash).await?;
        self.sessions
            .end_all_except(user.id, &who.session, SystemTime::now())
            .await?;
        self.notify(
            user,
            Message::PasswordChanged {
                username: user.username.clone(),
            },
        )
        .await
    }

    /// Deletes `user`'s account with its todos and sessions when
    /// `password` is right ([`DomainError::NotAuthenticated`] when not),
    /// and mails a notice to the verified address, if any.
    pub async fn delete(
        &self,
        user: &User,
        password: Password,
        client: ClientAddress,
    ) -> Result<(), DomainError> {
        self.confirm(user, password, client).await?;
        if !self.users.delete(user.id).await? {
            return Err(DomainError::UserNotFound);
        }
        self.notify(
            user,
            Message::AccountDeleted {
                username: user.username.clone(),
            },
        )
        .await
    }

    /// Checks `password` against `user`'s stored hash, as one log-in attempt.
    async fn confirm(
        &self,
        user: &User,
        password: Password,
        client: ClientAddress,
    ) -> Result<(), DomainError> {
        // A stored name is within log-in's bounds; one that is not cannot
        // have been signed in, so it is as good as gone.
        let name =
            LoginName::parse(user.username.clone()).map_err(|_| DomainError::UserNotFound)?;
        throttled(self.throttle.as_ref(), &name, client, async {
            let credentials = self
                .users
                .find_credentials(&name)
                .await?
                // The name may belong to a new account since the token was read.
                .filter(|credentials| credentials.user.id == user.id)
                .ok_or(DomainError::UserNotFound)?;
            match self
                .hasher
                .verify(&password, &credentials.password_hash)
                .await?
            {
                PasswordCheck::Mismatch => Err(DomainError::NotAuthenticated),
                PasswordCheck::Match | PasswordCheck::MatchNeedsRehash => Ok(()),
            }
        })
        .await
    }

    async fn notify(&self, user: &User, message: Message) -> Result<(), DomainError> {
        match &user.verified_email {
            Some(to) => {
                self.mailer
                    .send(Email {
                        to: to.clone(),
                        message,
                    })
                    .await
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::{always, eq};

    use super::*;
    use crate::{
        Credentials, EmailAddress, Hit, MockCache, MockMailer, MockPasswordHasher,
        MockSessionRepository, MockUserRepository, PasswordHash, Policies, SessionId, UserId,
        services::fixtures::{alice, client},
    };

    struct Ports {
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        sessions: MockSessionRepository,
        mailer: MockMailer,
    }

    fn address() -> EmailAddress {
        EmailAddress::parse("alice@example.com").unwrap()
    }

    fn verified_alice() -> User {
        User {
            verified_email: Some(address()),
            ..alice()
        }
    }

    fn session() -> SessionId {
        SessionId::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    fn who(user: User) -> Authenticated {
        Authenticated {
            user,
            session: session(),
        }
    }

    fn password(raw: &str) -> Password {
        Password::parse(raw.into()).unwrap()
    }

    fn new_password() -> NewPassword {
        NewPassword::parse("new-secret-1".into()).unwrap()
    }

    impl Ports {
        /// alice is stored with `stored_id`; her password is `right-password`.
        fn new(stored_id: i64) -> Self {
            let mut users = MockUserRepository::new();
            users
                .expect_find_credentials()
                .with(eq(LoginName::parse("alice").unwrap()))
                .returning(move |_| {
                    Ok(Some(Credentials {
                        user: User {
                            id: UserId(stored_id),
                            ..alice()
                        },
                        password_hash: PasswordHash::new("$argon2id$stored".into()),
                    }))
                });
            let mut hasher = MockPasswordHasher::new();
            hasher
                .expect_verify()
                .withf(|password, hash| {
                    hash.expose() == "$argon2id$stored" && !password.expose().is_empty()
                })
                .returning(|password, _| {
                    Ok(if password.expose() == "right-password" {
                        PasswordCheck::Match
                    } else {
                        PasswordCheck::Mismatch
                    })
                });
            Self {
                users,
                hasher,
                sessions: MockSessionRepository::new(),
                mailer: MockMailer::new(),
            }
        }

        fn account(self) -> Account {
            Account::new(
                Arc::new(self.users),
                Arc::new(self.hasher),
                Arc::new(self.sessions),
                Arc::new(self.mailer),
            )
        }

        /// Nothing is stored, ended or mailed.
        fn expect_no_change(&mut self) {
            self.hasher.expect_hash().never();
            self.users.expect_update_password_hash().never();
            self.users.expect_delete().never();
            self.sessions.expect_end_all_except().never();
            self.mailer.expect_send().never();
        }
    }

    #[tokio::test]
    async fn a_password_change_stores_the_hash_then_ends_the_other_sessions_and_mails_a_notice() {
        let mut ports = Ports::new(7);
        let mut order = mockall::Sequence::new();
        ports
            .hasher
            .expect_hash()
            .withf(|new| new.as_password().expose() == "new-secret-1")
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(PasswordHash::new("$argon2id$new".into())));
        ports
            .users
            .expect_update_password_hash()
            .withf(|id, hash| *id == UserId(7) && hash.expose() == "$argon2id$new")
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(()));
        ports
            .sessions
            .expect_end_all_except()
            .with(eq(UserId(7)), eq(session()), always())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(()));
        ports
            .mailer
            .expect_send()
            .with(eq(Email {
                to: address(),
                message: Message::PasswordChanged {
                    username: "alice".into(),
                },
            }))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));

        ports
            .account()
            .change_password(
                &who(verified_alice()),
                password("right-password"),
                new_password(),
                client(),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn without_a_verified_address_no_notice_is_mailed() {
        let mut ports = Ports::new(7);
        ports
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$argon2id$new".into())));
        ports
            .users
            .expect_update_password_hash()
            .returning(|_, _| Ok(()));
        ports
            .sessions
            .expect_end_all_except()
            .returning(|_, _, _| Ok(()));
        ports.users.expect_delete().returning(|_| Ok(true));
        ports.mailer.expect_send().never();
        let account = ports.account();

        account
            .change_password(
                &who(alice()),
                password("right-password"),
                new_password(),
                client(),
            )
            .await
            .unwrap();
        account
            .delete(&alice(), password("right-password"), client())
            .await
            .unwrap();
    }

    /// The errors of a password change and of a deletion of `user`'s
    /// account with `password`.
    async fn both_refused(account: &Account, user: User, password: &str) -> [DomainError; 2] {
        let change = account
            .change_password(
                &who(user.clone()),
                self::password(password),
                new_password(),
                client(),
            )
            .await
            .unwrap_err();
        let delete = account
            .delete(&user, self::password(password), client())
            .await
            .unwrap_err();
        [change, delete]
    }

    #[tokio::test]
    async fn a_wrong_current_password_changes_nothing() {
        let mut ports = Ports::new(7);
        ports.expect_no_change();

        for err in both_refused(&ports.account(), verified_alice(), "wrong-password").await {
            assert!(matches!(err, DomainError::NotAuthenticated), "{err:?}");
        }
    }

    #[tokio::test]
    async fn a_name_that_now_belongs_to_another_account_is_a_gone_user() {
        let mut ports = Ports::new(8);
        ports.expect_no_change();

        for err in both_refused(&ports.account(), alice(), "right-password").await {
            assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
        }
    }

    #[tokio::test]
    async fn deleting_removes_the_user_and_mails_a_notice() {
        let mut ports = Ports::new(7);
        let mut order = mockall::Sequence::new();
        ports
            .users
            .expect_delete()
            .with(eq(UserId(7)))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(true));
        ports
            .mailer
            .expect_send()
            .with(eq(Email {
                to: address(),
                message: Message::AccountDeleted {
                    username: "alice".into(),
                },
            }))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));

        ports
            .account()
            .delete(&verified_alice(), password("right-password"), client())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn deleting_a_user_deleted_meanwhile_is_a_gone_user_and_mails_nothing() {
        let mut ports = Ports::new(7);
        ports.users.expect_delete().returning(|_| Ok(false));
        ports.mailer.expect_send().never();

        let err = ports
            .account()
            .delete(&verified_alice(), password("right-password"), client())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
    }

    /// A throttle that refuses every attempt, or counts them and expects
    /// `released` slots back.
    fn throttle(refuse: bool, released: usize) -> LoginThrottle {
        let mut cache = MockCache::new();
        cache.expect_hit().returning(move |_, _, _| {
            Ok(if refuse {
                Hit::Refused {
                    retry_after: std::time::Duration::from_secs(60),
                }
            } else {
                Hit::Counted(1)
            })
        });
        cache.expect_release().times(released).returning(|_| Ok(()));
        LoginThrottle::new(Arc::new(cache), &Policies::default())
    }

    #[tokio::test]
    async fn password_checks_count_as_log_in_attempts() {
        // Refused before any password is checked.
        let mut ports = Ports::new(7);
        ports.hasher.checkpoint();
        ports.hasher.expect_verify().never();
        ports.expect_no_change();
        let err = ports
            .account()
            .with_throttle(throttle(true, 0))
            .delete(&verified_alice(), password("right-password"), client())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::RateLimited { .. }), "{err:?}");

        // A wrong password keeps both slots (per client, per username).
        let mut ports = Ports::new(7);
        ports.expect_no_change();
        let err = ports
            .account()
            .with_throttle(throttle(false, 0))
            .change_password(
                &who(alice()),
                password("wrong-password"),
                new_password(),
                client(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotAuthenticated), "{err:?}");

        // A right one gives them back.
        let mut ports = Ports::new(7);
        ports.users.expect_delete().returning(|_| Ok(true));
        ports
            .account()
            .with_throttle(throttle(false, 2))
            .delete(&alice(), password("right-password"), client())
            .await
            .unwrap();
    }
}
