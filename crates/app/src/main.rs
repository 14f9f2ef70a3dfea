use clap::Parser;
use todos_app::{Application, Cli, Command, Settings, telemetry};
use todos_persistence::DatabaseSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A bad flag or variable ends here with clap's message, before any log.
    let cli = Cli::parse();
    // Held to the end: dropping it writes out the queued log lines.
    let _log_writer = telemetry::init(cli.log_format);
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Migrate(args)) => {
            todos_app::migrate(&DatabaseSettings::new(args.database_url)).await?;
            println!("migrations applied");
            Ok(())
        }
        Some(Command::CreateUser {
            database,
            username,
            password,
        }) => {
            let user = todos_app::create_user(
                &DatabaseSettings::new(database.database_url),
                username,
                password,
            )
            .await?;
            println!("created user {} with id {}", user.username, user.id.0);
            Ok(())
        }
        Some(Command::Backup { database, to }) => {
            let summary = todos_persistence::backup(&database.database_url, &to)?;
            println!("backed up {} to {}", describe(&summary), to.display());
            Ok(())
        }
        Some(Command::Restore {
            database,
            from,
            replace,
        }) => {
            let summary = todos_persistence::restore(&database.database_url, &from, replace)?;
            println!("restored {} from {}", describe(&summary), from.display());
            Ok(())
        }
        Some(Command::EmailDuplicates(args)) => {
            let clashes =
                todos_app::email_duplicates(&DatabaseSettings::new(args.database_url)).await?;
            print!("{}", todos_app::email_duplicates_report(&clashes));
            Ok(())
        }
    }
}

fn describe(summary: &todos_persistence::BackupSummary) -> String {
    format!(
        "{} users and {} todos ({} bytes)",
        summary.users, summary.todos, summary.bytes
    )
}

async fn serve(args: todos_app::config::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::from_args(&args)?;
    todos_app::raise_open_file_limit(settings.connections.max_connections);
    let app = Application::build(settings).await?;
    // Listen for signals before announcing the port: a SIGTERM sent right
    // after the line must stop the server gracefully, not kill it.
    let stop = stop_signal()?;
    // Scripts read this line to find the port (README: "Configuration").
    println!("listening on http://{}", app.local_addr()?);
    // And this one, after it, for the metrics port (README: "Running with
    // metrics").
    if let Some(metrics) = app.metrics_addr()? {
        println!("metrics on http://{metrics}/metrics");
    }
    app.run_until_stopped(stop).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM; the handlers are installed
/// when this is called, not when the future is first polled.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
