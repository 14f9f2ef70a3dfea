//! Resetting a forgotten password with a code mailed to the account's
//! verified address (README: "Account lifecycle").
//!
//! Nothing in the answers or their timing tells whether an address
//! belongs to an account: a request for an unknown address counts
//! against the same limit and stores a code just as a known one does
//! (a decoy, tied to no account, that no code matches), so a later reset
//! at that address takes the same steps as at a known one. Only the
//! email is missing, and it is sent in the background.

use std::{sync::Arc, time::SystemTime};

use crate::{
    Cache, DomainError, Email, EmailAddress, Hit, Mailer, Message, NewPassword, Otp, OtpGenerator,
    PasswordHasher, Policies, ResetPolicy, SessionRepository, User, UserId, UserRepository,
    sha256_hex,
};

/// Mails reset codes and redeems them (see the module documentation).
#[derive(Clone)]
pub struct PasswordReset {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    cache: Arc<dyn Cache>,
    mailer: Arc<dyn Mailer>,
    codes: Arc<dyn OtpGenerator>,
    policy: ResetPolicy,
    prefix: String,
}

/// The ports [`PasswordReset`] uses.
pub struct ResetPorts {
    /// Finds the account of an address and stores its new password hash.
    pub users: Arc<dyn UserRepository>,
    /// Ends the account's sessions after a reset.
    pub sessions: Arc<dyn SessionRepository>,
    /// Hashes the new password.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Holds codes and counters.
    pub cache: Arc<dyn Cache>,
    /// Sends codes and notices.
    pub mailer: Arc<dyn Mailer>,
    /// Makes codes.
    pub codes: Arc<dyn OtpGenerator>,
}

impl PasswordReset {
    /// Under `policies.reset`, with cache keys under `policies.cache_prefix`.
    pub fn new(ports: ResetPorts, policies: &Policies) -> Self {
        Self {
            users: ports.users,
            sessions: ports.sessions,
            hasher: ports.hasher,
            cache: ports.cache,
            mailer: ports.mailer,
            codes: ports.codes,
            policy: policies.reset,
            prefix: policies.cache_prefix.clone(),
        }
    }

    /// Mails a new code to `email` when it is some account's verified
    /// address, replacing any earlier code for it; succeeds alike for any
    /// other address. [`DomainError::RateLimited`] past the hourly
    /// requests of the address, known or not (refused ones do not count).
    pub async fn forgot(&self, email: EmailAddress) -> Result<(), DomainError> {
        let keys = Keys::new(&self.prefix, &email);
        if let Hit::Refused { retry_after } = self
            .cache
            .hit(
                &keys.requests,
                self.policy.max_requests_per_address,
                self.policy.request_window,
            )
            .await?
        {
            return Err(DomainError::RateLimited { retry_after });
        }
        let user = self.users.find_by_verified_email(&email).await?;
        let code = self.codes.generate();
        self.cache.delete(&keys.attempts).await?;
        self.cache
            .put(
                &keys.code,
                &digest(owner(user.as_ref()), &email, &code),
                self.policy.ttl,
            )
            .await?;
        let Some(user) = user else {
            return Ok(());
        };
        self.mailer
            .send(Email {
                // As the account stored it, not as this request typed it.
                to: user.verified_email.clone().unwrap_or(email),
                message: Message::PasswordResetCode {
                    username: user.username,
                    code,
                    valid_for: self.policy.ttl,
                },
            })
            .await
    }

    /// Sets `new_password` on the account whose verified address is
    /// `email` when `code` is its current code, ends every session of
    /// the account and mails a notice. [`DomainError::InvalidOtp`] for a
    /// wrong, expired, used or voided code, and for an address without
    /// one; the last of [`ResetPolicy::max_attempts`] wrong codes voids it.
    pub async fn reset(
        &self,
        email: EmailAddress,
        code: Otp,
        new_password: NewPassword,
    ) -> Result<(), DomainError> {
        let keys = Keys::new(&self.prefix, &email);
        let Some(stored) = self.cache.get(&keys.code).await? else {
            return Err(DomainError::InvalidOtp);
        };
        // Counted before comparing, so concurrent guesses cannot exceed the cap.
        let attempt = match self
            .cache
            .hit(&keys.attempts, self.policy.max_attempts, self.policy.ttl)
            .await?
        {
            Hit::Counted(n) => n,
            Hit::Refused { .. } => {
                self.cache.delete(&keys.code).await?;
                return Err(DomainError::InvalidOtp);
            }
        };
        let user = self.users.find_by_verified_email(&email).await?;
        // The same steps for a decoy as for a real code: no timing tells them apart.
        let matches = stored == digest(owner(user.as_ref()), &email, &code);
        let Some(user) = user.filter(|_| matches) else {
            if attempt >= self.policy.max_attempts {
                self.cache.delete(&keys.code).await?;
            }
            return Err(DomainError::InvalidOtp);
        };
        // Hashed before the code is spent: a full hashing queue (503)
        // leaves the code usable for a retry.
        let hash = self.hasher.hash(&new_password).await?;
        // Single use: of two concurrent right answers only one takes the code.
        if self.cache.take(&keys.code).await?.as_deref() != Some(stored.as_str()) {
            return Err(DomainError::InvalidOtp);
        }
        self.cache.delete(&keys.attempts).await?;
        self.users.update_password_hash(user.id, &hash).await?;
        self.sessions.end_all(user.id, SystemTime::now()).await?;
        self.mailer
            .send(Email {
                to: user.verified_email.clone().unwrap_or(email),
                message: Message::PasswordChanged {
                    username: user.username,
                },
            })
            .await
    }
}

/// Cache keys of one address, in lower case: `Ann@x.co` and `ann@x.co`
/// share their codes and their limit.
struct Keys {
    code: String,
    attempts: String,
    requests: String,
}

impl Keys {
    fn new(prefix: &str, email: &EmailAddress) -> Self {
        let email = email.key();
        let email = email.as_str();
        Self {
            code: format!("{prefix}reset:code:{email}"),
            attempts: format!("{prefix}reset:attempts:{email}"),
            requests: format!("{prefix}reset:requests:{email}"),
        }
    }
}

/// Whose code it is: user ids start at 1, so 0 is no account's (a decoy's).
fn owner(user: Option<&User>) -> UserId {
    user.map_or(UserId(0), |user| user.id)
}

/// Tied to the account, not only the address: a code mailed before the
/// address moved to another account does not reset that one.
fn digest(owner: UserId, email: &EmailAddress, code: &Otp) -> String {
    sha256_hex(
        format!(
            "reset\n{}\n{}\n{}",
            owner.0,
            email.key().as_str(),
            code.expose()
        )
        .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mockall::predicate::{always, eq};

    use super::*;
    use crate::{
        MockCache, MockMailer, MockOtpGenerator, MockPasswordHasher, MockSessionRepository,
        MockUserRepository, PasswordHash, services::fixtures::alice,
    };

    // The policy as the README states it, written out rather than read
    // from the constants, so that a changed constant fails a test.
    const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);
    const HOUR: Duration = Duration::from_secs(3600);
    const CODE_KEY: &str = "todos:reset:code:ann@example.com";
    const ATTEMPTS_KEY: &str = "todos:reset:attempts:ann@example.com";
    const REQUESTS_KEY: &str = "todos:reset:requests:ann@example.com";

    /// As typed, in mixed case: keys and digests use the lower case.
    fn address() -> EmailAddress {
        EmailAddress::parse("Ann@Example.com").unwrap()
    }

    fn otp(code: &str) -> Otp {
        Otp::parse(code).unwrap()
    }

    /// As the account stored it.
    fn stored_address() -> EmailAddress {
        EmailAddress::parse("ann@example.com").unwrap()
    }

    fn ann() -> User {
        User {
            verified_email: Some(stored_address()),
            username: "ann".into(),
            ..alice()
        }
    }

    fn new_password() -> NewPassword {
        NewPassword::parse("brand-new-pass".into()).unwrap()
    }

    struct Ports {
        users: MockUserRepository,
        sessions: MockSessionRepository,
        hasher: MockPasswordHasher,
        cache: MockCache,
        mailer: MockMailer,
        codes: MockOtpGenerator,
    }

    impl Ports {
        fn new() -> Self {
            Self {
                users: MockUserRepository::new(),
                sessions: MockSessionRepository::new(),
                hasher: MockPasswordHasher::new(),
                cache: MockCache::new(),
                mailer: MockMailer::new(),
                codes: MockOtpGenerator::new(),
            }
        }

        fn service(self) -> PasswordReset {
            PasswordReset::new(
                ResetPorts {
                    users: Arc::new(self.users),
                    sessions: Arc::new(self.sessions),
                    hasher: Arc::new(self.hasher),
                    cache: Arc::new(self.cache),
                    mailer: Arc::new(self.mailer),
                    codes: Arc::new(self.codes),
                },
                &Policies::default(),
            )
        }

        /// The address belongs to `user`.
        fn owned_by(&mut self, user: Option<User>) {
            self.users
                .expect_find_by_verified_email()
                .with(eq(address()))
                .returning(move |_| Ok(user.clone()));
        }

        /// The cache holds the digest of `code` for `owner`, on attempt `attempt`.
        fn stored_code(&mut self, owner: UserId, code: &str, attempt: u64) {
            let stored = digest(owner, &address(), &otp(code));
            self.cache
                .expect_get()
                .with(eq(CODE_KEY))
                .returning(move |_| Ok(Some(stored.clone())));
            self.cache
                .expect_hit()
                .with(eq(ATTEMPTS_KEY), eq(5), eq(CODE_LIFETIME))
                .times(1)
                .returning(move |_, _, _| Ok(Hit::Counted(attempt)));
        }

        /// No password changes, no session ends, nothing is mailed.
        fn expect_no_change(&mut self) {
            self.hasher.expect_hash().never();
            self.users.expect_update_password_hash().never();
            self.sessions.expect_end_all().never();
            self.mailer.expect_send().never();
        }

        async fn reset(self, code: &str) -> Result<(), DomainError> {
            self.service()
                .reset(address(), otp(code), new_password())
                .await
        }
    }

    /// Counts the request and stores the digest of 042917 for `owner`.
    fn expect_code_stored(ports: &mut Ports, owner: UserId) {
        let mut order = mockall::Sequence::new();
        ports
            .cache
            .expect_hit()
            .with(eq(REQUESTS_KEY), eq(5), eq(HOUR))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(Hit::Counted(1)));
        ports
            .codes
            .expect_generate()
            .times(1)
            .returning(|| otp("042917"));
        ports
            .cache
            .expect_delete()
            .with(eq(ATTEMPTS_KEY))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        let expected = digest(owner, &address(), &otp("042917"));
        ports
            .cache
            .expect_put()
            .withf(move |key, value, ttl| {
                key == CODE_KEY && value == expected && *ttl == CODE_LIFETIME
            })
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(()));
    }

    #[tokio::test]
    async fn forgot_stores_a_digest_and_mails_the_code_to_a_verified_address() {
        let mut ports = Ports::new();
        ports.owned_by(Some(ann()));
        expect_code_stored(&mut ports, UserId(7));
        ports
            .mailer
            .expect_send()
            .with(eq(Email {
                to: stored_address(),
                message: Message::PasswordResetCode {
                    username: "ann".into(),
                    code: otp("042917"),
                    valid_for: CODE_LIFETIME,
                },
            }))
            .times(1)
            .returning(|_| Ok(()));

        ports.service().forgot(address()).await.unwrap();
    }

    #[tokio::test]
    async fn forgot_at_an_unknown_address_stores_a_decoy_and_mails_nothing() {
        let mut ports = Ports::new();
        ports.owned_by(None);
        expect_code_stored(&mut ports, UserId(0));
        ports.mailer.expect_send().never();

        ports.service().forgot(address()).await.unwrap();
    }

    #[tokio::test]
    async fn forgot_past_the_hourly_requests_is_rate_limited_and_does_nothing() {
        let mut ports = Ports::new();
        ports
            .cache
            .expect_hit()
            .with(eq(REQUESTS_KEY), eq(5), eq(HOUR))
            .returning(|_, _, _| {
                Ok(Hit::Refused {
                    retry_after: Duration::from_secs(42),
                })
            });
        ports.users.expect_find_by_verified_email().never();
        ports.cache.expect_put().never();
        ports.mailer.expect_send().never();

        let err = ports.service().forgot(address()).await.unwrap_err();
        assert!(
            matches!(err, DomainError::RateLimited { retry_after } if retry_after == Duration::from_secs(42)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn the_right_code_sets_the_password_ends_every_session_and_mails_a_notice() {
        let mut ports = Ports::new();
        ports.owned_by(Some(ann()));
        ports.stored_code(UserId(7), "042917", 1);
        let stored = digest(UserId(7), &address(), &otp("042917"));
        let mut order = mockall::Sequence::new();
        ports
            .hasher
            .expect_hash()
            .withf(|new| new.as_password().expose() == "brand-new-pass")
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(PasswordHash::new("$argon2id$new".into())));
        ports
            .cache
            .expect_take()
            .with(eq(CODE_KEY))
            .times(1)
            .in_sequence(&mut order)
            .returning(move |_| Ok(Some(stored.clone())));
        ports
            .cache
            .expect_delete()
            .with(eq(ATTEMPTS_KEY))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        ports
            .users
            .expect_update_password_hash()
            .withf(|id, hash| *id == UserId(7) && hash.expose() == "$argon2id$new")
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(()));
        ports
            .sessions
            .expect_end_all()
            .with(eq(UserId(7)), always())
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(()));
        ports
            .mailer
            .expect_send()
            .with(eq(Email {
                to: stored_address(),
                message: Message::PasswordChanged {
                    username: "ann".into(),
                },
            }))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));

        ports.reset("042917").await.unwrap();
    }

    fn assert_invalid(result: Result<(), DomainError>) {
        let err = result.unwrap_err();
        assert!(matches!(err, DomainError::InvalidOtp), "{err:?}");
    }

    #[tokio::test]
    async fn an_address_without_a_code_is_refused_without_counting() {
        let mut ports = Ports::new();
        ports
            .cache
            .expect_get()
            .with(eq(CODE_KEY))
            .returning(|_| Ok(None));
        ports.cache.expect_hit().never();
        ports.expect_no_change();

        assert_invalid(ports.reset("042917").await);
    }

    #[tokio::test]
    async fn a_wrong_code_is_refused_and_keeps_the_code_until_the_last_attempt() {
        for (attempt, voided) in [(1, false), (4, false), (5, true)] {
            let mut ports = Ports::new();
            ports.owned_by(Some(ann()));
            ports.stored_code(UserId(7), "042917", attempt);
            ports.expect_no_change();
            ports.cache.expect_take().never();
            ports
                .cache
                .expect_delete()
                .with(eq(CODE_KEY))
                .times(usize::from(voided))
                .returning(|_| Ok(()));

            assert_invalid(ports.reset("111111").await);
        }
    }

    #[tokio::test]
    async fn past_the_attempts_even_the_right_code_is_refused_and_voided() {
        let mut ports = Ports::new();
        let stored = digest(UserId(7), &address(), &otp("042917"));
        ports
            .cache
            .expect_get()
            .returning(move |_| Ok(Some(stored.clone())));
        ports
            .cache
            .expect_hit()
            .with(eq(ATTEMPTS_KEY), eq(5), eq(CODE_LIFETIME))
            .returning(|_, _, _| {
                Ok(Hit::Refused {
                    retry_after: Duration::from_secs(1),
                })
            });
        ports
            .cache
            .expect_delete()
            .with(eq(CODE_KEY))
            .times(1)
            .returning(|_| Ok(()));
        ports.users.expect_find_by_verified_email().never();
        ports.expect_no_change();

        assert_invalid(ports.reset("042917").await);
    }

    #[tokio::test]
    async fn a_decoy_matches_no_code_not_even_its_own() {
        let mut ports = Ports::new();
        ports.owned_by(None);
        ports.stored_code(UserId(0), "042917", 1);
        ports.expect_no_change();

        assert_invalid(ports.reset("042917").await);
    }

    #[tokio::test]
    async fn a_code_of_the_address_s_former_account_does_not_reset_the_new_one() {
        let mut ports = Ports::new();
        ports.owned_by(Some(User {
            id: UserId(8),
            ..ann()
        }));
        ports.stored_code(UserId(7), "042917", 1);
        ports.expect_no_change();

        assert_invalid(ports.reset("042917").await);
    }

    #[tokio::test]
    async fn a_code_taken_by_a_concurrent_reset_is_refused() {
        let mut ports = Ports::new();
        ports.owned_by(Some(ann()));
        ports.stored_code(UserId(7), "042917", 1);
        ports
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$argon2id$new".into())));
        ports.cache.expect_take().returning(|_| Ok(None));
        ports.users.expect_update_password_hash().never();
        ports.sessions.expect_end_all().never();
        ports.mailer.expect_send().never();

        assert_invalid(ports.reset("042917").await);
    }

    #[tokio::test]
    async fn a_full_hashing_queue_leaves_the_code_usable() {
        let mut ports = Ports::new();
        ports.owned_by(Some(ann()));
        ports.stored_code(UserId(7), "042917", 1);
        ports.hasher.expect_hash().returning(|_| {
            Err(DomainError::Overloaded {
                retry_after: Duration::from_secs(1),
            })
        });
        ports.cache.expect_take().never();
        ports.cache.expect_delete().never();
        ports.users.expect_update_password_hash().never();

        let err = ports.reset("042917").await.unwrap_err();
        assert!(matches!(err, DomainError::Overloaded { .. }), "{err:?}");
    }
}
