//! `todo-digest [--once]`: see the crate documentation.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use clap::Parser;
use todo_digest::Digest;
use todos_domain::{Mailer, Todos};
use todos_mail::{DirMailer, LogMailer, SmtpMailer};
use todos_persistence::{DatabaseSettings, SeaTodoRepository, SeaUserRepository};

/// Mails every verified user of a `todos` database their open todos.
#[derive(Parser)]
struct Args {
    /// The `todos` service's database.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://todos.db")]
    database_url: String,
    /// Write each email as an `.eml` file into this directory.
    #[arg(long, env = "TODOS_MAIL_DIR")]
    mail_dir: Option<PathBuf>,
    /// Send through this SMTP server (lettre's URL format).
    #[arg(long, env = "SMTP_URL")]
    smtp_url: Option<String>,
    /// `From:` of the emails.
    #[arg(long, env = "TODOS_MAIL_FROM", default_value = todos_mail::DEFAULT_FROM)]
    mail_from: String,
    /// Seconds between passes.
    #[arg(long, default_value_t = 24 * 60 * 60)]
    every_secs: u64,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let db = todos_persistence::connect(&DatabaseSettings::new(&args.database_url))
        .await
        .context("cannot open the database")?;
    let digest = Digest::new(
        Arc::new(SeaUserRepository::new(db.clone())),
        Todos::new(Arc::new(SeaTodoRepository::new(db))),
        mailer(&args)?,
    );
    let mut every = tokio::time::interval(Duration::from_secs(args.every_secs.max(1)));
    loop {
        every.tick().await;
        match digest.run_once().await {
            Ok(report) => tracing::info!(?report, "digest sent"),
            Err(err) if !args.once => {
                tracing::warn!(error = %err, "digest failed; next pass later")
            }
            Err(err) => return Err(err.into()),
        }
        if args.once {
            return Ok(());
        }
    }
}

fn mailer(args: &Args) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(match (&args.smtp_url, &args.mail_dir) {
        (Some(url), _) => Arc::new(SmtpMailer::new(url, &args.mail_from)?),
        (None, Some(dir)) => Arc::new(DirMailer::new(dir, &args.mail_from)?),
        (None, None) => Arc::new(LogMailer),
    })
}
