//! `todos backup` and `todos restore` on the default SQLite database
//! (README: "Backups"): a backup taken while todos are being written holds
//! every todo acknowledged before it started; a restore refuses to replace
//! a database that a service is serving, and the restored copy serves.

mod support;

use std::{
    path::Path,
    process::Output,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use support::{log_in, serve_sqlite_in as start};

/// `todos <args>` in `dir` on its `todos.db`, run to its end.
async fn todos(dir: &Path, args: &[&str]) -> Output {
    support::todos_in(dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .await
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Signs keeper up (when `sign_up`) and logs in: the access token.
async fn keeper(client: &reqwest::Client, base: &str, sign_up: bool) -> String {
    let credentials = json!({ "username": "keeper", "password": "password123" });
    if sign_up {
        let signed_up = client
            .post(format!("{base}/users/sign-up"))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(signed_up.status(), 201);
    }
    log_in(client, base, &credentials).await
}

#[tokio::test]
async fn a_backup_under_writes_restores_every_todo_acknowledged_before_it() {
    let live = tempfile::tempdir().unwrap();
    let vault = tempfile::tempdir().unwrap();
    let restored = tempfile::tempdir().unwrap();
    let mut server = start(live.path()).await;
    let base = server.address.clone();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = keeper(&client, &base, true).await;

    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..4 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (acknowledged, stop) = (Arc::clone(&acknowledged), Arc::clone(&stop));
        writers.spawn(async move {
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let created = client
                    .post(format!("{base}/todos"))
                    .bearer_auth(&token)
                    .json(&json!({ "contents": format!("writer {writer} todo {n}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(created.status(), 201);
                let created: Value = created.json().await.unwrap();
                acknowledged
                    .lock()
                    .unwrap()
                    .push(created["id"].as_i64().unwrap());
            }
        });
    }
    while acknowledged.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let before_backup = acknowledged.lock().unwrap().clone();
    let backup_file = vault.path().join("todos-backup.db");
    let backup_arg = backup_file.to_str().unwrap();
    let backed_up = todos(live.path(), &["backup", "--to", backup_arg]).await;
    assert!(backed_up.status.success(), "{}", text(&backed_up));
    // Writes went on during the backup and go on after it.
    let during = acknowledged.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    while let Some(writer) = writers.join_next().await {
        writer.unwrap();
    }
    let all = acknowledged.lock().unwrap().clone();
    assert!(all.len() > during, "no writes after the backup");

    // A backup never overwrites a file.
    let again = todos(live.path(), &["backup", "--to", backup_arg]).await;
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    // Not over the database a service is serving.
    let over_live = todos(live.path(), &["restore", "--from", backup_arg, "--replace"]).await;
    assert!(!over_live.status.success());
    assert!(
        text(&over_live).contains("is serving"),
        "{}",
        text(&over_live)
    );
    let restored_ok = todos(restored.path(), &["restore", "--from", backup_arg]).await;
    assert!(restored_ok.status.success(), "{}", text(&restored_ok));
    assert_eq!(server.terminate().await.code(), Some(0));

    let mut copy = start(restored.path()).await;
    let base = copy.address.clone();
    let token = keeper(&client, &base, false).await;
    let ids = support::todo_ids(&client, &base, &token).await;
    let missing: Vec<_> = before_backup
        .iter()
        .filter(|id| !ids.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, not restored: {missing:?}"
    );
    assert!(
        ids.iter().all(|id| all.contains(id)),
        "a todo nobody created"
    );

    // A restore over a database that a killed server left with its WAL:
    // the stale WAL must not come back on top of the backup.
    for n in 0..20 {
        let created = client
            .post(format!("{base}/todos"))
            .bearer_auth(&token)
            .json(&json!({ "contents": format!("after the restore {n}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    copy.child.start_kill().unwrap();
    copy.child.wait().await.unwrap();
    assert!(restored.path().join("todos.db-wal").exists());
    let exists = todos(restored.path(), &["restore", "--from", backup_arg]).await;
    assert!(!exists.status.success());
    assert!(text(&exists).contains("--replace"), "{}", text(&exists));
    let replaced = todos(
        restored.path(),
        &["restore", "--from", backup_arg, "--replace"],
    )
    .await;
    assert!(replaced.status.success(), "{}", text(&replaced));
    let mut again = start(restored.path()).await;
    let base = again.address.clone();
    let token = keeper(&client, &base, false).await;
    assert_eq!(
        support::todo_ids(&client, &base, &token).await,
        ids,
        "exactly the backup"
    );
    assert_eq!(again.terminate().await.code(), Some(0));
}
