//! Usernames that look alike or hide characters (README: "Usernames and
//! email addresses"): sign-up refuses a confusable of a taken name (409)
//! unless both are ASCII, and names that are not NFC or hold format
//! characters (422); names compare by exact code points on every database.

use serde_json::json;
use todos_tests::{TestApp, spawn_app, status_and_json};

async fn assert_taken(app: &TestApp, name: &str) {
    assert_eq!(
        status_and_json(app.sign_up(name, "password123").await).await,
        (409, json!({ "detail": "Username Already Taken" })),
        "{name:?}"
    );
}

async fn assert_created(app: &TestApp, name: &str) {
    let (status, body) = status_and_json(app.sign_up(name, "password123").await).await;
    assert_eq!(status, 201, "{name:?}: {body}");
    assert_eq!(body["username"], name, "stored as given");
}

#[tokio::test]
async fn a_cyrillic_look_alike_is_taken_whichever_came_first() {
    let app = spawn_app().await;
    // U+0430 CYRILLIC SMALL LETTER A beside Latin `a`.
    assert_created(&app, "alice").await;
    assert_taken(&app, "\u{430}lice").await;

    // U+043E CYRILLIC SMALL LETTER O first, then the Latin name.
    assert_created(&app, "b\u{43e}b").await;
    assert_taken(&app, "bob").await;
    assert_eq!(app.log_in("bob", "password123").await.status(), 404);
}

#[tokio::test]
async fn fullwidth_letters_are_a_look_alike() {
    let app = spawn_app().await;
    assert_created(&app, "alice").await;
    // Fullwidth ａｌｉｃｅ is NFC (only NFKC would fold it), so it passes
    // the 422 rules; its TR39 skeleton is `alice`, so it is taken.
    assert_taken(&app, "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}").await;
}

#[tokio::test]
async fn ascii_names_stay_as_they_were() {
    let app = spawn_app().await;
    // `rn` and `m` share a skeleton, but both are ASCII.
    assert_created(&app, "rn").await;
    assert_created(&app, "m").await;
    // Letter case matters, as it always did.
    assert_created(&app, "Alice").await;
    assert_created(&app, "alice").await;
    assert_taken(&app, "alice").await;
}

#[tokio::test]
async fn names_not_in_nfc_or_with_format_characters_are_422() {
    let app = spawn_app().await;
    for name in [
        "jose\u{301}",    // NFD josé: e + COMBINING ACUTE ACCENT
        "al\u{200b}ice",  // ZERO WIDTH SPACE inside
        "\u{200b}",       // nothing but one
        "a\u{200d}b",     // ZERO WIDTH JOINER
        "\u{202e}ecila",  // RIGHT-TO-LEFT OVERRIDE
        "alice\u{2066}",  // LEFT-TO-RIGHT ISOLATE
        "\u{feff}alice",  // BYTE ORDER MARK
        "alice\u{e0041}", // TAG LATIN CAPITAL LETTER A (beyond the BMP)
    ] {
        let (status, body) = status_and_json(app.sign_up(name, "password123").await).await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", "username"]),
            "{name:?}"
        );
    }
    // The NFC spelling is a name like any other.
    assert_created(&app, "jos\u{e9}").await;
}

/// MariaDB's `utf8mb4_bin` ignores trailing spaces (PAD SPACE); the
/// migration makes the column NO PAD, so on every database a log-in name
/// with a trailing space (log-in names are loose) is another name.
#[tokio::test]
async fn a_trailing_space_is_another_name_at_log_in() {
    let app = spawn_app().await;
    assert_created(&app, "alice").await;
    assert_eq!(
        status_and_json(app.log_in("alice ", "password123").await).await,
        (404, json!({ "detail": "User Not Found" }))
    );
    assert_eq!(app.log_in("alice", "password123").await.status(), 200);
}
