//! `user.username_skeleton`: what a name looks like (UTS #39 confusable
//! skeleton, as a digest; see `todos_domain::UsernameSkeleton`), indexed
//! for the sign-up look-alike check and filled for existing accounts. Not
//! unique: ASCII look-alikes (`rn`, `m`) may share one.

use sea_orm_migration::prelude::*;
use todos_domain::UsernameSkeleton;

use crate::steps::DerivedUserColumn;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SKELETON: DerivedUserColumn = DerivedUserColumn {
    name: "username_skeleton",
    // Hex SHA-256.
    max_chars: 64,
    source: "username",
    derive: |name| UsernameSkeleton::of(name).as_str().to_owned(),
    index: "ix_user_username_skeleton",
    unique: false,
};

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        SKELETON.add(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        SKELETON.drop(manager).await
    }
}
