//! `idempotency_key`: the `Idempotency-Key`s of `POST /todos`, per user,
//! with the todo each one created (README: "For client authors"). Keys are
//! stored as SHA-256 digests, so any key fits one fixed-size column and
//! compares exactly whatever the database's collation. Only adds a table.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::steps::{create_index_if_missing, mysql_no_pad_binary_collation, user_id_column};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SHA-256 as lower-case hex.
const DIGEST_CHARS: u32 = 64;
/// 128 random bits as lower-case hex.
const CLAIM_TOKEN_CHARS: u32 = 32;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(IdempotencyKey::Table)
            .if_not_exists()
            .col(user_id_column(manager, IdempotencyKey::UserId).await?)
            .col(
                ColumnDef::new(IdempotencyKey::KeyDigest)
                    .string_len(DIGEST_CHARS)
                    .not_null(),
            )
            // What the request asked for: a repeat must ask for the same.
            .col(
                ColumnDef::new(IdempotencyKey::Fingerprint)
                    .string_len(DIGEST_CHARS)
                    .not_null(),
            )
            .col(
                ColumnDef::new(IdempotencyKey::CreatedAt)
                    .big_integer()
                    .not_null(),
            )
            // When the request now running took the key; an old claim
            // with no todo is a request that died, and may be taken over.
            .col(
                ColumnDef::new(IdempotencyKey::ClaimedAt)
                    .big_integer()
                    .not_null(),
            )
            // Random, per claim: whoever reads their own token back holds
            // the key (row counts of an upsert differ between databases).
            .col(
                ColumnDef::new(IdempotencyKey::ClaimToken)
                    .string_len(CLAIM_TOKEN_CHARS)
                    .not_null(),
            )
            // The todo as the first answer showed it; NULL while running.
            .col(ColumnDef::new(IdempotencyKey::TodoId).big_integer().null())
            .col(ColumnDef::new(IdempotencyKey::TodoContents).text().null())
            .col(ColumnDef::new(IdempotencyKey::TodoIsDone).boolean().null())
            .col(
                ColumnDef::new(IdempotencyKey::TodoCreatedAt)
                    .big_integer()
                    .null(),
            )
            .col(
                ColumnDef::new(IdempotencyKey::TodoUpdatedAt)
                    .big_integer()
                    .null(),
            )
            .primary_key(
                Index::create()
                    .col(IdempotencyKey::UserId)
                    .col(IdempotencyKey::KeyDigest),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_idempotency_key_user")
                    .from(IdempotencyKey::Table, IdempotencyKey::UserId)
                    .to(User::Table, User::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        if manager.get_database_backend() == DbBackend::MySql {
            let collation = mysql_no_pad_binary_collation(manager).await?;
            table
                .engine("InnoDB")
                .character_set("utf8mb4")
                .collate(collation);
        }
        manager.create_table(table).await?;
        // The hourly purge deletes by age.
        create_index_if_missing(
            manager,
            "idempotency_key",
            "ix_idempotency_key_created_at",
            Index::create()
                .table(IdempotencyKey::Table)
                .col(IdempotencyKey::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKey::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum User {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IdempotencyKey {
    Table,
    UserId,
    KeyDigest,
    Fingerprint,
    CreatedAt,
    ClaimedAt,
    ClaimToken,
    TodoId,
    TodoContents,
    TodoIsDone,
    TodoCreatedAt,
    TodoUpdatedAt,
}
