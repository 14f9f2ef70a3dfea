//! Redis going away: only the OTP and password reset routes and readiness fail (503, naming
//! the cache); todo routes keep working; all recovers without a restart.

use serde_json::json;
use todos_app::config::RedisSettings;
use todos_tests::{
    OTP_MARKER, TestApp,
    redis::PrivateRedis,
    services::{free_port, recovers},
    spawn_app_with, status_and_json,
};

fn app_on_redis(port: u16) -> impl FnOnce(&mut todos_app::Settings) {
    move |settings| {
        settings.redis = Some(RedisSettings::new(format!("redis://127.0.0.1:{port}/0")));
        // The production default: the sign-up limit must fail open too.
        settings.signup_limit = todos_app::config::DEFAULT_SIGNUP_LIMIT;
    }
}

async fn assert_todos_still_work(app: &TestApp, token: &str) {
    // Log-in throttling and the sign-up limit live in the cache but fail open.
    assert_eq!(app.log_in("ann", "password123").await.status(), 200);
    assert_eq!(app.log_in("ann", "wrong-password").await.status(), 401);
    let newcomer = format!(
        "newcomer-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    assert_eq!(app.sign_up(&newcomer, "password123").await.status(), 201);
    // So does the password throttle; the password stays what it was.
    assert_eq!(
        app.change_password(token, "password123", "password123")
            .await
            .status(),
        204
    );
    let id = app.new_todo(token, "works without the cache").await;
    assert_eq!(app.get_todo(token, &id.to_string()).await.status(), 200);
    assert_eq!(app.list_todos(token, "").await.status(), 200);
}

async fn assert_cache_is_down(app: &TestApp, token: &str) {
    let (status, body) = status_and_json(app.request_otp(token, "ann@example.com").await).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("cache"), "{body}");
    let (status, body) =
        status_and_json(app.verify_otp(token, "ann@example.com", "123456").await).await;
    assert_eq!(status, 503, "{body}");

    // Password resets need their codes and counters.
    let (status, body) = status_and_json(app.forgot_password("ann@example.com").await).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("cache"), "{body}");
    let reset = app
        .reset_password("ann@example.com", "123456", "password123")
        .await;
    assert_eq!(reset.status(), 503);

    let (status, body) = app.readiness().await;
    assert_eq!(status, 503);
    assert_eq!(
        (&body["database"], &body["cache"]),
        (&json!("ok"), &json!("down")),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("cache"), "{body}");
}

#[tokio::test]
async fn starts_and_serves_todos_while_redis_is_unreachable() {
    let app = spawn_app_with(app_on_redis(free_port())).await;
    let token = app.token_for("ann").await;
    assert_todos_still_work(&app, &token).await;
    assert_cache_is_down(&app, &token).await;
}

#[tokio::test]
async fn redis_stopping_mid_run_fails_only_the_cache_routes_until_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut redis) = PrivateRedis::start(dir.path()) else {
        return;
    };
    let app = spawn_app_with(app_on_redis(redis.port())).await;
    let token = app.token_for("ann").await;
    assert_eq!(
        app.request_otp(&token, "ann@example.com").await.status(),
        202
    );

    redis.stop();
    assert_cache_is_down(&app, &token).await;
    assert_todos_still_work(&app, &token).await;

    redis.start_server();
    assert!(
        recovers(async || app.request_otp(&token, "ann@example.com").await.status() == 202).await,
        "OTP requests work again once Redis is back"
    );
    // Let the codes already asked for arrive before asking for the next.
    let sent = app
        .emails_containing("ann@example.com", OTP_MARKER, 2)
        .await;
    assert_eq!(sent.len(), 2);
    let code = app.otp_for(&token, "ann@example.com").await;
    assert_eq!(
        app.verify_otp(&token, "ann@example.com", &code)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.readiness().await,
        (200, json!({ "database": "ok", "cache": "ok" }))
    );
}
