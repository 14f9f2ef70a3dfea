//! `todos email-duplicates`: the verified addresses that stop the email-key
//! migration (several accounts, one address in different letter cases).
//! It connects without migrating, since that migration is what refuses.

use std::fmt::Write;

pub use todos_migration::EmailClash;
use todos_migration::SchemaManager;
use todos_persistence::DatabaseSettings;

pub async fn email_duplicates(settings: &DatabaseSettings) -> anyhow::Result<Vec<EmailClash>> {
    let db = todos_persistence::connect(settings).await?;
    let clashes = todos_migration::email_clashes(&SchemaManager::new(&db)).await;
    db.close().await?;
    Ok(clashes?)
}

/// One block per address (its lower-case key, then `user ID  EMAIL` as
/// stored), then a count; a single line when there is nothing to fix.
pub fn email_duplicates_report(clashes: &[EmailClash]) -> String {
    if clashes.is_empty() {
        return "no verified email address is shared by two accounts ignoring letter case\n".into();
    }
    let mut report = String::new();
    for clash in clashes {
        let _ = writeln!(report, "{}", clash.key.as_str());
        for (id, email) in &clash.accounts {
            let _ = writeln!(report, "  user {id}  {email}");
        }
    }
    let _ = writeln!(
        report,
        "{}: keep one account per address (clear `email` and `email_verified` on the others)",
        todos_migration::describe_email_clashes(clashes)
    );
    report
}
