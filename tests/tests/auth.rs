//! Every bad-token case (README: "Security", tokens) against a protected route.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::Method;
use serde_json::{Value, json};
use todos_tests::{JWT_SECRET, TestApp, claims_of, spawn_app, status_and_json};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(claims: &Value, key: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// `alg: none`, no signature: must never be accepted.
fn unsigned(claims: &Value) -> String {
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", b64url(claims.to_string().as_bytes()))
}

async fn status_with_header(app: &TestApp, authorization: Option<String>) -> (u16, Value) {
    let mut request = app.client.get(app.url("/todos"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    status_and_json(request.send().await.unwrap()).await
}

#[tokio::test]
async fn bad_tokens_are_401_not_authorized() {
    let app = spawn_app().await;
    let sid = claims_of(&app.token_for("alice").await)["sid"].clone();
    let t = now();
    let valid_claims = json!({ "sub": "alice", "sid": sid, "iat": t, "exp": t + 600 });
    let not_authorized = (401, json!({ "detail": "Not Authorized" }));

    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing header", None),
        ("empty bearer", Some("Bearer ".into())),
        ("other scheme", Some("Basic YWxpY2U6cGFzc3dvcmQ=".into())),
        ("garbage", Some("Bearer not-a-token".into())),
        (
            "no session (issued before sessions existed)",
            Some(format!(
                "Bearer {}",
                sign(
                    &json!({ "sub": "alice", "iat": t, "exp": t + 600 }),
                    JWT_SECRET
                )
            )),
        ),
        (
            "another session id",
            Some(format!(
                "Bearer {}",
                sign(
                    &json!({ "sub": "alice", "sid": "0123456789abcdef0123456789abcdef", "iat": t, "exp": t + 600 }),
                    JWT_SECRET
                )
            )),
        ),
        (
            "wrong secret",
            Some(format!(
                "Bearer {}",
                sign(&valid_claims, b"another-secret-of-at-least-32-bytes!!")
            )),
        ),
        (
            "alg none",
            Some(format!("Bearer {}", unsigned(&valid_claims))),
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                sign(
                    &json!({ "sub": "alice", "iat": t - 7200, "exp": t - 3600 }),
                    JWT_SECRET
                )
            )),
        ),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                sign(&json!({ "sub": "alice", "iat": t }), JWT_SECRET)
            )),
        ),
        (
            "no sub",
            Some(format!(
                "Bearer {}",
                sign(&json!({ "iat": t, "exp": t + 600 }), JWT_SECRET)
            )),
        ),
        // Re-signed tokens (a leaked key) must not outlive the rules.
        (
            "nbf in the future",
            Some(format!(
                "Bearer {}",
                sign(
                    &json!({ "sub": "alice", "iat": t, "exp": t + 600, "nbf": t + 300 }),
                    JWT_SECRET
                )
            )),
        ),
        (
            "iat in the future",
            Some(format!(
                "Bearer {}",
                sign(
                    &json!({ "sub": "alice", "iat": t + 300, "exp": t + 900 }),
                    JWT_SECRET
                )
            )),
        ),
        (
            "exp of u64::MAX",
            Some(format!(
                "Bearer {}",
                sign(
                    &json!({ "sub": "alice", "iat": t, "exp": u64::MAX }),
                    JWT_SECRET
                )
            )),
        ),
        (
            "exp further from iat than JWT_TTL_SECS (3600 here)",
            Some(format!(
                "Bearer {}",
                sign(
                    &json!({ "sub": "alice", "iat": t, "exp": t + 3601 }),
                    JWT_SECRET
                )
            )),
        ),
        (
            "no iat",
            Some(format!(
                "Bearer {}",
                sign(&json!({ "sub": "alice", "exp": t + 600 }), JWT_SECRET)
            )),
        ),
    ];
    for (case, header) in cases {
        assert_eq!(
            status_with_header(&app, header).await,
            not_authorized,
            "{case}"
        );
    }

    // The same claims, correctly signed, are accepted: the cases above
    // failed for the reason they name.
    let good = Some(format!("Bearer {}", sign(&valid_claims, JWT_SECRET)));
    assert_eq!(status_with_header(&app, good).await.0, 200);
    let lower_case_scheme = Some(format!("bearer {}", sign(&valid_claims, JWT_SECRET)));
    assert_eq!(status_with_header(&app, lower_case_scheme).await.0, 200);
    let past_nbf = json!({ "sub": "alice", "sid": sid, "iat": t, "exp": t + 3600, "nbf": t - 60 });
    let good = Some(format!("Bearer {}", sign(&past_nbf, JWT_SECRET)));
    assert_eq!(status_with_header(&app, good).await.0, 200);
}

#[tokio::test]
async fn token_of_a_deleted_user_is_404_user_not_found() {
    let app = spawn_app().await;
    let token = app.token_for("ghost").await;
    assert_eq!(app.me(&token).await.status(), 200);

    app.delete_user_row("ghost").await;

    assert_eq!(
        status_and_json(app.me(&token).await).await,
        (404, json!({ "detail": "User Not Found" }))
    );
    assert_eq!(app.list_todos(&token, "").await.status(), 404);
}

/// The reads that check the bearer in the same statement as their data
/// keep the order of failures: a bad token, then a deleted user, come
/// before a malformed id or query (422).
#[tokio::test]
async fn the_bearer_check_comes_before_a_bad_id_or_query() {
    let app = spawn_app().await;
    let token = app.token_for("ghost").await;
    let ended = app.token_for("ended").await;
    assert_eq!(app.log_out(&ended).await.status(), 204);
    let id = app.new_todo(&token, "mine").await;
    app.delete_user_row("ghost").await;

    for (token, expected) in [(&token, 404), (&ended, 401), (&"garbage".to_owned(), 401)] {
        for path in [
            "/todos/abc",
            "/todos/0",
            "/todos?limit=0",
            "/todos?order=up",
        ] {
            let response = app.authed(Method::GET, path, token, None).await;
            assert_eq!(response.status(), expected, "{path}");
        }
        let response = app.get_todo(token, &id.to_string()).await;
        assert_eq!(response.status(), expected);
    }
}

#[tokio::test]
async fn every_protected_route_requires_a_token() {
    let app = spawn_app().await;
    let routes = [
        ("GET", "/users/me"),
        ("GET", "/todos"),
        ("POST", "/todos"),
        ("GET", "/todos/1"),
        ("PATCH", "/todos/1"),
        ("DELETE", "/todos/1"),
    ];
    for (method, path) in routes {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .json(&json!({ "contents": "x", "is_done": true }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer",
            "{method} {path}"
        );
        assert_eq!(
            status_and_json(response).await,
            (401, json!({ "detail": "Not Authorized" })),
            "{method} {path}"
        );
    }
}
