//! `user` has_many `todo`. Names and column types follow the old FastAPI
//! service's tables (`user.password` holds the hash), so that its databases
//! are upgraded in place rather than recreated: every step below first
//! checks what is already there.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

use crate::steps::create_index_if_missing;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(User::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(User::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(User::Username).string_len(256).not_null())
                    .col(ColumnDef::new(User::Password).string_len(256).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Todo::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Todo::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Todo::Contents).string_len(256).not_null())
                    .col(
                        ColumnDef::new(Todo::IsDone)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Todo::UserId).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_todo_user")
                            .from(Todo::Table, Todo::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        adopt_legacy_todos(manager).await?;
        if manager.get_database_backend() == DbBackend::MySql {
            // Server defaults may be latin1 or utf8mb3, which reject
            // characters outside the BMP (emoji). Binary collation keeps
            // usernames case-sensitive, as on SQLite and PostgreSQL.
            for table in ["user", "todo"] {
                manager
                    .get_connection()
                    .execute_unprepared(&format!(
                        "ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                    ))
                    .await?;
            }
        }
        create_index_if_missing(
            manager,
            "user",
            "ux_user_username",
            Index::create()
                .table(User::Table)
                .col(User::Username)
                .unique()
                .to_owned(),
        )
        .await?;
        create_index_if_missing(
            manager,
            "todo",
            "ix_todo_user_id",
            Index::create()
                .table(Todo::Table)
                .col(Todo::UserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Todo::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(User::Table).to_owned())
            .await
    }
}

/// The tutorial's first `todo` table had no owner; a later step added a
/// nullable `user_id`. Either way, todos without an owner go to the oldest
/// account (the tutorial's single `admin`), so none is lost or orphaned.
async fn adopt_legacy_todos(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    if !manager.has_column("todo", "user_id").await? {
        manager
            .alter_table(
                Table::alter()
                    .table(Todo::Table)
                    .add_column(ColumnDef::new(Todo::UserId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        // No foreign key here: SQLite cannot add one to an existing table,
        // and MySQL refuses one between this BIGINT and a legacy INT `user.id`.
        // The index below still serves the owner lookups.
    }
    let db = manager.get_connection();
    let oldest_user = Query::select()
        .expr(Expr::col(User::Id).min())
        .from(User::Table)
        .to_owned();
    let Some(row) = db.query_one(&oldest_user).await? else {
        return Ok(());
    };
    let Some(owner) = row.try_get_by_index::<Option<i64>>(0)? else {
        return Ok(());
    };
    let adopt = Query::update()
        .table(Todo::Table)
        .value(Todo::UserId, owner)
        .and_where(Expr::col(Todo::UserId).is_null())
        .to_owned();
    db.execute(&adopt).await?;
    Ok(())
}

#[derive(DeriveIden)]
enum User {
    Table,
    Id,
    Username,
    Password,
}

#[derive(DeriveIden)]
enum Todo {
    Table,
    Id,
    Contents,
    IsDone,
    UserId,
}
