//! A verified email address per user (unique when set; NULLs do not clash).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement (SQLite alters one thing at a time), and
        // only when missing: `ADD COLUMN IF NOT EXISTS` is not portable.
        let columns = [
            (
                User::Email,
                ColumnDef::new(User::Email)
                    .string_len(256)
                    .null()
                    .to_owned(),
            ),
            (
                User::EmailVerified,
                ColumnDef::new(User::EmailVerified)
                    .boolean()
                    .not_null()
                    .default(false)
                    .to_owned(),
            ),
        ];
        for (name, column) in columns {
            if !manager.has_column("user", &name.to_string()).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(User::Table)
                            .add_column(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        if manager.has_index("user", "ux_user_email").await? {
            return Ok(());
        }
        manager
            .create_index(
                Index::create()
                    .name("ux_user_email")
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
