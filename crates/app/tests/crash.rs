//! Crash safety on SQLite: a burst of POST /todos, SIGKILL mid-burst, a
//! restart, and every todo that was answered 201 is there, intact; an
//! idempotent POST retried across a SIGKILL and restart creates one todo.

mod support;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{Value, json};
use support::{log_in, serve_sqlite_in as start};

/// The first page of the user's todos (up to 1000: enough here).
async fn todos_of(client: &reqwest::Client, base: &str, token: &str) -> Value {
    client
        .get(format!("{base}/todos"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_acknowledged_todo_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path()).await;
    let base = server.address.clone();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let credentials = json!({ "username": "crash", "password": "password123" });
    client
        .post(format!("{base}/users/sign-up"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    let token = log_in(&client, &base, &credentials).await;

    let acknowledged = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let (client, base, token, acknowledged) = (
            client.clone(),
            base.clone(),
            token.clone(),
            Arc::clone(&acknowledged),
        );
        writers.spawn(async move {
            for n in 0.. {
                let contents = format!("writer {writer} todo {n} ✓");
                let Ok(response) = client
                    .post(format!("{base}/todos"))
                    .bearer_auth(&token)
                    .json(&json!({ "contents": contents }))
                    .send()
                    .await
                else {
                    return; // the server is gone
                };
                if response.status() != 201 {
                    return;
                }
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                acknowledged
                    .lock()
                    .unwrap()
                    .push((body["id"].as_i64().unwrap(), contents));
            }
        });
    }
    // Let the burst get going, then kill without warning.
    while acknowledged.lock().unwrap().len() < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    writers.join_all().await;
    let acknowledged = acknowledged.lock().unwrap().clone();

    let mut server = start(dir.path()).await;
    let base = server.address.clone();
    let token = log_in(&client, &base, &credentials).await;
    let list = todos_of(&client, &base, &token).await;
    let stored: std::collections::HashMap<i64, String> = list["todos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_i64().unwrap(),
                t["contents"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (id, contents) in &acknowledged {
        assert_eq!(
            stored.get(id),
            Some(contents),
            "todo {id} was acknowledged with 201"
        );
    }
    assert!(stored.len() >= acknowledged.len());
    eprintln!(
        "{} todos acknowledged before SIGKILL, {} stored after restart",
        acknowledged.len(),
        stored.len()
    );
    server.child.start_kill().unwrap();
    let _ = server.child.wait().await;
}

/// A client whose first answer was lost retries with the same
/// `Idempotency-Key` after the server was killed and restarted: it gets
/// the first answer again, and the todo exists once.
#[tokio::test]
async fn an_idempotent_post_is_answered_the_same_after_sigkill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let credentials = json!({ "username": "retry", "password": "password123" });
    let post = |base: &str, token: &str| {
        client
            .post(format!("{base}/todos"))
            .bearer_auth(token)
            .header("Idempotency-Key", "3f2a9c1e-retry-after-crash")
            .json(&json!({ "contents": "pay the rent" }))
            .send()
    };

    let mut server = start(dir.path()).await;
    let base = server.address.clone();
    client
        .post(format!("{base}/users/sign-up"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    let token = log_in(&client, &base, &credentials).await;
    let first = post(&base, &token).await.unwrap();
    assert_eq!(first.status(), 201);
    let first_etag = first.headers()["etag"].clone();
    let first_body: Value = first.json().await.unwrap();
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    let mut server = start(dir.path()).await;
    let base = server.address.clone();
    let token = log_in(&client, &base, &credentials).await;
    let again = post(&base, &token).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["etag"], first_etag);
    assert_eq!(again.json::<Value>().await.unwrap(), first_body);
    let list = todos_of(&client, &base, &token).await;
    assert_eq!(list["todos"].as_array().unwrap().len(), 1, "{list}");
    server.child.start_kill().unwrap();
    let _ = server.child.wait().await;
}
