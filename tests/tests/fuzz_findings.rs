//! Regressions for what schema fuzzing (`scripts/fuzz.sh`, schemathesis)
//! found: the document must describe exactly what the service accepts.

use serde_json::{Value, json};
use todos_tests::{spawn_app, status_and_json};

/// The schema of an operation's JSON request body, references resolved.
fn request_schema<'a>(document: &'a Value, path: &str, method: &str) -> &'a Value {
    let schema =
        &document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &document["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// schemathesis sent `{"username": "\u0000v°KZ…", …}` to sign-up: valid for
/// the document (only lengths were given), 422 from the service (control
/// characters). The document now carries a `pattern`, and it must agree
/// with the service both ways on names at the edges of the rules.
#[tokio::test]
async fn sign_up_username_pattern_matches_what_the_service_accepts() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    let username = &request_schema(&document, "/users/sign-up", "post")["properties"]["username"];
    assert_eq!(username["minLength"], 1);
    assert_eq!(username["maxLength"], 256);
    let pattern = regex::Regex::new(username["pattern"].as_str().expect("a pattern")).unwrap();

    let names = [
        "alice",
        "a",
        "al ice",
        "Ünïcødé 名前",
        "a\u{feff}",
        "\u{200b}zero-width-space",
        "x y\u{a0}z",
        " alice",
        "alice ",
        "\u{a0}alice",
        "alice\u{3000}",
        "\u{2028}alice",
        "a\u{0}b",
        "\u{0}v°KZ",
        "a\tb",
        "tab\t",
        "a\nb",
        "a\u{7f}",
        "a\u{85}b",
        "a\u{9f}",
    ];
    for (i, name) in names.iter().enumerate() {
        let documented_valid = pattern.is_match(name);
        let response = app.sign_up(name, "password123").await;
        let status = response.status().as_u16();
        assert_eq!(
            documented_valid,
            status == 201,
            "name #{i} {name:?}: pattern says {documented_valid}, service answered {status}"
        );
        if status != 201 {
            let (status, body) = status_and_json(response).await;
            assert_eq!(status, 422);
            assert_eq!(body["detail"][0]["loc"], json!(["body", "username"]));
        }
    }
}

/// Log-in checks only lengths (accounts from the old service's rules must
/// get in), so its body is not sign-up's: a short password is a wrong
/// password (401), not an invalid body, and the document says so.
#[tokio::test]
async fn log_in_body_is_documented_with_log_in_rules() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    let body = request_schema(&document, "/users/log-in", "post");
    assert_eq!(body["properties"]["password"]["minLength"], 1);
    assert_eq!(body["properties"]["password"]["maxLength"], 1024);
    // Only NUL is excluded (PostgreSQL cannot store it); no sign-up rules.
    assert_eq!(body["properties"]["username"]["pattern"], r"^[^\u0000]*$");

    app.sign_up("dave", "password123").await;
    assert_eq!(
        status_and_json(app.log_in("dave", "short").await).await,
        (401, json!({ "detail": "Not Authorized" }))
    );
    assert_eq!(app.log_in(" dave", "x").await.status(), 404);
}
