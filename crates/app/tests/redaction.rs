//! Nothing secret in the logs: the whole flow runs against the real binary
//! with `RUST_LOG=debug`, and no password (old, new or reset), hash,
//! access or refresh token, OTP, reset code or signing key used in it may appear anywhere in its output.

mod support;

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const SECRET: &str = "redaction-test-signing-key-0123456789abcdef";
const PASSWORD: &str = "correct-horse-battery-staple";
const WRONG_PASSWORD: &str = "wrong-horse-battery-staple";
const CHANGED_PASSWORD: &str = "changed-horse-battery-staple";
const RESET_PASSWORD: &str = "reset-horse-battery-staple";

#[tokio::test]
async fn debug_logs_of_a_full_flow_hold_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("mail");
    let mut command = support::todos_in(dir.path());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "debug")
        .env("JWT_SECRET", SECRET)
        .env("TODOS_MAIL_DIR", &mail_dir)
        .stderr(Stdio::piped());
    let mut server = support::serve(command).await;
    let base = server.address.clone();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |path: &str, body: Value, token: Option<&str>| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let credentials = json!({ "username": "alice", "password": PASSWORD });
    assert_eq!(
        post("/users/sign-up", credentials.clone(), None)
            .await
            .unwrap()
            .status(),
        201
    );
    let wrong = json!({ "username": "alice", "password": WRONG_PASSWORD });
    assert_eq!(
        post("/users/log-in", wrong, None).await.unwrap().status(),
        401
    );
    let login: Value = post("/users/log-in", credentials, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        post("/todos", json!({ "contents": "buy milk" }), Some(&token))
            .await
            .unwrap()
            .status(),
        201
    );
    let tampered = format!("{token}x");
    assert_eq!(
        post("/todos", json!({ "contents": "x" }), Some(&tampered))
            .await
            .unwrap()
            .status(),
        401
    );
    let email = json!({ "email": "alice@example.com" });
    assert_eq!(
        post("/users/email/otp", email, Some(&token))
            .await
            .unwrap()
            .status(),
        202
    );
    let code = support::read_code(&mail_dir, "verification code is ").await;
    let wrong_code = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let attempt = |otp: &str| json!({ "email": "alice@example.com", "otp": otp });
    assert_eq!(
        post(
            "/users/email/otp/verify",
            attempt(&wrong_code),
            Some(&token)
        )
        .await
        .unwrap()
        .status(),
        400
    );
    assert_eq!(
        post("/users/email/otp/verify", attempt(&code), Some(&token))
            .await
            .unwrap()
            .status(),
        200
    );

    // Refresh, replay the spent refresh token (reuse detection logs a
    // warning), log out.
    let refresh_token = login["refresh_token"].as_str().unwrap().to_owned();
    let refresh = json!({ "refresh_token": refresh_token });
    let refreshed: Value = post("/users/token/refresh", refresh.clone(), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_refresh_token = refreshed["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        post("/users/token/refresh", refresh, None)
            .await
            .unwrap()
            .status(),
        401
    );
    let new_token = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        post("/users/log-out", json!({}), Some(&new_token))
            .await
            .unwrap()
            .status(),
        401,
        "the replay ended the session"
    );

    // The account's lifecycle: change the password, reset it with a
    // mailed code (a wrong one first), delete the account.
    let send = |method: reqwest::Method, path: &str, body: Value, token: &str| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let credentials = json!({ "username": "alice", "password": PASSWORD });
    let login: Value = post("/users/log-in", credentials, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let third_token = login["access_token"].as_str().unwrap().to_owned();
    let change = json!({ "current_password": PASSWORD, "new_password": CHANGED_PASSWORD });
    assert_eq!(
        send(
            reqwest::Method::PUT,
            "/users/me/password",
            change,
            &third_token
        )
        .await
        .unwrap()
        .status(),
        204
    );
    assert_eq!(
        post(
            "/users/password/forgot",
            json!({ "email": "alice@example.com" }),
            None
        )
        .await
        .unwrap()
        .status(),
        202
    );
    let reset_code = support::read_code(&mail_dir, "password reset code is ").await;
    let wrong_reset_code = format!(
        "{:06}",
        (reset_code.parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let reset = |code: &str| json!({ "email": "alice@example.com", "code": code, "new_password": RESET_PASSWORD });
    assert_eq!(
        post("/users/password/reset", reset(&wrong_reset_code), None)
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post("/users/password/reset", reset(&reset_code), None)
            .await
            .unwrap()
            .status(),
        204
    );
    let credentials = json!({ "username": "alice", "password": RESET_PASSWORD });
    let login: Value = post("/users/log-in", credentials, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last_token = login["access_token"].as_str().unwrap().to_owned();
    for (password, status) in [(WRONG_PASSWORD, 401), (RESET_PASSWORD, 204)] {
        let body = json!({ "password": password });
        assert_eq!(
            send(reqwest::Method::DELETE, "/users/me", body, &last_token)
                .await
                .unwrap()
                .status(),
            status
        );
    }

    server.terminate().await;
    // All it wrote: the `listening on` line (read by `serve`), the rest of
    // stdout and the log on stderr.
    let mut rest = String::new();
    server.stdout.read_to_string(&mut rest).await.unwrap();
    let log = server.stderr.take().unwrap().await.unwrap();
    let output = format!("listening on {base}\n{rest}{log}");

    assert!(
        output.contains("DEBUG"),
        "debug logging was on: {output:.2000}"
    );
    assert!(
        output.contains("/users/email/otp/verify"),
        "requests were logged"
    );
    let token_signature = token.rsplit('.').next().unwrap();
    for (what, secret) in [
        ("password", PASSWORD),
        ("wrong password", WRONG_PASSWORD),
        ("token", token.as_str()),
        ("token signature", token_signature),
        ("refresh token", refresh_token.as_str()),
        ("new refresh token", new_refresh_token.as_str()),
        ("new token", new_token.as_str()),
        ("signing key", SECRET),
        ("OTP", code.as_str()),
        ("wrong OTP", wrong_code.as_str()),
        ("changed password", CHANGED_PASSWORD),
        ("reset password", RESET_PASSWORD),
        ("reset code", reset_code.as_str()),
        ("wrong reset code", wrong_reset_code.as_str()),
        ("third token", third_token.as_str()),
        ("last token", last_token.as_str()),
        ("argon2 hash", "$argon2id$"),
        ("bcrypt hash", "$2b$"),
    ] {
        assert!(!output.contains(secret), "the {what} appears in the logs");
    }
}
