//! Email addresses (README: "Usernames and email addresses"): plain
//! `local@domain` only, unique among verified addresses whatever their
//! letter case, stored as given; and the upgrade that keys existing rows
//! refuses, with a way to list them, when they already clash.

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use todos_app::Application;
use todos_persistence::{DatabaseSettings, entity::user};
use todos_tests::{
    LEGACY_PASSWORD, database_before, insert_user_row, spawn_app, spawn_app_on, status_and_json,
    test_settings,
};

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

/// A right code that met a 409 is not used up: once the address is free
/// again, the same code verifies it.
#[tokio::test]
async fn a_right_code_refused_with_409_still_works_once_the_address_is_free() {
    let app = spawn_app().await;
    let ann = app.token_for("ann").await;
    let bob = app.token_for("bob").await;
    let code = app.otp_for(&ann, "shared@example.com").await;
    let (status, me) = status_and_json(app.verify_email(&bob, "shared@example.com").await).await;
    assert_eq!(status, 200, "{me}");

    assert_eq!(
        status_and_json(app.verify_otp(&ann, "shared@example.com", &code).await).await,
        (409, json!({ "detail": "Email Already In Use" }))
    );
    assert_eq!(app.delete_account(&bob, "password123").await.status(), 204);

    let (status, me) =
        status_and_json(app.verify_otp(&ann, "shared@example.com", &code).await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "shared@example.com");
    // Still one use: the code is gone now.
    assert_eq!(
        app.verify_otp(&ann, "shared@example.com", &code)
            .await
            .status(),
        400
    );
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

const EMAIL_KEY_MIGRATION: &str = "m20261201_000005_add_user_email_key";

/// Two accounts verified `a@x.co` and `A@X.CO` under the previous release:
/// the service refuses to start, naming the count and the subcommand; the
/// subcommand lists both without migrating; with one cleared, it starts.
#[tokio::test]
async fn clashing_addresses_stop_the_upgrade_until_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_before(&dir, EMAIL_KEY_MIGRATION).await;
    let first = insert_user_row(&url, "first", Some("a@x.co")).await;
    let second = insert_user_row(&url, "second", Some("A@X.CO")).await;
    insert_user_row(&url, "third", Some("other@x.co")).await;

    let err = match Application::build(test_settings(&dir, url.clone())).await {
        Ok(_) => panic!("the service started on clashing addresses"),
        Err(err) => format!("{err:#}"),
    };
    assert!(
        err.contains("1 address(es) verified by 2 accounts")
            && err.contains("todos email-duplicates"),
        "{err}"
    );

    let clashes = todos_app::email_duplicates(&DatabaseSettings::new(url.clone()))
        .await
        .unwrap();
    assert_eq!(clashes.len(), 1);
    assert_eq!(clashes[0].key.as_str(), "a@x.co");
    assert_eq!(
        clashes[0].accounts,
        vec![(first, "a@x.co".to_owned()), (second, "A@X.CO".to_owned())]
    );
    let report = todos_app::email_duplicates_report(&clashes);
    assert!(
        report.contains(&format!("user {first}  a@x.co"))
            && report.contains(&format!("user {second}  A@X.CO")),
        "{report}"
    );

    clear_email(&url, second).await;
    assert!(
        todos_app::email_duplicates(&DatabaseSettings::new(url.clone()))
            .await
            .unwrap()
            .is_empty()
    );
    let app = spawn_app_on(&url).await;

    // The upgrade keyed the remaining row, and the key is unique.
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let row = user::Entity::find_by_id(first)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.email.as_deref(), Some("a@x.co"));
    assert_eq!(row.email_key.as_deref(), Some("a@x.co"));
    db.close().await.unwrap();
    let (status, body) = status_and_json(app.log_in("second", LEGACY_PASSWORD).await).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, body): (u16, Value) =
        status_and_json(app.verify_email(&token, "A@x.CO").await).await;
    assert_eq!(
        (status, body),
        (409, json!({ "detail": "Email Already In Use" }))
    );
}

/// What an operator does to keep one account per address.
async fn clear_email(url: &str, id: i64) {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let db = sea_orm::Database::connect(url).await.unwrap();
    user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(None::<String>))
        .col_expr(user::Column::EmailVerified, Expr::value(false))
        .filter(user::Column::Id.eq(id))
        .exec(&db)
        .await
        .unwrap();
    db.close().await.unwrap();
}
