//! Sessions from log-in to log-out: starting one, refreshing its tokens
//! with rotation and reuse detection, listing and ending them (README:
//! "Sessions").

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    AccessToken, DomainError, OncePerSecond, Policies, RefreshToken, Rotation, Session, SessionId,
    SessionRepository, TokenCodec, User,
};

/// What a log-in or a refresh hands the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The bearer token for requests.
    pub access_token: AccessToken,
    /// How long `access_token` is valid.
    pub expires_in: Duration,
    /// Trades for new tokens of the same session, once.
    pub refresh_token: RefreshToken,
}

/// The sessions of users, stored in a [`SessionRepository`].
#[derive(Clone)]
pub struct Sessions {
    repo: Arc<dyn SessionRepository>,
    tokens: Arc<dyn TokenCodec>,
    lifetime: Duration,
}

impl Sessions {
    /// Sessions of `policies.session.lifetime`, whose access tokens
    /// `tokens` signs.
    pub fn new(
        repo: Arc<dyn SessionRepository>,
        tokens: Arc<dyn TokenCodec>,
        policies: &Policies,
    ) -> Self {
        Self {
            repo,
            tokens,
            lifetime: policies.session.lifetime,
        }
    }

    /// Starts a session for `user`, who has just proved who they are.
    pub async fn start(&self, user: &User) -> Result<Tokens, DomainError> {
        // Whole seconds, as stores keep them: the session read back is the
        // one created, and no token's `exp` passes the stored end.
        let now = UNIX_EPOCH
            + Duration::from_secs(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_err(DomainError::unexpected)?
                    .as_secs(),
            );
        let session = Session {
            id: SessionId::generate(),
            user: user.id,
            created_at: now,
            expires_at: now + self.lifetime,
            ended_at: None,
        };
        let refresh_token = RefreshToken::generate();
        self.repo.create(&session, &refresh_token.digest()).await?;
        self.tokens_for(&user.username, &session, refresh_token)
    }

    /// New tokens for the session of `presented`, which is spent by this.
    /// A token that is spent already ends its session; spent, unknown and
    /// expired tokens are all [`DomainError::NotAuthenticated`].
    pub async fn refresh(&self, presented: RefreshToken) -> Result<Tokens, DomainError> {
        let next = RefreshToken::generate();
        match self
            .repo
            .rotate(&presented.digest(), &next.digest(), SystemTime::now())
            .await?
        {
            Rotation::Rotated { session, username } => self.tokens_for(&username, &session, next),
            Rotation::Reused => {
                // At most one line a second: replaying a spent token is
                // free for whoever holds one, the log must not be.
                static REUSES: OncePerSecond = OncePerSecond::new();
                if let Some(held_back) = REUSES.admit() {
                    tracing::warn!(
                        held_back,
                        "a spent refresh token was presented again: its session is ended"
                    );
                }
                Err(DomainError::NotAuthenticated)
            }
            Rotation::Unknown => Err(DomainError::NotAuthenticated),
        }
    }

    fn tokens_for(
        &self,
        username: &str,
        session: &Session,
        refresh_token: RefreshToken,
    ) -> Result<Tokens, DomainError> {
        let issued = self
            .tokens
            .issue(username, &session.id, session.expires_at)?;
        Ok(Tokens {
            access_token: issued.token,
            expires_in: issued.expires_in,
            refresh_token,
        })
    }

    /// The user's live sessions, newest first.
    pub async fn list(&self, user: &User) -> Result<Vec<Session>, DomainError> {
        self.repo.list_live(user.id, SystemTime::now()).await
    }

    /// Ends the user's live session `id` (as a client wrote it), or
    /// [`DomainError::SessionNotFound`] when they have no such live session.
    pub async fn end(&self, user: &User, id: &str) -> Result<(), DomainError> {
        let Some(id) = SessionId::parse(id) else {
            return Err(DomainError::SessionNotFound);
        };
        if self.repo.end(user.id, &id, SystemTime::now()).await? {
            Ok(())
        } else {
            Err(DomainError::SessionNotFound)
        }
    }

    /// Ends every session of the user.
    pub async fn end_all(&self, user: &User) -> Result<(), DomainError> {
        self.repo.end_all(user.id, SystemTime::now()).await
    }

    /// Deletes the sessions that can no longer be used; how many.
    pub async fn purge(&self) -> Result<u64, DomainError> {
        self.repo.purge(SystemTime::now()).await
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::{always, eq};

    use super::*;
    use crate::{
        IssuedToken, MockSessionRepository, MockTokenCodec, RefreshDigest, UserId,
        services::fixtures::alice,
    };

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    fn sessions(repo: MockSessionRepository, tokens: MockTokenCodec) -> Sessions {
        Sessions::new(Arc::new(repo), Arc::new(tokens), &Policies::default())
    }

    fn signing() -> MockTokenCodec {
        let mut tokens = MockTokenCodec::new();
        tokens.expect_issue().returning(|_, _, _| {
            Ok(IssuedToken {
                token: AccessToken::new("signed".into()),
                expires_in: Duration::from_secs(600),
            })
        });
        tokens
    }

    #[tokio::test]
    async fn a_session_lasts_30_days_and_its_tokens_never_outlive_it() {
        let mut repo = MockSessionRepository::new();
        let stored = Arc::new(std::sync::Mutex::new(None));
        let keep = stored.clone();
        repo.expect_create()
            .times(1)
            .returning(move |session, digest| {
                *keep.lock().unwrap() = Some((session.clone(), digest.clone()));
                Ok(())
            });
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_issue()
            .withf(|username, _, until| {
                username == "alice"
                    && until.duration_since(SystemTime::now()).unwrap() > 30 * DAY - DAY / 24
            })
            .times(1)
            .returning(|_, _, _| {
                Ok(IssuedToken {
                    token: AccessToken::new("signed".into()),
                    expires_in: Duration::from_secs(600),
                })
            });

        let issued = sessions(repo, tokens).start(&alice()).await.unwrap();

        let (session, digest) = stored.lock().unwrap().clone().unwrap();
        assert_eq!(session.user, UserId(7));
        assert_eq!(session.ended_at, None);
        assert_eq!(
            session
                .expires_at
                .duration_since(session.created_at)
                .unwrap(),
            30 * DAY
        );
        assert_eq!(digest, issued.refresh_token.digest(), "stored as a digest");
        assert_ne!(digest.as_str(), issued.refresh_token.expose());
        assert_eq!(issued.refresh_token.expose().len(), 64, "256 bits in hex");
        assert_eq!(issued.access_token.expose(), "signed");
        assert_eq!(issued.expires_in, Duration::from_secs(600));
    }

    #[tokio::test]
    async fn a_refresh_spends_the_presented_token_for_a_new_one() {
        let presented = RefreshToken::generate();
        let expected = presented.digest();
        let mut repo = MockSessionRepository::new();
        repo.expect_rotate()
            .withf(move |old, new, _| *old == expected && *new != expected)
            .times(1)
            .returning(|_, _, now| {
                Ok(Rotation::Rotated {
                    session: Session {
                        id: SessionId::generate(),
                        user: UserId(7),
                        created_at: now,
                        expires_at: now + DAY,
                        ended_at: None,
                    },
                    username: "alice".into(),
                })
            });
        let issued = sessions(repo, signing())
            .refresh(presented.clone())
            .await
            .unwrap();
        assert_ne!(issued.refresh_token, presented);
    }

    #[tokio::test]
    async fn a_reused_or_unknown_refresh_token_is_not_authenticated() {
        for outcome in [Rotation::Reused, Rotation::Unknown] {
            let mut repo = MockSessionRepository::new();
            repo.expect_rotate()
                .returning(move |_, _, _| Ok(outcome.clone()));
            let mut tokens = MockTokenCodec::new();
            tokens.expect_issue().never();
            let err = sessions(repo, tokens)
                .refresh(RefreshToken::presented("whatever".into()))
                .await
                .unwrap_err();
            assert!(matches!(err, DomainError::NotAuthenticated), "{err:?}");
        }
    }

    #[tokio::test]
    async fn ending_a_session_that_is_not_live_or_not_an_id_is_not_found() {
        let id = SessionId::generate();
        let mut repo = MockSessionRepository::new();
        repo.expect_end()
            .with(eq(UserId(7)), eq(id.clone()), always())
            .times(1)
            .returning(|_, _, _| Ok(false));
        let sessions = sessions(repo, MockTokenCodec::new());
        for raw in [id.as_str(), "not-an-id"] {
            let err = sessions.end(&alice(), raw).await.unwrap_err();
            assert!(matches!(err, DomainError::SessionNotFound), "{err:?}");
        }
    }

    #[tokio::test]
    async fn ending_a_live_session_succeeds() {
        let mut repo = MockSessionRepository::new();
        repo.expect_end().times(1).returning(|_, _, _| Ok(true));
        sessions(repo, MockTokenCodec::new())
            .end(&alice(), SessionId::generate().as_str())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn list_end_all_and_purge_go_to_the_store_for_this_user() {
        let listed = Session {
            id: SessionId::generate(),
            user: UserId(7),
            created_at: SystemTime::now(),
            expires_at: SystemTime::now() + DAY,
            ended_at: None,
        };
        let answer = vec![listed.clone()];
        let mut repo = MockSessionRepository::new();
        repo.expect_list_live()
            .with(eq(UserId(7)), always())
            .times(1)
            .returning(move |_, _| Ok(answer.clone()));
        repo.expect_end_all()
            .with(eq(UserId(7)), always())
            .times(1)
            .returning(|_, _| Ok(()));
        repo.expect_purge().times(1).returning(|_| Ok(3));
        let sessions = sessions(repo, MockTokenCodec::new());

        assert_eq!(sessions.list(&alice()).await.unwrap(), vec![listed]);
        sessions.end_all(&alice()).await.unwrap();
        assert_eq!(sessions.purge().await.unwrap(), 3);
    }

    #[test]
    fn refresh_digests_are_sha256_hex() {
        let token = RefreshToken::presented("abc".into());
        let sha256_of_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(token.digest().as_str(), sha256_of_abc);
        assert_eq!(
            token.digest(),
            RefreshDigest::from_stored(sha256_of_abc.into())
        );
        assert_eq!(format!("{token:?}"), "RefreshToken(<redacted>)");
    }
}
