//! Email addresses (README: "Usernames and email addresses"): plain
//! `local@domain` only, unique among verified addresses whatever their
//! letter case, stored as given.

use serde_json::json;
use todos_tests::{spawn_app, status_and_json};

#[tokio::test]
async fn a_verified_address_in_another_letter_case_is_409() {
    let app = spawn_app().await;
    let ann = app.token_for("ann").await;
    let bob = app.token_for("bob").await;

    let (status, me) = status_and_json(app.verify_email(&ann, "shared@example.com").await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        status_and_json(app.verify_email(&bob, "SHARED@example.com").await).await,
        (409, json!({ "detail": "Email Already In Use" }))
    );

    // Stored and shown as given.
    let (status, me) = status_and_json(app.verify_email(&bob, "Bob@Example.COM").await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "Bob@Example.COM");
    let (_, me) = status_and_json(app.me(&bob).await).await;
    assert_eq!(me["email"], "Bob@Example.COM");
}

#[tokio::test]
async fn quoted_local_parts_and_ip_literals_are_422_and_spend_no_quota() {
    let app = spawn_app().await;
    let token = app.token_for("ann").await;
    for email in [
        "\"a b\"@example.com",
        "\"ann\"@example.com",
        "ann@[127.0.0.1]",
        "ann@[IPv6:::1]",
        "ann(comment)@example.com",
    ] {
        let (status, body) = status_and_json(app.request_otp(&token, email).await).await;
        assert_eq!(status, 422, "{email}: {body}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "email"]),
            "{email}"
        );
    }
    // The refusals did not count: all 5 requests of the hour remain.
    for n in 0..5 {
        let email = format!("ann{n}@example.com");
        assert_eq!(
            app.request_otp(&token, &email).await.status(),
            202,
            "{email}"
        );
    }
    assert_eq!(
        app.request_otp(&token, "ann5@example.com").await.status(),
        429
    );
}
