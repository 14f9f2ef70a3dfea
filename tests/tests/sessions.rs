//! Sessions (README: "Sessions"): log-in answers, log-out, the session
//! list, ending sessions, refresh rotation with reuse detection, and the
//! order of the bearer checks. On SQLite, and on MariaDB/PostgreSQL and
//! Redis when DATABASE_URL / REDIS_URL are set. JSON objects are read into
//! sorted maps here, so field lists compare in sorted order.

use std::time::Duration;

use serde_json::{Value, json};
use todos_tests::{TestApp, claims_of, spawn_app, spawn_app_with, status_and_json};

const PASSWORD: &str = "password123";

fn str_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {body}"))
}

/// Signs `name` up and logs in: the log-in body.
async fn session_of(app: &TestApp, name: &str) -> Value {
    assert_eq!(app.sign_up(name, PASSWORD).await.status(), 201);
    app.log_in_ok(name, PASSWORD).await
}

fn not_authorized() -> (u16, Value) {
    (401, json!({ "detail": "Not Authorized" }))
}

#[tokio::test]
async fn log_in_answers_an_access_token_of_a_session_and_a_refresh_token() {
    let app = spawn_app().await;
    let body = session_of(&app, "alice").await;

    let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["access_token", "expires_in", "refresh_token", "token_type"],
        "{body}"
    );
    assert_eq!(body["token_type"], "bearer");
    let claims = claims_of(str_of(&body, "access_token"));
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        body["expires_in"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap()
    );
    assert_eq!(str_of(&claims, "sid").len(), 32);
    assert!(!str_of(&claims, "jti").is_empty());
    let refresh = str_of(&body, "refresh_token");
    assert!(refresh.len() >= 43, "at least 256 bits: {refresh}");
    assert_ne!(
        str_of(&app.log_in_ok("alice", PASSWORD).await, "refresh_token"),
        refresh
    );
}

#[tokio::test]
async fn log_out_ends_the_session_and_only_it() {
    let app = spawn_app().await;
    let first = session_of(&app, "alice").await;
    let second = app.log_in_ok("alice", PASSWORD).await;
    let (token, other) = (
        str_of(&first, "access_token"),
        str_of(&second, "access_token"),
    );

    let response = app.log_out(token).await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.unwrap(), "");

    assert_eq!(status_and_json(app.me(token).await).await, not_authorized());
    assert_eq!(
        status_and_json(app.refresh(str_of(&first, "refresh_token")).await).await,
        not_authorized(),
        "its refresh token stops working too"
    );
    assert_eq!(app.me(other).await.status(), 200, "the other session lives");
    assert_eq!(
        status_and_json(app.log_out(token).await).await,
        not_authorized()
    );
}

#[tokio::test]
async fn the_session_list_shows_live_sessions_newest_first_and_marks_the_current() {
    let app = spawn_app().await;
    let first = session_of(&app, "alice").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = app.log_in_ok("alice", PASSWORD).await;
    let ended = app.log_in_ok("alice", PASSWORD).await;
    assert_eq!(
        app.log_out(str_of(&ended, "access_token")).await.status(),
        204
    );
    session_of(&app, "bob").await;

    let (status, body) = status_and_json(app.sessions(str_of(&first, "access_token")).await).await;
    assert_eq!(status, 200, "{body}");
    let sessions = body["sessions"].as_array().unwrap();
    let ids: Vec<&str> = sessions.iter().map(|s| str_of(s, "id")).collect();
    let sid = |body: &Value| claims_of(str_of(body, "access_token"))["sid"].clone();
    assert_eq!(
        ids,
        [sid(&second), sid(&first)],
        "newest first, live only, own only"
    );
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["current"], true);
    for session in sessions {
        let keys: Vec<&String> = session.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["created_at", "current", "expires_at", "id"]);
        let created = str_of(session, "created_at");
        assert!(
            created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
            "RFC 3339 UTC: {created}"
        );
        assert!(str_of(session, "expires_at") > created);
    }
}

#[tokio::test]
async fn ending_one_session_by_id() {
    let app = spawn_app().await;
    let mine = session_of(&app, "alice").await;
    let other = app.log_in_ok("alice", PASSWORD).await;
    let bobs = session_of(&app, "bob").await;
    let token = str_of(&mine, "access_token");
    let sid = |body: &Value| {
        claims_of(str_of(body, "access_token"))["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let not_found = (404, json!({ "detail": "Session Not Found" }));

    assert_eq!(
        status_and_json(app.end_sessions(token, Some(&sid(&bobs))).await).await,
        not_found,
        "another user's"
    );
    assert_eq!(app.me(str_of(&bobs, "access_token")).await.status(), 200);
    for malformed in ["nope", "1", "%ZZ", "0123456789abcdef0123456789abcdef"] {
        assert_eq!(
            status_and_json(app.end_sessions(token, Some(malformed)).await).await,
            not_found,
            "{malformed}"
        );
    }

    let response = app.end_sessions(token, Some(&sid(&other))).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        status_and_json(app.me(str_of(&other, "access_token")).await).await,
        not_authorized()
    );
    assert_eq!(
        status_and_json(app.end_sessions(token, Some(&sid(&other))).await).await,
        not_found,
        "ended already"
    );
    assert_eq!(app.me(token).await.status(), 200);
}

#[tokio::test]
async fn ending_every_session_includes_the_current_one() {
    let app = spawn_app().await;
    let first = session_of(&app, "alice").await;
    let second = app.log_in_ok("alice", PASSWORD).await;
    let bobs = session_of(&app, "bob").await;

    let response = app.end_sessions(str_of(&first, "access_token"), None).await;
    assert_eq!(response.status(), 204);

    for body in [&first, &second] {
        assert_eq!(
            status_and_json(app.me(str_of(body, "access_token")).await).await,
            not_authorized()
        );
        assert_eq!(
            app.refresh(str_of(body, "refresh_token")).await.status(),
            401
        );
    }
    assert_eq!(app.me(str_of(&bobs, "access_token")).await.status(), 200);
}

#[tokio::test]
async fn a_refresh_rotates_both_tokens_within_the_same_session() {
    let app = spawn_app().await;
    let login = session_of(&app, "alice").await;

    let (status, refreshed) =
        status_and_json(app.refresh(str_of(&login, "refresh_token")).await).await;
    assert_eq!(status, 200, "{refreshed}");
    let fields: Vec<&String> = refreshed.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );
    assert_ne!(refreshed["refresh_token"], login["refresh_token"]);
    let (old, new) = (
        claims_of(str_of(&login, "access_token")),
        claims_of(str_of(&refreshed, "access_token")),
    );
    assert_eq!(new["sid"], old["sid"], "the same session");
    assert_ne!(new["jti"], old["jti"]);
    assert_eq!(
        app.me(str_of(&refreshed, "access_token")).await.status(),
        200
    );
    assert_eq!(
        app.me(str_of(&login, "access_token")).await.status(),
        200,
        "the session is live, so its earlier access token still works until it expires"
    );

    // The new refresh token works once more, and so on.
    let (status, again) =
        status_and_json(app.refresh(str_of(&refreshed, "refresh_token")).await).await;
    assert_eq!(status, 200, "{again}");
}

#[tokio::test]
async fn a_spent_refresh_token_presented_again_ends_the_whole_session() {
    let app = spawn_app().await;
    let login = session_of(&app, "alice").await;
    let other = app.log_in_ok("alice", PASSWORD).await;
    let refreshed: Value = app
        .refresh(str_of(&login, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        status_and_json(app.refresh(str_of(&login, "refresh_token")).await).await,
        not_authorized(),
        "spent"
    );

    for token in [
        str_of(&refreshed, "access_token"),
        str_of(&login, "access_token"),
    ] {
        assert_eq!(status_and_json(app.me(token).await).await, not_authorized());
    }
    assert_eq!(
        app.refresh(str_of(&refreshed, "refresh_token"))
            .await
            .status(),
        401,
        "the thief's or the owner's newer token dies with the session"
    );
    assert_eq!(
        app.me(str_of(&other, "access_token")).await.status(),
        200,
        "other sessions live on"
    );
}

#[tokio::test]
async fn unknown_and_malformed_refresh_tokens() {
    let app = spawn_app().await;
    for token in ["", "x", &"0".repeat(64)] {
        assert_eq!(
            status_and_json(app.refresh(token).await).await,
            not_authorized(),
            "{token:?}"
        );
    }
    for body in [json!({}), json!({ "refresh_token": 7 }), json!([])] {
        let response = app.post_json("/users/token/refresh", &body).await;
        assert_eq!(response.status(), 422, "{body}");
    }
}

#[tokio::test]
async fn of_concurrent_refreshes_with_one_token_exactly_one_succeeds() {
    let app = spawn_app().await;
    let login = session_of(&app, "alice").await;
    let token = str_of(&login, "refresh_token");

    let statuses: Vec<u16> = futures_util::future::join_all(
        (0..8).map(|_| async { app.refresh(token).await.status().as_u16() }),
    )
    .await;

    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 401),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_session_outlives_no_access_token_and_ends_on_its_own() {
    let app = spawn_app_with(|settings| {
        settings.session_lifetime = Duration::from_secs(2);
    })
    .await;
    let login = session_of(&app, "alice").await;
    let expires_in = login["expires_in"].as_u64().unwrap();
    assert!(expires_in <= 2, "bounded by the session: {expires_in}");

    tokio::time::sleep(Duration::from_millis(3100)).await;

    assert_eq!(
        app.refresh(str_of(&login, "refresh_token")).await.status(),
        401
    );
    let (status, sessions) = status_and_json(
        app.sessions(str_of(
            &app.log_in_ok("alice", PASSWORD).await,
            "access_token",
        ))
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        sessions["sessions"].as_array().unwrap().len(),
        1,
        "{sessions}"
    );
}

#[tokio::test]
async fn a_deleted_user_is_404_before_the_session_is_checked() {
    let app = spawn_app().await;
    let login = session_of(&app, "ghost").await;
    let token = str_of(&login, "access_token");
    app.delete_user_row("ghost").await;

    assert_eq!(
        status_and_json(app.me(token).await).await,
        (404, json!({ "detail": "User Not Found" })),
        "user first, then session"
    );
    // Recreated under the same name: the old session is not the new account's.
    let fresh = session_of(&app, "ghost").await;
    assert_eq!(app.me(str_of(&fresh, "access_token")).await.status(), 200);
    assert_eq!(status_and_json(app.me(token).await).await, not_authorized());
}

#[tokio::test]
async fn log_out_on_one_instance_is_refused_on_the_other_at_once() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let login = session_of(&a, "alice").await;
    let token = str_of(&login, "access_token");
    assert_eq!(b.me(token).await.status(), 200);

    assert_eq!(a.log_out(token).await.status(), 204);

    assert_eq!(status_and_json(b.me(token).await).await, not_authorized());
    assert_eq!(
        b.refresh(str_of(&login, "refresh_token")).await.status(),
        401
    );
}
