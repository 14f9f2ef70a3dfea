//! MySQL/MariaDB: the `user` table's text compares by code points with
//! trailing spaces significant. `utf8mb4_bin` is PAD SPACE on MariaDB, so
//! there `'alice' = 'alice '` held and a log-in as `alice ` (log-in names
//! are loose) found `alice`. SQLite and PostgreSQL already compare exactly.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

use crate::steps::mysql_no_pad_binary_collation;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::MySql {
            return Ok(());
        }
        let collation = mysql_no_pad_binary_collation(manager).await?;
        convert_user_table(manager, collation).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::MySql {
            return Ok(());
        }
        convert_user_table(manager, "utf8mb4_bin").await
    }
}

/// The whole table, so columns added later get the same collation.
async fn convert_user_table(manager: &SchemaManager<'_>, collation: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "ALTER TABLE `user` CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}"
        ))
        .await?;
    Ok(())
}
