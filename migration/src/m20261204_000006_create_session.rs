//! `session` (server-side sessions behind access and refresh tokens) and
//! `session_spent_token` (digests of refresh tokens already traded in, so
//! that a second use is recognised as reuse). Only adds tables, so
//! databases of every earlier release upgrade without touching their rows.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::steps::{create_index_if_missing, mysql_no_pad_binary_collation, user_id_column};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A session id: 128 bits as lower-case hex.
const ID_CHARS: u32 = 32;
/// A refresh-token digest: SHA-256 as lower-case hex.
const DIGEST_CHARS: u32 = 64;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let user_id = user_id_column(manager, Session::UserId).await?;
        let mut session = Table::create();
        session
            .table(Session::Table)
            .if_not_exists()
            // VARCHAR, not TEXT: MySQL indexes only a prefix of TEXT.
            .col(
                ColumnDef::new(Session::Id)
                    .string_len(ID_CHARS)
                    .not_null()
                    .primary_key(),
            )
            .col(user_id)
            .col(ColumnDef::new(Session::CreatedAt).big_integer().not_null())
            .col(ColumnDef::new(Session::ExpiresAt).big_integer().not_null())
            .col(ColumnDef::new(Session::EndedAt).big_integer().null())
            .col(
                ColumnDef::new(Session::RefreshDigest)
                    .string_len(DIGEST_CHARS)
                    .not_null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_session_user")
                    .from(Session::Table, Session::UserId)
                    .to(User::Table, User::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        let mut spent = Table::create();
        spent
            .table(SessionSpentToken::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(SessionSpentToken::Digest)
                    .string_len(DIGEST_CHARS)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(SessionSpentToken::SessionId)
                    .string_len(ID_CHARS)
                    .not_null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_session_spent_token_session")
                    .from(SessionSpentToken::Table, SessionSpentToken::SessionId)
                    .to(Session::Table, Session::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        if manager.get_database_backend() == DbBackend::MySql {
            // The server's default character set may be anything (latin1 on
            // old installs); both tables get the same one so that the
            // foreign key between their id columns is allowed, and the
            // binary collation of `user` so that keys compare exactly.
            let collation = mysql_no_pad_binary_collation(manager).await?;
            for table in [&mut session, &mut spent] {
                table
                    .engine("InnoDB")
                    .character_set("utf8mb4")
                    .collate(collation);
            }
        }
        manager.create_table(session).await?;
        manager.create_table(spent).await?;
        create_index_if_missing(
            manager,
            "session",
            "ix_session_user_id",
            Index::create()
                .table(Session::Table)
                .col(Session::UserId)
                .to_owned(),
        )
        .await?;
        // Unique: a refresh token finds exactly one session, and rotation
        // relies on the index to lock that one row.
        create_index_if_missing(
            manager,
            "session",
            "ux_session_refresh_digest",
            Index::create()
                .table(Session::Table)
                .col(Session::RefreshDigest)
                .unique()
                .to_owned(),
        )
        .await?;
        create_index_if_missing(
            manager,
            "session_spent_token",
            "ix_session_spent_token_session_id",
            Index::create()
                .table(SessionSpentToken::Table)
                .col(SessionSpentToken::SessionId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionSpentToken::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Session::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum User {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    UserId,
    CreatedAt,
    ExpiresAt,
    EndedAt,
    RefreshDigest,
}

#[derive(DeriveIden)]
enum SessionSpentToken {
    Table,
    Digest,
    SessionId,
}
