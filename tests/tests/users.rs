//! Sign-up, log-in and `/users/me` through HTTP.

use std::sync::Arc;

use serde_json::{Value, json};
use todos_tests::{retry_after_secs, spawn_app, status_and_json};

#[tokio::test]
async fn sign_up_log_in_and_me() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(app.sign_up("alice", "password123").await).await;
    assert_eq!(status, 201);
    assert_eq!(body["username"], "alice");
    assert!(body["id"].as_i64().unwrap() > 0);
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only id and username: {body}"
    );

    let (status, body) = status_and_json(app.log_in("alice", "password123").await).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap();

    let (status, me) = status_and_json(app.me(token).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        me,
        json!({ "id": me["id"], "username": "alice", "email": null, "email_verified": false })
    );
}

#[tokio::test]
async fn log_in_failures_are_404_for_unknown_user_and_401_for_wrong_password() {
    let app = spawn_app().await;
    app.sign_up("bob", "password123").await;

    assert_eq!(
        status_and_json(app.log_in("nobody", "password123").await).await,
        (404, json!({ "detail": "User Not Found" }))
    );
    assert_eq!(
        status_and_json(app.log_in("bob", "wrong-password").await).await,
        (401, json!({ "detail": "Not Authorized" }))
    );
}

#[tokio::test]
async fn taken_username_is_409_and_names_are_case_sensitive() {
    let app = spawn_app().await;
    assert_eq!(app.sign_up("carol", "password123").await.status(), 201);

    let (status, body) = status_and_json(app.sign_up("carol", "other-password").await).await;
    assert_eq!(status, 409);
    assert!(body["detail"].is_string());

    assert_eq!(app.sign_up("Carol", "password123").await.status(), 201);
}

#[tokio::test]
async fn invalid_sign_ups_are_422_naming_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "username": "", "password": "password123" }),
            "username",
        ),
        (
            json!({ "username": " padded", "password": "password123" }),
            "username",
        ),
        (
            json!({ "username": "padded ", "password": "password123" }),
            "username",
        ),
        (
            json!({ "username": "ctl\u{7}", "password": "password123" }),
            "username",
        ),
        (
            json!({ "username": "x".repeat(257), "password": "password123" }),
            "username",
        ),
        (
            json!({ "username": "dave", "password": "short" }),
            "password",
        ),
        (
            json!({ "username": "dave", "password": "x".repeat(1025) }),
            "password",
        ),
        (json!({ "password": "password123" }), "username"),
        (json!({ "username": "dave" }), "password"),
        (
            json!({ "username": 5, "password": "password123" }),
            "username",
        ),
        (json!({ "username": "dave", "password": null }), "password"),
    ];
    for (body, field) in cases {
        let (status, answer) = status_and_json(app.post_json("/users/sign-up", &body).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            answer["detail"][0]["loc"],
            json!(["body", field]),
            "{body} → {answer}"
        );
    }
    // 256 characters of a multi-byte letter is within the limit.
    assert_eq!(
        app.sign_up(&"é".repeat(256), "password123").await.status(),
        201
    );
    // None of the refused names was stored.
    assert_eq!(app.log_in("dave", "password123").await.status(), 404);
}

#[tokio::test]
async fn malformed_bodies_are_422_and_a_missing_content_type_is_json() {
    let app = spawn_app().await;
    let valid = r#"{"username":"erin","password":"password123"}"#;
    let cases: [(Option<&str>, &str); 5] = [
        (Some("application/json"), "{not json"),
        (Some("application/json"), ""),
        (Some("application/json"), "[]"),
        (Some("text/plain"), valid),
        (
            Some("application/x-www-form-urlencoded"),
            "username=erin&password=password123",
        ),
    ];
    for (content_type, body) in cases {
        let response = app
            .post_raw("/users/sign-up", None, content_type, body)
            .await;
        let (status, answer) = status_and_json(response).await;
        assert_eq!(status, 422, "{content_type:?} {body:?}");
        assert!(answer["detail"].is_array(), "{answer}");
    }

    let response = app.post_raw("/users/sign-up", None, None, valid).await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn concurrent_sign_ups_of_one_name_give_one_201_and_409s() {
    let app = Arc::new(spawn_app().await);
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let app = Arc::clone(&app);
        attempts.spawn(async move { app.sign_up("frank", "password123").await.status().as_u16() });
    }
    let statuses = attempts.join_all().await;

    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    // Sign-ups may fill only half the hashing queue; beyond it they are
    // refused at once (503) before reaching the database.
    let refused = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        conflicts >= 1,
        "the unique index decided a race: {statuses:?}"
    );
    assert_eq!(conflicts + refused, 19, "{statuses:?}");
}

#[tokio::test]
async fn passwords_and_hashes_never_come_back() {
    let app = spawn_app().await;
    let signed_up: Value = app
        .sign_up("grace", "hunter2hunter2")
        .await
        .json()
        .await
        .unwrap();
    let token = app
        .log_in("grace", "hunter2hunter2")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let me: Value = app
        .me(token["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    for body in [signed_up, me] {
        let text = body.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("argon2"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn ten_failed_log_ins_lock_the_username_for_the_window() {
    let app = spawn_app().await;
    app.sign_up("ann", "password123").await;
    app.sign_up("bob", "password123").await;
    for _ in 0..10 {
        assert_eq!(app.log_in("ann", "wrong-password").await.status(), 401);
    }
    for password in ["wrong-password", "password123"] {
        let response = app.log_in("ann", password).await;
        let retry_after = retry_after_secs(&response);
        assert!((800..=900).contains(&retry_after), "{retry_after}");
        assert_eq!(
            status_and_json(response).await,
            (429, json!({ "detail": "Too Many Requests" }))
        );
    }
    assert_eq!(
        app.log_in("bob", "password123").await.status(),
        200,
        "other names are not affected"
    );
}

#[tokio::test]
async fn a_success_does_not_reset_the_failure_count() {
    let app = spawn_app().await;
    app.sign_up("ann", "password123").await;
    for _ in 0..9 {
        assert_eq!(app.log_in("ann", "wrong-password").await.status(), 401);
    }
    assert_eq!(app.log_in("ann", "password123").await.status(), 200);
    assert_eq!(app.log_in("ann", "wrong-password").await.status(), 401);
    assert_eq!(app.log_in("ann", "password123").await.status(), 429);
}
