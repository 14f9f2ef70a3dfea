//! The database going away: readiness and every route that needs it answer
//! 503 (never 500, never a hang past the acquire timeout), and requests
//! succeed again once it is back, without restarting the app.

use std::time::Duration;

use serde_json::json;
use todos_persistence::DatabaseSettings;
use todos_tests::{
    TestApp, mariadb::PrivateMariaDb, services::recovers, spawn_app_with, status_and_json,
};

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

async fn assert_database_down(app: &TestApp, token: &str) {
    // A generous client timeout: a hang would fail here, not wait forever.
    let client = reqwest::Client::builder()
        .timeout(ACQUIRE_TIMEOUT * 5)
        .no_proxy()
        .build()
        .unwrap();
    let (status, body) =
        status_and_json(client.get(app.url("/health/ready")).send().await.unwrap()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "down", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("database"),
        "{body}"
    );

    let requests = [
        client.get(app.url("/todos")).bearer_auth(token),
        client.get(app.url("/users/me")).bearer_auth(token),
        client
            .post(app.url("/todos"))
            .bearer_auth(token)
            .json(&json!({ "contents": "x" })),
        client
            .post(app.url("/users/log-in"))
            .json(&json!({ "username": "ann", "password": "password123" })),
        client
            .post(app.url("/users/sign-up"))
            .json(&json!({ "username": "zed", "password": "password123" })),
    ];
    for request in requests {
        let (status, body) = status_and_json(request.send().await.expect("answered in time")).await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("database"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn mariadb_stopped_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut mariadb) = PrivateMariaDb::start(dir.path()) else {
        return;
    };
    let url = mariadb.url();
    let app = spawn_app_with(move |settings| {
        settings.database = DatabaseSettings {
            acquire_timeout: ACQUIRE_TIMEOUT,
            ..DatabaseSettings::new(url)
        };
    })
    .await;
    let token = app.token_for("ann").await;
    let id = app.new_todo(&token, "survives the outage").await;

    mariadb.stop();
    assert_database_down(&app, &token).await;

    mariadb.start_server();
    assert!(
        recovers(async || app.list_todos(&token, "").await.status() == 200).await,
        "requests succeed again once the database is back"
    );
    let (status, todo) = status_and_json(app.get_todo(&token, &id.to_string()).await).await;
    assert_eq!(
        (status, todo["contents"].clone()),
        (200, json!("survives the outage"))
    );
    assert_eq!(app.readiness().await.0, 200);
}
