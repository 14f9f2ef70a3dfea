//! Verifying a user's email address with a one-time password (README:
//! "Verifying an email address").

use std::sync::Arc;

use rand::Rng;

use crate::{
    Cache, DomainError, Email, EmailAddress, Hit, Mailer, Message, Otp, OtpGenerator, OtpPolicy,
    Policies, User, UserId, UserRepository, sha256_hex,
};

/// Six digits from the thread-local CSPRNG (ChaCha, seeded by the OS).
pub struct RandomOtpGenerator;

impl OtpGenerator for RandomOtpGenerator {
    fn generate(&self) -> Otp {
        let code: u32 = rand::rng().random_range(0..1_000_000);
        Otp::parse(&format!("{code:06}")).expect("six digits")
    }
}

/// Mails codes and checks them (see the module documentation).
#[derive(Clone)]
pub struct EmailVerification {
    users: Arc<dyn UserRepository>,
    cache: Arc<dyn Cache>,
    mailer: Arc<dyn Mailer>,
    codes: Arc<dyn OtpGenerator>,
    policy: OtpPolicy,
    prefix: String,
}

impl EmailVerification {
    /// Codes from `codes` under `policies.otp`, kept in `cache` under
    /// `policies.cache_prefix` and sent through `mailer`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        cache: Arc<dyn Cache>,
        mailer: Arc<dyn Mailer>,
        codes: Arc<dyn OtpGenerator>,
        policies: &Policies,
    ) -> Self {
        Self {
            users,
            cache,
            mailer,
            codes,
            policy: policies.otp,
            prefix: policies.cache_prefix.clone(),
        }
    }

    /// Issues a code for `email` and mails it. A new code replaces the
    /// previous one for that address; refused requests do not count.
    /// When the address has had its share of code emails this hour, the
    /// request succeeds as usual but nothing is stored or sent (a code
    /// already sent stays valid): the answer does not tell a stranger
    /// whether the address is being flooded.
    pub async fn request(&self, user: &User, email: EmailAddress) -> Result<(), DomainError> {
        let policy = &self.policy;
        let requests = format!("{}otp:requests:{}", self.prefix, user.id.0);
        if let Hit::Refused { retry_after } = self
            .cache
            .hit(&requests, policy.max_requests, policy.request_window)
            .await?
        {
            return Err(DomainError::RateLimited { retry_after });
        }
        let destination = format!("{}mail:codes:{}", self.prefix, email.key().as_str());
        if let Hit::Refused { .. } = self
            .cache
            .hit(
                &destination,
                policy.max_code_emails_per_address,
                policy.code_email_window,
            )
            .await?
        {
            // Not the address: it is personal data, and the user id finds it.
            tracing::info!(
                user_id = user.id.0,
                "code email not sent: the address had its hourly share"
            );
            return Ok(());
        }
        let keys = Keys::new(&self.prefix, user.id, &email);
        let otp = self.codes.generate();
        self.cache.delete(&keys.attempts).await?;
        self.cache
            .put(&keys.code, &digest(user.id, &email, &otp), policy.ttl)
            .await?;
        self.mailer
            .send(Email {
                to: email,
                message: Message::VerificationCode {
                    code: otp,
                    valid_for: policy.ttl,
                },
            })
            .await
    }

    /// Checks `otp` for this user and address; on success stores the
    /// address as verified and mails a confirmation. Every failure is
    /// [`DomainError::InvalidOtp`], whatever its reason.
    pub async fn verify(
        &self,
        user: &User,
        email: EmailAddress,
        otp: Otp,
    ) -> Result<User, DomainError> {
        let keys = Keys::new(&self.prefix, user.id, &email);
        let Some(stored) = self.cache.get(&keys.code).await? else {
            return Err(DomainError::InvalidOtp);
        };
        // Counted before comparing, so concurrent guesses cannot exceed the cap.
        let attempt = match self
            .cache
            .hit(
                &keys.attempts,
                self.policy.max_verify_attempts,
                self.policy.ttl,
            )
            .await?
        {
            Hit::Counted(n) => n,
            Hit::Refused { .. } => {
                self.cache.delete(&keys.code).await?;
                return Err(DomainError::InvalidOtp);
            }
        };
        if stored != digest(user.id, &email, &otp) {
            if attempt >= self.policy.max_verify_attempts {
                self.cache.delete(&keys.code).await?;
            }
            return Err(DomainError::InvalidOtp);
        }
        // Single use: of two concurrent right answers only one takes the code.
        if self.cache.take(&keys.code).await?.as_deref() != Some(stored.as_str()) {
            return Err(DomainError::InvalidOtp);
        }
        // The right code resets the count (a code put back below starts
        // afresh). Not worth failing for: a new code's request clears it
        // too, and it expires with the code.
        if let Err(error) = self.cache.delete(&keys.attempts).await {
            tracing::warn!(%error, "could not clear a right code's attempts");
        }
        let verified = match self.users.set_verified_email(user.id, &email).await {
            Ok(verified) => verified,
            Err(err) => {
                // The code was right: a failure after it was taken (address
                // taken meanwhile, database down) must not cost the user
                // their code. It is put back with a fresh lifetime; should
                // the cache fail too, the first error is still the answer.
                if let Err(cache) = self.cache.put(&keys.code, &stored, self.policy.ttl).await {
                    tracing::warn!(error = %cache, "could not put back a verified code");
                }
                return Err(err);
            }
        };
        self.mailer
            .send(Email {
                to: email,
                message: Message::EmailVerified {
                    username: verified.username.clone(),
                },
            })
            .await?;
        Ok(verified)
    }
}

/// Cache keys of one (user, address) pair: a code works only for both.
struct Keys {
    code: String,
    attempts: String,
}

impl Keys {
    /// Keyed by the lower-cased address: `Ann@x.co` and `ann@x.co` are one.
    fn new(prefix: &str, user: UserId, email: &EmailAddress) -> Self {
        let email = email.key();
        let email = email.as_str();
        Self {
            code: format!("{prefix}otp:code:{}:{email}", user.0),
            attempts: format!("{prefix}otp:attempts:{}:{email}", user.0),
        }
    }
}

/// The cache holds a digest, never the digits: a dump of Redis or its
/// MONITOR output does not show live codes. (Six digits are few, so this
/// hides codes from view; it does not make them hard to brute-force.)
fn digest(user: UserId, email: &EmailAddress, otp: &Otp) -> String {
    sha256_hex(format!("{}\n{}\n{}", user.0, email.key().as_str(), otp.expose()).as_bytes())
}

#[cfg(test)]
mod tests {
    use mockall::predicate::{always, eq};

    use std::time::Duration;

    use super::*;
    use crate::{
        MockCache, MockMailer, MockOtpGenerator, MockUserRepository, services::fixtures::alice,
    };

    fn address() -> EmailAddress {
        EmailAddress::parse("alice@example.com").unwrap()
    }

    fn otp(code: &str) -> Otp {
        Otp::parse(code).unwrap()
    }

    // The policy as the README states it, written out rather than read
    // from the constants, so that a changed constant fails a test.
    const CODE_LIFETIME: Duration = Duration::from_secs(180);
    const HOUR: Duration = Duration::from_secs(3600);

    const CODE_KEY: &str = "todos:otp:code:7:alice@example.com";
    const ATTEMPTS_KEY: &str = "todos:otp:attempts:7:alice@example.com";

    struct Ports {
        users: MockUserRepository,
        cache: MockCache,
        mailer: MockMailer,
        codes: MockOtpGenerator,
    }

    impl Ports {
        fn new() -> Self {
            Self {
                users: MockUserRepository::new(),
                cache: MockCache::new(),
                mailer: MockMailer::new(),
                codes: MockOtpGenerator::new(),
            }
        }

        fn service(self) -> EmailVerification {
            EmailVerification::new(
                Arc::new(self.users),
                Arc::new(self.cache),
                Arc::new(self.mailer),
                Arc::new(self.codes),
                &Policies::default(),
            )
        }

        /// The stored code is deleted, once.
        fn expect_code_voided(&mut self) {
            self.cache
                .expect_delete()
                .with(eq(CODE_KEY))
                .times(1)
                .returning(|_| Ok(()));
        }

        /// Verifying `code` for alice fails as an invalid code.
        async fn assert_refused(self, code: &str) {
            let err = self
                .service()
                .verify(&alice(), address(), otp(code))
                .await
                .unwrap_err();
            assert!(matches!(err, DomainError::InvalidOtp), "{err:?}");
        }

        /// The cache holds the digest of `code`, on attempt number `attempt`.
        fn stored_code(&mut self, code: &str, attempt: u64) {
            let stored = digest(UserId(7), &address(), &otp(code));
            self.cache
                .expect_get()
                .with(eq(CODE_KEY))
                .returning(move |_| Ok(Some(stored.clone())));
            self.cache
                .expect_hit()
                .with(eq(ATTEMPTS_KEY), eq(5), eq(CODE_LIFETIME))
                .returning(move |_, _, _| Ok(Hit::Counted(attempt)));
        }
    }

    const DESTINATION_KEY: &str = "todos:mail:codes:alice@example.com";

    #[tokio::test]
    async fn request_stores_a_digest_and_mails_the_code() {
        let mut ports = Ports::new();
        ports
            .cache
            .expect_hit()
            .with(eq("todos:otp:requests:7"), eq(5), eq(HOUR))
            .returning(|_, _, _| Ok(Hit::Counted(1)));
        ports
            .cache
            .expect_hit()
            .with(eq(DESTINATION_KEY), eq(5), eq(HOUR))
            .times(1)
            .returning(|_, _, _| Ok(Hit::Counted(5)));
        ports.codes.expect_generate().returning(|| otp("042917"));
        ports
            .cache
            .expect_delete()
            .with(eq(ATTEMPTS_KEY))
            .times(1)
            .returning(|_| Ok(()));
        ports
            .cache
            .expect_put()
            .withf(|key, value, ttl| {
                key == CODE_KEY
                    && value.len() == 64
                    && !value.contains("042917")
                    && *ttl == CODE_LIFETIME
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        ports
            .mailer
            .expect_send()
            .withf(|mail| {
                mail.to == address()
                    && mail.message
                        == Message::VerificationCode {
                            code: otp("042917"),
                            valid_for: CODE_LIFETIME,
                        }
            })
            .times(1)
            .returning(|_| Ok(()));

        ports.service().request(&alice(), address()).await.unwrap();
    }

    #[tokio::test]
    async fn an_address_over_its_hourly_share_gets_nothing_and_keeps_its_code() {
        let mut ports = Ports::new();
        ports
            .cache
            .expect_hit()
            .with(eq("todos:otp:requests:7"), eq(5), eq(HOUR))
            .returning(|_, _, _| Ok(Hit::Counted(2)));
        ports
            .cache
            .expect_hit()
            .with(eq("todos:mail:codes:alice@example.com"), eq(5), eq(HOUR))
            .returning(|_, _, _| {
                Ok(Hit::Refused {
                    retry_after: Duration::from_secs(100),
                })
            });
        ports.codes.expect_generate().never();
        ports.cache.expect_delete().never();
        ports.cache.expect_put().never();
        ports.mailer.expect_send().never();

        let shouting = EmailAddress::parse("ALICE@Example.com").unwrap();
        ports.service().request(&alice(), shouting).await.unwrap();
    }

    #[tokio::test]
    async fn request_over_the_cap_is_rate_limited_and_sends_nothing() {
        let mut ports = Ports::new();
        ports.cache.expect_hit().returning(|_, _, _| {
            Ok(Hit::Refused {
                retry_after: Duration::from_secs(1234),
            })
        });
        ports.codes.expect_generate().never();
        ports.cache.expect_put().never();
        ports.mailer.expect_send().never();

        let err = ports
            .service()
            .request(&alice(), address())
            .await
            .unwrap_err();

        assert!(
            matches!(err, DomainError::RateLimited { retry_after } if retry_after.as_secs() == 1234),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn wrong_code_is_refused_and_keeps_the_code_before_the_cap() {
        let mut ports = Ports::new();
        ports.stored_code("111111", 4);
        ports.cache.expect_delete().never();
        ports.cache.expect_take().never();
        ports.users.expect_set_verified_email().never();

        ports.assert_refused("222222").await;
    }

    #[tokio::test]
    async fn fifth_wrong_attempt_voids_the_code() {
        let mut ports = Ports::new();
        ports.stored_code("111111", 5);
        ports.expect_code_voided();

        ports.assert_refused("222222").await;
    }

    #[tokio::test]
    async fn attempts_over_the_cap_void_the_code_even_when_right() {
        let mut ports = Ports::new();
        let stored = digest(UserId(7), &address(), &otp("111111"));
        ports
            .cache
            .expect_get()
            .returning(move |_| Ok(Some(stored.clone())));
        ports.cache.expect_hit().returning(|_, _, _| {
            Ok(Hit::Refused {
                retry_after: CODE_LIFETIME,
            })
        });
        ports.expect_code_voided();
        ports.cache.expect_take().never();
        ports.users.expect_set_verified_email().never();

        ports.assert_refused("111111").await;
    }

    #[tokio::test]
    async fn expired_or_never_issued_code_is_refused() {
        let mut ports = Ports::new();
        ports.cache.expect_get().returning(|_| Ok(None));
        ports.cache.expect_hit().never();

        ports.assert_refused("111111").await;
    }

    #[tokio::test]
    async fn a_code_taken_by_a_concurrent_verify_is_refused() {
        let mut ports = Ports::new();
        ports.stored_code("111111", 1);
        ports
            .cache
            .expect_take()
            .with(eq(CODE_KEY))
            .returning(|_| Ok(None));
        ports.users.expect_set_verified_email().never();
        ports.mailer.expect_send().never();

        ports.assert_refused("111111").await;
    }

    #[tokio::test]
    async fn right_code_on_the_fifth_attempt_verifies_and_confirms() {
        let mut ports = Ports::new();
        ports.stored_code("111111", 5);
        let stored = digest(UserId(7), &address(), &otp("111111"));
        ports
            .cache
            .expect_take()
            .with(eq(CODE_KEY))
            .times(1)
            .returning(move |_| Ok(Some(stored.clone())));
        ports
            .cache
            .expect_delete()
            .with(eq(ATTEMPTS_KEY))
            .returning(|_| Ok(()));
        ports
            .users
            .expect_set_verified_email()
            .with(eq(UserId(7)), always())
            .times(1)
            .returning(|_, email| {
                Ok(User {
                    verified_email: Some(email.clone()),
                    ..alice()
                })
            });
        ports
            .mailer
            .expect_send()
            .withf(|mail| {
                mail.to == address()
                    && mail.message
                        == Message::EmailVerified {
                            username: "alice".into(),
                        }
            })
            .times(1)
            .returning(|_| Ok(()));

        let user = ports
            .service()
            .verify(&alice(), address(), otp("111111"))
            .await
            .unwrap();

        assert_eq!(user.verified_email, Some(address()));
    }

    /// Alice's right code, taken, then storing the address fails with `err`;
    /// the code goes back with a fresh lifetime (the put answering `put`).
    async fn assert_code_put_back(err: DomainError, put: Result<(), DomainError>) -> DomainError {
        let mut ports = Ports::new();
        ports.stored_code("111111", 1);
        let stored = digest(UserId(7), &address(), &otp("111111"));
        let taken = stored.clone();
        ports
            .cache
            .expect_take()
            .with(eq(CODE_KEY))
            .times(1)
            .returning(move |_| Ok(Some(taken.clone())));
        ports
            .cache
            .expect_delete()
            .with(eq(ATTEMPTS_KEY))
            .returning(|_| Ok(()));
        let mut err = Some(err);
        ports
            .users
            .expect_set_verified_email()
            .times(1)
            .returning(move |_, _| Err(err.take().expect("called once")));
        let mut put = Some(put);
        ports
            .cache
            .expect_put()
            .with(eq(CODE_KEY), eq(stored), eq(CODE_LIFETIME))
            .times(1)
            .returning(move |_, _, _| put.take().expect("called once"));
        ports.mailer.expect_send().never();

        ports
            .service()
            .verify(&alice(), address(), otp("111111"))
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn a_right_code_survives_a_database_failure_after_it_was_checked() {
        let err = assert_code_put_back(DomainError::unavailable("database", "gone"), Ok(())).await;
        assert!(matches!(err, DomainError::Unavailable { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_right_code_for_a_taken_address_stays_usable_and_the_conflict_is_the_answer() {
        let err = assert_code_put_back(
            DomainError::EmailTaken,
            Err(DomainError::unavailable("cache", "gone")),
        )
        .await;
        assert!(matches!(err, DomainError::EmailTaken), "{err:?}");
    }

    #[test]
    fn generated_codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..50)
            .map(|_| RandomOtpGenerator.generate().expose().to_owned())
            .collect();
        assert!(codes.iter().all(|c| c.len() == 6));
        assert!(
            codes.len() > 40,
            "50 draws from a million should rarely collide"
        );
    }

    #[test]
    fn digest_binds_user_and_address() {
        let code = otp("123456");
        let other = EmailAddress::parse("bob@example.com").unwrap();
        assert_ne!(
            digest(UserId(7), &address(), &code),
            digest(UserId(8), &address(), &code)
        );
        assert_ne!(
            digest(UserId(7), &address(), &code),
            digest(UserId(7), &other, &code)
        );
    }
}
