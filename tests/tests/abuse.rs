//! Hostile input gets a clear 4xx and changes nothing.

use serde_json::json;
use todos_tests::{spawn_app, status_and_json};

#[tokio::test]
async fn a_10_mb_body_is_413() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    let body = format!(r#"{{"contents":"{}"}}"#, "x".repeat(10 * 1024 * 1024));
    let response = app
        .post_raw("/todos", Some(&token), Some("application/json"), body)
        .await;
    assert_eq!(status_and_json(response).await.0, 413);
    let (_, list) = status_and_json(app.list_todos(&token, "").await).await;
    assert_eq!(list, json!({ "todos": [], "next": null }));
}

#[tokio::test]
async fn deeply_nested_json_is_422() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    let depth = 10_000;
    let body = format!(
        r#"{{"contents":{}"x"{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let response = app
        .post_raw("/todos", Some(&token), Some("application/json"), body)
        .await;
    assert_eq!(status_and_json(response).await.0, 422);
}

#[tokio::test]
async fn invalid_utf8_is_422() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    let mut body = br#"{"contents":""#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(br#""}"#);
    let response = app
        .post_raw("/todos", Some(&token), Some("application/json"), body)
        .await;
    assert_eq!(status_and_json(response).await.0, 422);
    let response = app
        .post_raw("/users/sign-up", None, None, vec![0xc3u8, 0x28])
        .await;
    assert_eq!(status_and_json(response).await.0, 422);
}

#[tokio::test]
async fn a_huge_authorization_header_is_refused_without_a_server_error() {
    let app = spawn_app().await;
    let huge = format!("Bearer {}", "a".repeat(512 * 1024));
    match app
        .client
        .get(app.url("/todos"))
        .header("authorization", huge)
        .send()
        .await
    {
        // hyper refuses oversized headers (431), or closes the connection.
        Ok(response) => assert!(response.status().is_client_error(), "{}", response.status()),
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }
    // Long, yet the whole head stays under the 16 KiB limit (431 beyond it).
    let long_token = format!("Bearer {}", "a".repeat(15 * 1024));
    let response = app
        .client
        .get(app.url("/todos"))
        .header("authorization", long_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_json(response).await,
        (401, json!({ "detail": "Not Authorized" }))
    );
    // The server is still fine.
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn a_thousand_todos_list_in_one_response() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    for n in 0..1000 {
        app.new_todo(&token, &format!("todo {n}")).await;
    }
    let (status, list) = status_and_json(app.list_todos(&token, "?order=desc").await).await;
    assert_eq!(status, 200);
    let todos = list["todos"].as_array().unwrap();
    assert_eq!(todos.len(), 1000);
    assert_eq!(todos[0]["contents"], "todo 999");
    assert_eq!(todos[999]["contents"], "todo 0");
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_get_503_not_a_queue() {
    let app = std::sync::Arc::new(
        todos_tests::spawn_app_with(|settings| settings.limits.max_concurrent_requests = 1).await,
    );
    assert_eq!(app.sign_up("ann", "password123").await.status(), 201);
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let app = std::sync::Arc::clone(&app);
        // Each log-in holds its slot for a password verification (~tens of ms).
        logins.spawn(async move {
            let response = app.log_in("ann", "password123").await;
            let retry_after = response.headers().get("retry-after").cloned();
            let (status, body) = status_and_json(response).await;
            (status, body, retry_after)
        });
    }
    let outcomes = logins.join_all().await;
    let shed: Vec<_> = outcomes
        .iter()
        .filter(|(status, _, _)| *status == 503)
        .collect();
    assert!(
        outcomes
            .iter()
            .all(|(status, _, _)| *status == 200 || *status == 503),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|(status, _, _)| *status == 200),
        "{outcomes:?}"
    );
    assert!(
        !shed.is_empty(),
        "with one slot, concurrent requests are shed: {outcomes:?}"
    );
    for (_, body, retry_after) in shed {
        assert!(
            body["detail"].as_str().unwrap().contains("overloaded"),
            "{body}"
        );
        assert_eq!(retry_after.as_ref().unwrap(), "1");
    }
    assert_eq!(
        app.log_in("ann", "password123").await.status(),
        200,
        "fine once the burst is over"
    );
}

/// PostgreSQL cannot store U+0000: it is refused up front on every backend.
#[tokio::test]
async fn nul_characters_are_422_not_a_database_error() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    let (status, body) = status_and_json(
        app.create_todo(&token, &json!({ "contents": "a\u{0}b" }))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "contents"]));
    let (status, body) = status_and_json(app.log_in("ann\u{0}", "password123").await).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = status_and_json(app.request_otp(&token, "a\u{0}@example.com").await).await;
    assert_eq!(status, 422);
}
