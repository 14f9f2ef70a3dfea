//! The real `todos` binary: subcommands, the `listening on` line,
//! configuration errors and graceful shutdown.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{Server, serve};
use tokio::process::Command;

const SECRET: &str = "binary-test-secret-of-at-least-32-bytes";

/// The binary with a clean configuration, run in `dir`.
fn todos(dir: &Path) -> Command {
    let mut command = support::todos_in(dir);
    for var in [
        "TODOS_ADDR",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "JWT_SECRET_FILE",
        "JWT_TTL_SECS",
        "TODOS_MAIL_DIR",
        "SMTP_URL",
        "TODOS_ENV",
        "TODOS_INSTANCES",
    ] {
        command.env_remove(var);
    }
    command.env("RUST_LOG", "warn");
    command
}

impl Server {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{}{path}", self.address))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn serves_on_the_default_sqlite_file_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = todos(dir.path());
    command.env("JWT_SECRET", SECRET);
    let mut server = serve(command).await;

    let body: Value = reqwest::get(format!("{}/", server.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({ "ping": "pong" }));
    assert_eq!(
        server
            .post(
                "/users/sign-up",
                json!({ "username": "u1", "password": "password123" })
            )
            .await
            .status(),
        201
    );
    assert!(
        dir.path().join("todos.db").exists(),
        "todos.db beside the working directory"
    );

    let status = server.terminate().await;
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn migrate_then_create_user_then_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let output = todos(dir.path()).arg("migrate").output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Running it again finds nothing pending and still succeeds.
    assert!(
        todos(dir.path())
            .arg("migrate")
            .output()
            .await
            .unwrap()
            .status
            .success()
    );

    let create_admin = || async {
        todos(dir.path())
            .args([
                "create-user",
                "--username",
                "admin",
                "--password",
                "password123",
            ])
            .output()
            .await
            .unwrap()
    };
    let output = create_admin().await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("admin") && !stdout.contains("password123"),
        "{stdout}"
    );

    let output = create_admin().await;
    assert!(!output.status.success(), "a taken name fails");

    let mut command = todos(dir.path());
    command.env("JWT_SECRET", SECRET);
    let mut server = serve(command).await;
    let response = server
        .post(
            "/users/log-in",
            json!({ "username": "admin", "password": "password123" }),
        )
        .await;
    assert_eq!(response.status(), 200);
    server.terminate().await;
}

#[tokio::test]
async fn a_short_jwt_secret_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = todos(dir.path())
        .env("JWT_SECRET", "too-short")
        .args(["serve", "--addr", "127.0.0.1:0"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JWT_SECRET must be at least 32 bytes"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("too-short"),
        "the secret itself is not echoed: {stderr}"
    );
}

#[tokio::test]
async fn the_secret_can_come_from_a_file_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("jwt.secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let start = || {
        let mut command = todos(dir.path());
        command.env("JWT_SECRET_FILE", &secret_file);
        serve(command)
    };

    let mut server = start().await;
    let credentials = json!({ "username": "keeper", "password": "password123" });
    assert_eq!(
        server
            .post("/users/sign-up", credentials.clone())
            .await
            .status(),
        201
    );
    let token: Value = server
        .post("/users/log-in", credentials)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.terminate().await.code(), Some(0));

    let mut server = start().await;
    let response = reqwest::Client::new()
        .get(format!("{}/users/me", server.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.terminate().await;
}

#[tokio::test]
async fn production_refuses_to_start_without_a_secret_or_a_shared_cache() {
    let dir = tempfile::tempdir().unwrap();
    let run = |command: &mut Command| {
        command
            .env("TODOS_ENV", "production")
            .args(["serve", "--addr", "127.0.0.1:0"])
            .output()
    };
    let output = run(&mut todos(dir.path())).await.unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs JWT_SECRET"));

    let mut two_instances = todos(dir.path());
    two_instances
        .env("JWT_SECRET", SECRET)
        .env("TODOS_INSTANCES", "2");
    let output = run(&mut two_instances).await.unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs REDIS_URL"));

    // With both, it starts (Redis need not be up yet).
    let mut ready = todos(dir.path());
    ready
        .env("TODOS_ENV", "production")
        .env("JWT_SECRET", SECRET)
        .env("TODOS_INSTANCES", "2")
        .env("REDIS_URL", "redis://127.0.0.1:1/0");
    let mut server = serve(ready).await;
    assert_eq!(server.terminate().await.code(), Some(0));
}

/// An upgrade onto verified addresses that clash in letter case: `serve`
/// refuses, naming the count and the subcommand; `email-duplicates` lists
/// them without migrating; with one cleared, `serve` starts.
#[tokio::test]
async fn clashing_email_addresses_refuse_to_start_and_are_listed() {
    use todos_migration::{ConnectionTrait, Migrator, MigratorTrait};
    use todos_persistence::DatabaseSettings;

    let dir = tempfile::tempdir().unwrap();
    let settings = DatabaseSettings::new(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("todos.db").display()
    ));
    let db = todos_persistence::connect(&settings).await.unwrap();
    let before_email_key = Migrator::migrations()
        .iter()
        .position(|m| m.name().ends_with("_add_user_email_key"))
        .unwrap();
    Migrator::up(&db, Some(before_email_key as u32))
        .await
        .unwrap();
    db.execute_unprepared(
        "INSERT INTO \"user\" (id, username, password, email, email_verified) VALUES \
         (1, 'first', 'x', 'a@x.co', TRUE), (2, 'second', 'x', 'A@X.CO', TRUE)",
    )
    .await
    .unwrap();
    db.close().await.unwrap();

    let mut refused = todos(dir.path());
    refused
        .env("JWT_SECRET", SECRET)
        .args(["serve", "--addr", "127.0.0.1:0"]);
    let output = refused.output().await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("1 address(es) verified by 2 accounts")
            && stderr.contains("todos email-duplicates"),
        "{stderr}"
    );

    let output = todos(dir.path())
        .arg("email-duplicates")
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("a@x.co\n  user 1  a@x.co\n  user 2  A@X.CO\n"),
        "{stdout}"
    );

    let db = todos_persistence::connect(&settings).await.unwrap();
    db.execute_unprepared("UPDATE \"user\" SET email = NULL, email_verified = FALSE WHERE id = 2")
        .await
        .unwrap();
    db.close().await.unwrap();
    let output = todos(dir.path())
        .arg("email-duplicates")
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("no verified email address"));
    let mut command = todos(dir.path());
    command.env("JWT_SECRET", SECRET);
    let mut server = serve(command).await;
    assert_eq!(server.terminate().await.code(), Some(0));
}
