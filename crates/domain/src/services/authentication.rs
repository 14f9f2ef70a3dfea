//! Turning a bearer token back into its user.

use std::sync::Arc;

use crate::{DomainError, LoginName, TokenCodec, User, UserRepository};

/// Who a bearer token belongs to.
#[derive(Clone)]
pub struct Authentication {
    users: Arc<dyn UserRepository>,
    tokens: Arc<dyn TokenCodec>,
}

impl Authentication {
    /// Checks tokens with `tokens` and finds their users in `users`.
    pub fn new(users: Arc<dyn UserRepository>, tokens: Arc<dyn TokenCodec>) -> Self {
        Self { users, tokens }
    }

    /// The user a bearer token belongs to: [`DomainError::NotAuthenticated`]
    /// for a bad token, [`DomainError::UserNotFound`] when the user no
    /// longer exists.
    pub async fn authenticate(&self, token: &str) -> Result<User, DomainError> {
        let subject = self.tokens.subject(token)?;
        // A signed subject that is no valid name was never issued by us.
        let username = LoginName::parse(subject).map_err(|_| DomainError::NotAuthenticated)?;
        self.users
            .find_by_username(&username)
            .await?
            .ok_or(DomainError::UserNotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MockTokenCodec, MockUserRepository};

    fn authentication(users: MockUserRepository, tokens: MockTokenCodec) -> Authentication {
        Authentication::new(Arc::new(users), Arc::new(tokens))
    }

    #[tokio::test]
    async fn token_of_a_deleted_user_is_user_not_found() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().returning(|_| Ok(None));
        let mut tokens = MockTokenCodec::new();
        tokens.expect_subject().returning(|_| Ok("ghost".into()));

        let err = authentication(users, tokens)
            .authenticate("token")
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn bad_token_is_not_authenticated_without_a_lookup() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().never();
        let mut tokens = MockTokenCodec::new();
        tokens
            .expect_subject()
            .returning(|_| Err(DomainError::NotAuthenticated));

        let err = authentication(users, tokens)
            .authenticate("garbage")
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::NotAuthenticated), "{err:?}");
    }
}
