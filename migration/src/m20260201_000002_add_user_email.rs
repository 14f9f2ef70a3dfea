//! A verified email address per user (unique when set; NULLs do not clash).

use sea_orm_migration::prelude::*;

use crate::steps::{add_column_if_missing, create_index_if_missing};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(User::Email)
                .string_len(256)
                .null()
                .to_owned(),
            ColumnDef::new(User::EmailVerified)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
        ] {
            add_column_if_missing(manager, User::Table, column).await?;
        }
        create_index_if_missing(
            manager,
            "user",
            "ux_user_email",
            Index::create()
                .table(User::Table)
                .col(User::Email)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_user_email")
                    .table(User::Table)
                    .to_owned(),
            )
            .await?;
        for column in [User::EmailVerified, User::Email] {
            manager
                .alter_table(
                    Table::alter()
                        .table(User::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum User {
    Table,
    Email,
    EmailVerified,
}
