use clap::Parser;
use todos_app::{Application, Cli, Command, Settings, telemetry};
use todos_persistence::DatabaseSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let cli = Cli::parse();
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
    }
}

async fn serve(args: todos_app::config::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::from_args(&args)?;
    let app = Application::build(settings).await?;
    // Scripts read this line to find the port (SPEC: Running it).
    println!("listening on http://{}", app.local_addr()?);
    app.run_until_stopped(stop_signal()).await
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
