use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use todos_domain::{
    DomainError, NewTodo, SortOrder, Todo, TodoContents, TodoId, TodoRepository, UserId,
};

use crate::entity::todo;
use crate::error::db_error;

pub struct SeaTodoRepository {
    db: DatabaseConnection,
}

impl SeaTodoRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn to_todo(model: todo::Model) -> Result<Todo, DomainError> {
    let id = TodoId::new(model.id)
        .ok_or_else(|| DomainError::unexpected(format!("stored todo has id {}", model.id)))?;
    Ok(Todo {
        id,
        owner: UserId(model.user_id),
        contents: TodoContents::from_stored(model.contents),
        is_done: model.is_done,
    })
}

/// Every query filters on the owner too, so another user's todo is simply
/// not found.
fn owned(owner: UserId) -> sea_orm::Select<todo::Entity> {
    todo::Entity::find().filter(todo::Column::UserId.eq(owner.0))
}

#[async_trait]
impl TodoRepository for SeaTodoRepository {
    /// One statement, whatever the number of todos.
    async fn list(&self, owner: UserId, order: SortOrder) -> Result<Vec<Todo>, DomainError> {
        let order = match order {
            SortOrder::Asc => sea_orm::Order::Asc,
            SortOrder::Desc => sea_orm::Order::Desc,
        };
        owned(owner)
            .order_by(todo::Column::Id, order)
            .all(&self.db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(to_todo)
            .collect()
    }

    async fn get(&self, owner: UserId, id: TodoId) -> Result<Option<Todo>, DomainError> {
        owned(owner)
            .filter(todo::Column::Id.eq(id.get()))
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map(to_todo)
            .transpose()
    }

    async fn create(&self, owner: UserId, new: NewTodo) -> Result<Todo, DomainError> {
        let inserted = todo::ActiveModel {
            contents: Set(new.contents.into_inner()),
            is_done: Set(new.is_done),
            user_id: Set(owner.0),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(db_error)?;
        to_todo(inserted)
    }

    async fn set_done(
        &self,
        owner: UserId,
        id: TodoId,
        is_done: bool,
    ) -> Result<Option<Todo>, DomainError> {
        // MySQL reports only rows that changed, so the count cannot tell
        // "missing" from "already in that state": the read decides.
        todo::Entity::update_many()
            .col_expr(todo::Column::IsDone, Expr::value(is_done))
            .filter(todo::Column::Id.eq(id.get()))
            .filter(todo::Column::UserId.eq(owner.0))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        self.get(owner, id).await
    }

    async fn delete(&self, owner: UserId, id: TodoId) -> Result<bool, DomainError> {
        let deleted = todo::Entity::delete_many()
            .filter(todo::Column::Id.eq(id.get()))
            .filter(todo::Column::UserId.eq(owner.0))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(deleted.rows_affected > 0)
    }
}
