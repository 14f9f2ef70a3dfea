//! `todo.created_at` and `todo.updated_at` (microseconds since the Unix
//! epoch, UTC), and the indexes that serve a page of a user's todos
//! without scanning their others: `(user_id, id)` for the plain list and
//! `(user_id, is_done, id)` for the filtered one. Existing todos get the
//! time of the upgrade for both: when they were made is not recorded
//! anywhere, and a made-up older time would be a lie a client could act on.

use std::time::SystemTime;

use sea_orm_migration::prelude::*;

use crate::steps::{add_column_if_missing, create_index_if_missing};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Todo::CreatedAt, Todo::UpdatedAt] {
            add_column_if_missing(
                manager,
                Todo::Table,
                ColumnDef::new(column)
                    .big_integer()
                    .not_null()
                    .default(0)
                    .to_owned(),
            )
            .await?;
        }
        let now = todos_domain::micros(SystemTime::now());
        manager
            .exec_stmt(
                Query::update()
                    .table(Todo::Table)
                    .value(Todo::CreatedAt, now)
                    .value(Todo::UpdatedAt, now)
                    .and_where(Expr::col(Todo::UpdatedAt).eq(0))
                    .to_owned(),
            )
            .await?;
        create_index_if_missing(
            manager,
            "todo",
            "ix_todo_user_id_id",
            Index::create()
                .table(Todo::Table)
                .col(Todo::UserId)
                .col(Todo::Id)
                .to_owned(),
        )
        .await?;
        create_index_if_missing(
            manager,
            "todo",
            "ix_todo_user_id_is_done_id",
            Index::create()
                .table(Todo::Table)
                .col(Todo::UserId)
                .col(Todo::IsDone)
                .col(Todo::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["ix_todo_user_id_is_done_id", "ix_todo_user_id_id"] {
            if manager.has_index("todo", index).await? {
                manager
                    .drop_index(Index::drop().name(index).table(Todo::Table).to_owned())
                    .await?;
            }
        }
        for column in [Todo::UpdatedAt, Todo::CreatedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Todo::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Todo {
    Table,
    Id,
    UserId,
    IsDone,
    CreatedAt,
    UpdatedAt,
}
