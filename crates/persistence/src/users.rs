use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, TransactionTrait, sea_query::Expr,
};
use todos_domain::{
    Credentials, DomainError, EmailAddress, LoginName, PasswordHash, User, UserId, UserRepository,
    Username, UsernameSkeleton,
};

use crate::entity::{idempotency_key, session, session_spent_token, todo, user};
use crate::error::{db_error, is_unique_violation};

pub struct SeaUserRepository {
    db: DatabaseConnection,
}

impl SeaUserRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn find_model(&self, username: &LoginName) -> Result<Option<user::Model>, DomainError> {
        user::Entity::find()
            .filter(user::Column::Username.eq(username.as_str()))
            .one(&self.db)
            .await
            .map_err(db_error)
    }
}

pub(crate) fn to_user(model: &user::Model) -> User {
    User {
        id: UserId(model.id),
        username: model.username.clone(),
        // Only verified addresses are stored (see set_verified_email); a
        // row written otherwise, by hand, shows no address.
        verified_email: model
            .email
            .clone()
            .filter(|_| model.email_verified)
            .map(EmailAddress::from_stored),
    }
}

#[async_trait]
impl UserRepository for SeaUserRepository {
    async fn find_by_username(&self, username: &LoginName) -> Result<Option<User>, DomainError> {
        Ok(self.find_model(username).await?.as_ref().map(to_user))
    }

    async fn find_credentials(
        &self,
        username: &LoginName,
    ) -> Result<Option<Credentials>, DomainError> {
        Ok(self.find_model(username).await?.map(|model| Credentials {
            user: to_user(&model),
            password_hash: PasswordHash::new(model.password_hash),
        }))
    }

    async fn find_by_skeleton(
        &self,
        skeleton: &UsernameSkeleton,
    ) -> Result<Vec<User>, DomainError> {
        let models = user::Entity::find()
            .filter(user::Column::UsernameSkeleton.eq(skeleton.as_str()))
            .all(&self.db)
            .await
            .map_err(db_error)?;
        Ok(models.iter().map(to_user).collect())
    }

    async fn create(
        &self,
        username: &Username,
        password_hash: &PasswordHash,
    ) -> Result<User, DomainError> {
        let inserted = user::ActiveModel {
            username: Set(username.as_str().to_owned()),
            username_skeleton: Set(Some(username.skeleton().as_str().to_owned())),
            password_hash: Set(password_hash.expose().to_owned()),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DomainError::UsernameTaken
            } else {
                db_error(e)
            }
        })?;
        Ok(to_user(&inserted))
    }

    async fn update_password_hash(
        &self,
        id: UserId,
        password_hash: &PasswordHash,
    ) -> Result<(), DomainError> {
        user::Entity::update_many()
            .col_expr(
                user::Column::PasswordHash,
                Expr::value(password_hash.expose()),
            )
            .filter(user::Column::Id.eq(id.0))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn find_by_verified_email(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<User>, DomainError> {
        let model = user::Entity::find()
            .filter(user::Column::EmailKey.eq(email.key().as_str()))
            .filter(user::Column::EmailVerified.eq(true))
            .one(&self.db)
            .await
            .map_err(db_error)?;
        Ok(model.as_ref().map(to_user))
    }

    /// Children first, explicitly: a todo table upgraded from the legacy
    /// schema on SQLite has no foreign key to cascade along.
    async fn delete(&self, id: UserId) -> Result<bool, DomainError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        let sessions = session::Entity::find()
            .select_only()
            .column(session::Column::Id)
            .filter(session::Column::UserId.eq(id.0));
        session_spent_token::Entity::delete_many()
            .filter(session_spent_token::Column::SessionId.in_subquery(sessions.into_query()))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        session::Entity::delete_many()
            .filter(session::Column::UserId.eq(id.0))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        todo::Entity::delete_many()
            .filter(todo::Column::UserId.eq(id.0))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::UserId.eq(id.0))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        let deleted = user::Entity::delete_by_id(id.0)
            .exec(&txn)
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        Ok(deleted.rows_affected == 1)
    }

    async fn list_verified(
        &self,
        after: Option<UserId>,
        limit: u64,
    ) -> Result<Vec<User>, DomainError> {
        let models = user::Entity::find()
            .filter(user::Column::EmailVerified.eq(true))
            .filter(user::Column::Email.is_not_null())
            .filter(user::Column::Id.gt(after.map_or(0, |id| id.0)))
            .order_by_asc(user::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_error)?;
        Ok(models.iter().map(to_user).collect())
    }

    async fn set_verified_email(
        &self,
        id: UserId,
        email: &EmailAddress,
    ) -> Result<User, DomainError> {
        user::Entity::update_many()
            .col_expr(user::Column::Email, Expr::value(email.as_str()))
            .col_expr(user::Column::EmailKey, Expr::value(email.key().as_str()))
            .col_expr(user::Column::EmailVerified, Expr::value(true))
            .filter(user::Column::Id.eq(id.0))
            .exec(&self.db)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    DomainError::EmailTaken
                } else {
                    db_error(e)
                }
            })?;
        // The read, not the update count, decides: MySQL counts only changed rows.
        user::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map(|model| to_user(&model))
            .ok_or(DomainError::UserNotFound)
    }
}
