//! Regressions for what schema fuzzing (`scripts/fuzz.sh`, schemathesis)
//! found: the document must describe exactly what the service accepts.

use serde_json::{Value, json};
use todos_domain::Username;
use todos_tests::{spawn_app, status_and_json};
use unicode_normalization::is_nfc;

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
        "al\u{200b}ice",
        "\u{202e}ecila",
        "a\u{ad}b",
        "x\u{fffb}",
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

/// Each code point between two letters: the documented pattern and
/// `Username::parse` agree, but where the description says a regex cannot
/// follow: names not in NFC, and the format characters beyond U+FFFF it
/// lists (portable patterns name only the BMP).
#[tokio::test]
async fn sign_up_username_pattern_agrees_with_the_rules_on_every_code_point() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    let username = &request_schema(&document, "/users/sign-up", "post")["properties"]["username"];
    let pattern = regex::Regex::new(username["pattern"].as_str().unwrap()).unwrap();
    let description = username["description"].as_str().expect("a description");
    assert!(description.contains("NFC"), "{description}");

    let mut undocumented: Vec<(u32, u32)> = Vec::new();
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let name = format!("x{c}x");
        let documented = pattern.is_match(&name);
        if documented == Username::parse(name.as_str()).is_ok() || (documented && !is_nfc(&name)) {
            continue;
        }
        let code = c as u32;
        assert!(
            documented && code > 0xFFFF,
            "U+{code:04X}: the pattern says {documented}, the service the opposite"
        );
        match undocumented.last_mut() {
            Some((_, end)) if *end + 1 == code => *end = code,
            _ => undocumented.push((code, code)),
        }
    }
    assert!(!undocumented.is_empty());
    for (start, end) in undocumented {
        let named = if start == end {
            format!("U+{start:04X}")
        } else {
            format!("U+{start:04X}–U+{end:04X}")
        };
        assert!(
            description.contains(&named),
            "{named} is not in: {description}"
        );
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
