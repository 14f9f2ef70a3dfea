//! Schema migrations, applied by `todos serve` on start and by `todos migrate`.

pub use sea_orm_migration::prelude::*;
use todos_domain::EmailKey;

mod m20260101_000001_create_user_and_todo;
mod m20260201_000002_add_user_email;
mod m20261201_000003_user_no_pad_collation;
mod m20261201_000004_add_username_skeleton;
mod m20261201_000005_add_user_email_key;
mod m20261204_000006_create_session;
mod m20261205_000007_todo_timestamps;
mod m20261205_000008_create_idempotency_key;
mod steps;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_user_and_todo::Migration),
            Box::new(m20260201_000002_add_user_email::Migration),
            Box::new(m20261201_000003_user_no_pad_collation::Migration),
            Box::new(m20261201_000004_add_username_skeleton::Migration),
            Box::new(m20261201_000005_add_user_email_key::Migration),
            Box::new(m20261204_000006_create_session::Migration),
            Box::new(m20261205_000007_todo_timestamps::Migration),
            Box::new(m20261205_000008_create_idempotency_key::Migration),
        ]
    }
}

/// One verified address held by several accounts once letter case is
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailClash {
    pub key: EmailKey,
    /// `(user id, email as stored)`, by id.
    pub accounts: Vec<(i64, String)>,
}

/// "N address(es) verified by M accounts ignoring letter case".
pub fn describe_email_clashes(clashes: &[EmailClash]) -> String {
    let accounts: usize = clashes.iter().map(|clash| clash.accounts.len()).sum();
    format!(
        "{} address(es) verified by {accounts} accounts ignoring letter case",
        clashes.len()
    )
}

/// Every [`EmailClash`] in the database, by key. Reads only `user.id` and
/// `user.email`, so it works on a database whose email-key migration
/// refused to run (and finds none where there is no `email` column yet).
pub async fn email_clashes(manager: &SchemaManager<'_>) -> Result<Vec<EmailClash>, DbErr> {
    if !manager.has_column("user", "email").await? {
        return Ok(Vec::new());
    }
    let rows = manager
        .get_connection()
        .query_all(
            &Query::select()
                .columns([Alias::new("id"), Alias::new("email")])
                .from(Alias::new("user"))
                .and_where(Expr::col(Alias::new("email")).is_not_null())
                .order_by(Alias::new("id"), Order::Asc)
                .to_owned(),
        )
        .await?;
    let mut by_key = std::collections::BTreeMap::<String, Vec<(i64, String)>>::new();
    for row in rows {
        let id: i64 = row.try_get_by_index(0)?;
        let email: String = row.try_get_by_index(1)?;
        by_key
            .entry(EmailKey::of(&email).as_str().to_owned())
            .or_default()
            .push((id, email));
    }
    Ok(by_key
        .into_values()
        .filter(|accounts| accounts.len() > 1)
        .map(|accounts| EmailClash {
            key: EmailKey::of(&accounts[0].1),
            accounts,
        })
        .collect())
}
