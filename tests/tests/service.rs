//! Routes that need no account, and the error shape of everything else.

use serde_json::json;
use todos_tests::{spawn_app, status_and_json};

#[tokio::test]
async fn root_answers_pong() {
    let app = spawn_app().await;
    let (status, body) = status_and_json(app.get("/").await).await;
    assert_eq!((status, body), (200, json!({ "ping": "pong" })));
}

#[tokio::test]
async fn readiness_reports_database_and_cache() {
    let app = spawn_app().await;
    assert_eq!(
        app.readiness().await,
        (200, json!({ "database": "ok", "cache": "ok" }))
    );
}

#[tokio::test]
async fn unknown_route_and_wrong_method_speak_json() {
    let app = spawn_app().await;
    assert_eq!(
        status_and_json(app.get("/no/such/route").await).await,
        (404, json!({ "detail": "Not Found" }))
    );

    let response = app.client.delete(app.url("/")).send().await.unwrap();
    assert_eq!(
        status_and_json(response).await,
        (405, json!({ "detail": "Method Not Allowed" }))
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert!(response.headers().contains_key("x-request-id"));

    let response = app
        .client
        .get(app.url("/"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
}
