//! Email verification with one-time passwords, end to end: codes are read
//! from the `.eml` files the app writes (TODOS_MAIL_DIR).

use std::time::Duration;

use serde_json::json;
use todos_tests::{
    TestApp, otp_in, retry_after_secs, smtp_sink, spawn_app, spawn_app_with, status_and_json,
};

const ANN: &str = "ann@example.com";

fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

/// Sends `attempts` wrong codes for ANN, each refused with 400.
async fn guess_wrong(app: &TestApp, token: &str, code: &str, attempts: usize) {
    for _ in 0..attempts {
        assert_eq!(
            app.verify_otp(token, ANN, &other_code(code)).await.status(),
            400
        );
    }
}

#[tokio::test]
async fn request_then_verify_marks_the_email_verified_and_confirms_by_mail() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;

    let response = app.request_otp(&token, ANN).await;
    assert_eq!(
        status_and_json(response).await,
        (202, json!({ "detail": "OTP sent" }))
    );
    let mails = app.emails_to(ANN, 1).await;
    assert_eq!(mails.len(), 1);
    let code = otp_in(&mails[0]);
    assert!(code.chars().all(|c| c.is_ascii_digit()) && code.len() == 6);

    let (status, user) = status_and_json(app.verify_otp(&token, ANN, &code).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        user,
        json!({ "id": user["id"], "username": "ann", "email": ANN, "email_verified": true })
    );
    let (_, me) = status_and_json(app.me(&token).await).await;
    assert_eq!(me, user);

    let mails = app.emails_to(ANN, 2).await;
    assert_eq!(mails.len(), 2, "a confirmation follows the code");
    let confirmation = mails
        .iter()
        .find(|m| m.contains("Subject: Your email address is verified"));
    assert!(!confirmation.expect("a confirmation email").contains(&code));

    // Single use.
    assert_eq!(
        status_and_json(app.verify_otp(&token, ANN, &code).await).await,
        (400, json!({ "detail": "Bad Request" }))
    );
}

#[tokio::test]
async fn four_wrong_attempts_then_the_right_code_succeed() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    let code = app.otp_for(&token, ANN).await;
    guess_wrong(&app, &token, &code, 4).await;
    assert_eq!(app.verify_otp(&token, ANN, &code).await.status(), 200);
}

#[tokio::test]
async fn five_wrong_attempts_void_the_code() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    let code = app.otp_for(&token, ANN).await;
    guess_wrong(&app, &token, &code, 5).await;
    assert_eq!(app.verify_otp(&token, ANN, &code).await.status(), 400);
    let (_, me) = status_and_json(app.me(&token).await).await;
    assert_eq!(
        (me["email"].clone(), me["email_verified"].clone()),
        (json!(null), json!(false))
    );
}

#[tokio::test]
async fn a_new_request_replaces_the_previous_code_and_resets_attempts() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    let first = app.otp_for(&token, ANN).await;
    guess_wrong(&app, &token, &first, 4).await;
    let second = app.otp_for(&token, ANN).await;
    if first != second {
        assert_eq!(app.verify_otp(&token, ANN, &first).await.status(), 400);
    }
    // Without a reset, the earlier attempts would void this code by now.
    guess_wrong(&app, &token, &second, 3).await;
    assert_eq!(app.verify_otp(&token, ANN, &second).await.status(), 200);
}

#[tokio::test]
async fn a_code_works_only_for_its_own_user_and_email() {
    let app = spawn_app().await;
    let ann = app.token_for("ann").await;
    let bob = app.token_for("bob").await;
    let code = app.otp_for(&ann, ANN).await;

    assert_eq!(app.verify_otp(&bob, ANN, &code).await.status(), 400);
    assert_eq!(
        app.verify_otp(&ann, "other@example.com", &code)
            .await
            .status(),
        400
    );
    assert_eq!(app.verify_otp(&ann, ANN, &code).await.status(), 200);
}

#[tokio::test]
async fn the_sixth_request_in_an_hour_is_429_with_retry_after() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    for n in 0..5 {
        let email = format!("ann{n}@example.com");
        assert_eq!(
            app.request_otp(&token, &email).await.status(),
            202,
            "request {n}"
        );
    }
    let response = app.request_otp(&token, "ann9@example.com").await;
    let retry_after = retry_after_secs(&response);
    assert!((3000..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(status_and_json(response).await.0, 429);
    assert!(app.emails_to("ann9@example.com", 0).await.is_empty());

    // Another user has a budget of their own.
    let bob = app.token_for("bob").await;
    assert_eq!(app.request_otp(&bob, "bob@example.com").await.status(), 202);
}

#[tokio::test]
async fn invalid_email_or_otp_is_422_naming_the_field() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    let too_long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
    for email in [
        "",
        "not-an-email",
        "a@b",
        "Ann <ann@example.com>",
        too_long.as_str(),
    ] {
        let (status, body) = status_and_json(app.request_otp(&token, email).await).await;
        assert_eq!(status, 422, "{email}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "email"]),
            "{email}"
        );
    }
    for otp in ["12345", "1234567", "abcdef", "12 456", ""] {
        let (status, body) = status_and_json(app.verify_otp(&token, ANN, otp).await).await;
        assert_eq!(status, 422, "{otp}");
        assert_eq!(body["detail"][0]["loc"], json!(["body", "otp"]), "{otp}");
    }
    let response = app
        .client
        .post(app.url("/users/email/otp/verify"))
        .bearer_auth(&token)
        .json(&json!({ "email": ANN, "otp": 123456 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_json(response).await.0,
        422,
        "a number is not a string of digits"
    );
    assert!(app.emails_to(ANN, 0).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn otp_routes_need_a_token() {
    let app = spawn_app().await;
    let response = app.request_otp("garbage", ANN).await;
    assert_eq!(
        status_and_json(response).await,
        (401, json!({ "detail": "Not Authorized" }))
    );
    let response = app.verify_otp("garbage", ANN, "123456").await;
    assert_eq!(status_and_json(response).await.0, 401);
}

#[tokio::test]
async fn an_address_verified_by_one_user_is_409_for_another() {
    let app = spawn_app().await;
    let ann = app.token_for("ann").await;
    let bob = app.token_for("bob").await;
    let code = app.otp_for(&ann, ANN).await;
    assert_eq!(app.verify_otp(&ann, ANN, &code).await.status(), 200);

    let code = app.otp_for(&bob, ANN).await;
    let (status, body) = status_and_json(app.verify_otp(&bob, ANN, &code).await).await;
    assert_eq!(status, 409, "{body}");
}

/// The mail server takes 2 s to even greet; the 202 must not wait for it.
#[tokio::test]
async fn the_response_does_not_wait_for_a_slow_mail_server() {
    let mut sink = smtp_sink::start(Duration::from_secs(2)).await;
    let url = sink.url.clone();
    let app: TestApp = spawn_app_with(|settings| {
        settings.mail.dir = None;
        settings.mail.smtp_url = Some(url);
    })
    .await;
    let token = app.token_for("ann").await;

    assert_eq!(app.request_otp(&token, ANN).await.status(), 202);
    // Ordering, not timing: the answer came while the server still stalls.
    assert!(
        sink.received.try_recv().is_err(),
        "the response waited for delivery"
    );

    let message = tokio::time::timeout(Duration::from_secs(15), sink.received.recv())
        .await
        .expect("delivered in the background")
        .unwrap();
    assert!(message.contains("verification code is"), "{message}");
}

/// Shutdown waits for queued email: the code still goes out.
#[tokio::test]
async fn shutdown_delivers_queued_mail_before_exiting() {
    let mut sink = smtp_sink::start(Duration::from_millis(1500)).await;
    let url = sink.url.clone();
    let app = spawn_app_with(|settings| {
        settings.mail.dir = None;
        settings.mail.smtp_url = Some(url);
    })
    .await;
    let token = app.token_for("ann").await;
    assert_eq!(app.request_otp(&token, ANN).await.status(), 202);
    assert!(sink.received.try_recv().is_err(), "still queued");

    app.shut_down().await.unwrap();

    let message = sink
        .received
        .try_recv()
        .expect("delivered before shutdown returned");
    assert!(message.contains("verification code is"), "{message}");
}
