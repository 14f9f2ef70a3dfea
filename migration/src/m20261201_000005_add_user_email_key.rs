//! `user.email_key`: the verified address in lower case
//! (`todos_domain::EmailKey`), unique, so no two accounts verify one
//! address in different letter cases. Existing rows are keyed first; if
//! their addresses already clash, the migration refuses before changing
//! anything and says how to list them (`todos email-duplicates`).

use sea_orm_migration::prelude::*;
use todos_domain::EmailKey;

use crate::{describe_email_clashes, email_clashes, steps::DerivedUserColumn};

#[derive(DeriveMigrationName)]
pub struct Migration;

const EMAIL_KEY: DerivedUserColumn = DerivedUserColumn {
    name: "email_key",
    // Lower-casing may lengthen an address (İ becomes i̇), never beyond
    // twice its 256 characters.
    max_chars: 512,
    source: "email",
    derive: |email| EmailKey::of(email).as_str().to_owned(),
    index: "ux_user_email_key",
    unique: true,
};

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let clashes = email_clashes(manager).await?;
        if !clashes.is_empty() {
            return Err(DbErr::Migration(format!(
                "cannot make verified email addresses unique ignoring letter case: {}. \
                 List them with `todos email-duplicates`, keep one account per address \
                 (clear `email` and `email_verified` on the others), then start again",
                describe_email_clashes(&clashes)
            )));
        }
        EMAIL_KEY.add(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        EMAIL_KEY.drop(manager).await
    }
}
