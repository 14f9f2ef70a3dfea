//! Turning a bearer token back into its user and session.

use std::{sync::Arc, time::SystemTime};

use crate::{
    DomainError, LoginName, Session, SessionId, SessionRepository, TokenCodec, User, UserRepository,
};

/// Who is behind a request: the token's user and its live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The user.
    pub user: User,
    /// The session the token belongs to.
    pub session: SessionId,
}

/// What a bearer token claims once its signature and expiry are checked:
/// the user and session it names, not yet looked up in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaim {
    /// The user's name.
    pub username: LoginName,
    /// The session.
    pub session: SessionId,
}

/// What one read of the store found for a [`SessionClaim`]: the user of
/// that name, the session when it is theirs (ended or not), and `item`,
/// read in the same statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRead<T> {
    /// The user the claim names.
    pub user: User,
    /// The claimed session, when it belongs to that user.
    pub session: Option<Session>,
    /// What was read with them.
    pub item: T,
}

impl<T> SessionRead<T> {
    /// The same read with `f` applied to its item.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> SessionRead<U> {
        SessionRead {
            user: self.user,
            session: self.session,
            item: f(self.item),
        }
    }
}

impl SessionClaim {
    /// Decides on what the store holds for this claim, in this order:
    /// [`DomainError::UserNotFound`] without the user,
    /// [`DomainError::NotAuthenticated`] unless the session is that
    /// user's and live now.
    pub fn admit<T>(
        &self,
        found: Option<SessionRead<T>>,
    ) -> Result<(Authenticated, T), DomainError> {
        let SessionRead {
            user,
            session,
            item,
        } = found.ok_or(DomainError::UserNotFound)?;
        match session {
            Some(session) if session.user == user.id && session.is_live(SystemTime::now()) => Ok((
                Authenticated {
                    user,
                    session: session.id,
                },
                item,
            )),
            _ => Err(DomainError::NotAuthenticated),
        }
    }
}

/// Who a bearer token belongs to.
#[derive(Clone)]
pub struct Authentication {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    tokens: Arc<dyn TokenCodec>,
}

impl Authentication {
    /// Checks tokens with `tokens`; finds users and sessions in the stores.
    pub fn new(
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        tokens: Arc<dyn TokenCodec>,
    ) -> Self {
        Self {
            users,
            sessions,
            tokens,
        }
    }

    /// The user and session of a bearer token, checked in this order:
    /// [`DomainError::NotAuthenticated`] for a bad or expired token,
    /// [`DomainError::UserNotFound`] when its user no longer exists,
    /// [`DomainError::NotAuthenticated`] when its session is ended,
    /// expired, missing, another account's, or when it has none (issued
    /// before sessions existed). One read of the store either way.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, DomainError> {
        let claim = self.claim(token).await?;
        self.look_up(&claim).await
    }

    /// The user and session `claim` names, looked up on their own and
    /// admitted ([`SessionClaim::admit`]).
    pub async fn look_up(&self, claim: &SessionClaim) -> Result<Authenticated, DomainError> {
        let found = self
            .sessions
            .find_user_and_session(&claim.username, &claim.session)
            .await?
            .map(|(user, session)| SessionRead {
                user,
                session,
                item: (),
            });
        Ok(claim.admit(found)?.0)
    }

    /// The claim of a bearer token, for a use case that reads the user
    /// and session together with its own data and then
    /// [`SessionClaim::admit`]s them. A bad or expired token is
    /// [`DomainError::NotAuthenticated`] without a lookup; a token without
    /// a session (issued before sessions existed) is refused after its
    /// user is looked up, as [`Authentication::authenticate`] orders it.
    pub async fn claim(&self, token: &str) -> Result<SessionClaim, DomainError> {
        let subject = self.tokens.subject(token)?;
        // A signed subject that is no valid name was never issued by us.
        let username =
            LoginName::parse(subject.username).map_err(|_| DomainError::NotAuthenticated)?;
        let Some(session) = subject.session else {
            self.users
                .find_by_username(&username)
                .await?
                .ok_or(DomainError::UserNotFound)?;
            return Err(DomainError::NotAuthenticated);
        };
        Ok(SessionClaim { username, session })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mockall::predicate::eq;

    use super::*;
    use crate::{
        MockSessionRepository, MockTokenCodec, MockUserRepository, Session, TokenSubject, UserId,
        services::fixtures::alice,
    };

    fn authentication(
        users: MockUserRepository,
        sessions: MockSessionRepository,
        subject: Result<TokenSubject, DomainError>,
    ) -> Authentication {
        let subject = std::sync::Mutex::new(Some(subject));
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_subject()
            .returning(move |_| subject.lock().unwrap().take().unwrap());
        Authentication::new(Arc::new(users), Arc::new(sessions), Arc::new(tokens))
    }

    fn of_session(id: &SessionId) -> Result<TokenSubject, DomainError> {
        Ok(TokenSubject {
            username: "alice".into(),
            session: Some(id.clone()),
        })
    }

    fn session(id: &SessionId, user: UserId, ended: bool, expires_in: i64) -> Session {
        let now = SystemTime::now();
        let expires_at = if expires_in >= 0 {
            now + Duration::from_secs(expires_in as u64)
        } else {
            now - Duration::from_secs(expires_in.unsigned_abs())
        };
        Session {
            id: id.clone(),
            user,
            created_at: now - Duration::from_secs(60),
            expires_at,
            ended_at: ended.then_some(now),
        }
    }

    /// What `authenticate` answers when the store holds `found`.
    async fn with_store(
        id: &SessionId,
        found: Option<(User, Option<Session>)>,
    ) -> Result<Authenticated, DomainError> {
        let mut sessions = MockSessionRepository::new();
        sessions
            .expect_find_user_and_session()
            .with(eq(LoginName::parse("alice").unwrap()), eq(id.clone()))
            .times(1)
            .returning(move |_, _| Ok(found.clone()));
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().never();
        authentication(users, sessions, of_session(id))
            .authenticate("token")
            .await
    }

    #[tokio::test]
    async fn a_live_session_of_the_user_authenticates() {
        let id = SessionId::generate();
        let found = Some((alice(), Some(session(&id, UserId(7), false, 60))));
        assert_eq!(
            with_store(&id, found).await.unwrap(),
            Authenticated {
                user: alice(),
                session: id
            }
        );
    }

    #[tokio::test]
    async fn a_deleted_user_comes_before_the_session() {
        let id = SessionId::generate();
        let err = with_store(&id, None).await.unwrap_err();
        assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn an_ended_expired_missing_or_foreign_session_is_not_authenticated() {
        let id = SessionId::generate();
        for session in [
            Some(session(&id, UserId(7), true, 60)),
            Some(session(&id, UserId(7), false, -1)),
            None,
            Some(session(&id, UserId(8), false, 60)),
        ] {
            let err = with_store(&id, Some((alice(), session.clone())))
                .await
                .unwrap_err();
            assert!(
                matches!(err, DomainError::NotAuthenticated),
                "{session:?}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_token_without_a_session_is_refused_after_the_user_check() {
        let without = || {
            Ok(TokenSubject {
                username: "alice".into(),
                session: None,
            })
        };
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_username()
            .times(1)
            .returning(|_| Ok(Some(alice())));
        let err = authentication(users, MockSessionRepository::new(), without())
            .authenticate("old")
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotAuthenticated), "{err:?}");

        let mut users = MockUserRepository::new();
        users.expect_find_by_username().returning(|_| Ok(None));
        let err = authentication(users, MockSessionRepository::new(), without())
            .authenticate("old")
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn bad_token_is_not_authenticated_without_a_lookup() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().never();
        let mut sessions = MockSessionRepository::new();
        sessions.expect_find_user_and_session().never();
        let err = authentication(users, sessions, Err(DomainError::NotAuthenticated))
            .authenticate("garbage")
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotAuthenticated), "{err:?}");
    }
}
