//! A flood of refused requests must not flood the log: the real binary,
//! at `RUST_LOG=warn`, under sign-ups that overflow the password-hashing
//! queue, writes a few lines, not one per 503 (README: "Abuse resistance").

mod support;

use std::{process::Stdio, time::Duration};

use serde_json::json;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_not_logged_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = support::todos_in(dir.path());
    command
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("TODOS_SIGNUP_LIMIT", "0")
        .stderr(Stdio::piped());
    let mut server = support::serve(command).await;
    let log = server.stderr.take().unwrap();
    let base = server.address.clone();

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let until = Instant::now() + Duration::from_secs(3);
    let mut flood = tokio::task::JoinSet::new();
    for worker in 0..64 {
        let (client, url) = (client.clone(), format!("{base}/users/sign-up"));
        flood.spawn(async move {
            let mut refused = 0;
            let mut n = 0;
            while Instant::now() < until {
                n += 1;
                let body =
                    json!({ "username": format!("f{worker}-{n}"), "password": "password123" });
                let response = client.post(&url).json(&body).send().await.unwrap();
                refused += usize::from(response.status() == 503);
            }
            refused
        });
    }
    let refused: usize = flood.join_all().await.into_iter().sum();
    drop(server); // killed: the log is complete

    let log = log.await.unwrap();
    let lines = log.lines().count();
    assert!(refused > 100, "the queue must overflow: {refused} refusals");
    // One line a second at most for the refusals, plus start-up warnings.
    assert!(
        lines <= 10,
        "{refused} refusals wrote {lines} log lines:\n{log}"
    );
    assert!(log.contains("password hashing queue full"), "{log}");
}
