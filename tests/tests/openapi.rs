//! The OpenAPI document and the router agree.
//!
//! axum cannot list a router's routes, so the router's side is found out by
//! asking it: every documented path answers every documented method (no
//! router 404 or 405), answers 405 to every other method, and the paths
//! around the documented ones (prefixes, trailing slashes, extra segments)
//! are 404. Then each operation is driven into each outcome it can have,
//! and the statuses seen must be exactly the documented ones.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Value, json};
use todos_app::config::RedisSettings;
use todos_tests::{
    OTP_MARKER, TestApp, claims_of, services::free_port, spawn_app, spawn_app_with, status_and_json,
};

/// Methods probed on every documented path. HEAD is left out: HTTP makes
/// it answer wherever GET does, and OpenAPI does not list it.
const PROBED_METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// Served beside the API but, as in FastAPI, not described by the document.
const DOCUMENTATION_ROUTES: [&str; 2] = ["/openapi.json", "/docs"];

/// `(METHOD, path template)`, as the document keys operations.
type Operation = (String, String);

/// Every operation of the document with its documented status codes.
fn documented_operations(document: &Value) -> BTreeMap<Operation, BTreeSet<u16>> {
    let mut operations = BTreeMap::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            let statuses = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|status| status.parse().expect("a numeric status"))
                .collect();
            operations.insert((method.to_uppercase(), path.clone()), statuses);
        }
    }
    operations
}

/// A concrete URL path for a template: `{id}` becomes an id that parses.
fn concrete(template: &str) -> String {
    template.replace("{id}", "1")
}

/// Whether `path` fits `template`, a `{param}` segment fitting any segment.
fn matches(template: &str, path: &str) -> bool {
    let (template, path): (Vec<_>, Vec<_>) =
        (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
}

/// The router's own "no such route" and "no such method" answers, told
/// apart from a handler's 404 (`User Not Found`, `ToDo Not Found`).
async fn routing_outcome(app: &TestApp, method: Method, path: &str) -> Option<u16> {
    let response = app
        .client
        .request(method, app.url(path))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match (status, body["detail"].as_str()) {
        (404, Some("Not Found")) | (405, Some("Method Not Allowed")) => Some(status),
        _ => None,
    }
}

#[tokio::test]
async fn the_router_serves_exactly_the_documented_paths_and_methods() {
    let app = spawn_app().await;
    let operations = documented_operations(&app.openapi_document().await);
    let paths: BTreeSet<&str> = operations.keys().map(|(_, path)| path.as_str()).collect();
    assert!(paths.len() >= 6, "{paths:?}");

    for path in &paths {
        for method in PROBED_METHODS {
            let documented = operations.contains_key(&(method.to_string(), path.to_string()));
            let outcome = routing_outcome(&app, method.clone(), &concrete(path)).await;
            if documented {
                assert_eq!(outcome, None, "{method} {path} is documented, not routed");
            } else {
                assert_eq!(
                    outcome,
                    Some(405),
                    "{method} {path} is routed but not documented"
                );
            }
        }
    }

    // Nothing undocumented hides beside the documented paths.
    let mut neighbours = BTreeSet::new();
    for path in &paths {
        let path = concrete(path);
        let mut prefix = String::new();
        for segment in path.trim_start_matches('/').split('/') {
            prefix.push('/');
            prefix.push_str(segment);
            neighbours.insert(prefix.clone());
        }
        neighbours.insert(format!("{path}/"));
        neighbours.insert(format!("{}/extra", path.trim_end_matches('/')));
    }
    for path in &neighbours {
        let documentation = DOCUMENTATION_ROUTES.iter().any(|d| path.starts_with(d));
        if documentation || paths.iter().any(|template| matches(template, path)) {
            continue;
        }
        for method in PROBED_METHODS {
            assert_eq!(
                routing_outcome(&app, method.clone(), path).await,
                Some(404),
                "{method} {path} is routed but not documented"
            );
        }
    }
}

/// Statuses seen per operation while driving the application.
#[derive(Default)]
struct Observed(BTreeMap<Operation, BTreeSet<u16>>);

impl Observed {
    /// Sends one request and records its status under `template`.
    async fn call(
        &mut self,
        app: &TestApp,
        method: Method,
        template: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = app.client.request(method.clone(), app.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(method, template, token, request).await
    }

    /// Like [`Observed::call`], with a body over the 64 KiB limit.
    async fn call_oversized(
        &mut self,
        app: &TestApp,
        method: Method,
        template: &str,
        path: &str,
        token: Option<&str>,
    ) {
        let request = app
            .client
            .request(method.clone(), app.url(path))
            .header("content-type", "application/json")
            .body(vec![b' '; 64 * 1024 + 1]);
        self.send(method, template, token, request).await;
    }

    /// Sends `request`, with `token` as the bearer if any, and records its
    /// status under `template`.
    async fn send(
        &mut self,
        method: Method,
        template: &str,
        token: Option<&str>,
        mut request: reqwest::RequestBuilder,
    ) -> reqwest::Response {
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        self.0
            .entry((method.to_string(), template.to_owned()))
            .or_default()
            .insert(response.status().as_u16());
        response
    }
}

/// Operations whose 503 comes from the cache, which a test can take away;
/// the others get theirs from the embedded database, which it cannot.
const CACHE_BACKED: [(&str, &str); 5] = [
    ("GET", "/health/ready"),
    ("POST", "/users/email/otp"),
    ("POST", "/users/email/otp/verify"),
    ("POST", "/users/password/forgot"),
    ("POST", "/users/password/reset"),
];

#[tokio::test]
async fn every_status_an_operation_returns_is_documented_and_vice_versa() {
    let app = spawn_app().await;
    let documented = documented_operations(&app.openapi_document().await);
    let mut seen = Observed::default();
    let password = "password123";
    let creds = json!({ "username": "ann", "password": password });
    let email = "ann@example.com";
    use Method as M;

    // Meta.
    seen.call(&app, M::GET, "/", "/", None, None).await;
    let r = "/health/ready";
    seen.call(&app, M::GET, r, r, None, None).await;

    // Accounts.
    let r = "/users/sign-up";
    seen.call(&app, M::POST, r, r, None, Some(&creds)).await;
    seen.call(&app, M::POST, r, r, None, Some(&creds)).await; // 409
    seen.call(&app, M::POST, r, r, None, Some(&json!({}))).await;
    seen.call_oversized(&app, M::POST, r, r, None).await;
    let limited = spawn_app_with(|settings| settings.signup_limit = 1).await;
    seen.call(&limited, M::POST, r, r, None, Some(&creds)).await;
    seen.call(&limited, M::POST, r, r, None, Some(&creds)).await; // 429

    let r = "/users/log-in";
    let response = seen.call(&app, M::POST, r, r, None, Some(&creds)).await;
    let token = status_and_json(response).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = token.as_str();
    let wrong = json!({ "username": "ann", "password": "wrong-password" });
    seen.call(&app, M::POST, r, r, None, Some(&wrong)).await;
    let nobody = json!({ "username": "nobody", "password": password });
    seen.call(&app, M::POST, r, r, None, Some(&nobody)).await;
    seen.call(&app, M::POST, r, r, None, Some(&json!({}))).await;
    seen.call_oversized(&app, M::POST, r, r, None).await;
    app.sign_up("locked", password).await;
    let guess = json!({ "username": "locked", "password": "wrong-password" });
    for _ in 0..10 {
        app.post_json(r, &guess).await;
    }
    seen.call(&app, M::POST, r, r, None, Some(&guess)).await; // 429

    // A valid token whose user is gone: 404 on every protected route.
    let ghost = app.token_for("ghost").await;
    app.delete_user_row("ghost").await;
    let ghost = ghost.as_str();

    let r = "/users/me";
    seen.call(&app, M::GET, r, r, Some(token), None).await;
    seen.call(&app, M::GET, r, r, None, None).await;
    seen.call(&app, M::GET, r, r, Some(ghost), None).await;

    // Email verification.
    let r = "/users/email/otp";
    let body = json!({ "email": email });
    seen.call(&app, M::POST, r, r, Some(token), Some(&body))
        .await;
    // Its email goes out in the background: let it land before `otp_for`
    // below tells its own code email apart from the ones before it.
    assert_eq!(app.emails_containing(email, OTP_MARKER, 1).await.len(), 1);
    seen.call(&app, M::POST, r, r, None, Some(&body)).await;
    seen.call(&app, M::POST, r, r, Some(ghost), Some(&body))
        .await;
    let bad_email = json!({ "email": "not-an-address" });
    seen.call(&app, M::POST, r, r, Some(token), Some(&bad_email))
        .await;
    seen.call_oversized(&app, M::POST, r, r, Some(token)).await;

    let r = "/users/email/otp/verify";
    let otp = app.otp_for(token, email).await; // the second request of five
    let wrong_otp = if otp == "000000" { "111111" } else { "000000" };
    let attempt = |otp: &str| json!({ "email": email, "otp": otp });
    seen.call(&app, M::POST, r, r, Some(token), Some(&attempt(wrong_otp)))
        .await;
    seen.call(&app, M::POST, r, r, Some(token), Some(&attempt(&otp)))
        .await;
    seen.call(&app, M::POST, r, r, None, Some(&attempt(&otp)))
        .await;
    seen.call(&app, M::POST, r, r, Some(ghost), Some(&attempt(&otp)))
        .await;
    seen.call(&app, M::POST, r, r, Some(token), Some(&json!({})))
        .await;
    seen.call_oversized(&app, M::POST, r, r, Some(token)).await;
    let bob = app.token_for("bob").await;
    let bob_otp = app.otp_for(&bob, email).await;
    seen.call(&app, M::POST, r, r, Some(&bob), Some(&attempt(&bob_otp)))
        .await; // 409: ann verified it first

    // Ann's third to fifth requests pass, the sixth in the hour is 429.
    let r = "/users/email/otp";
    for _ in 3..=6 {
        seen.call(&app, M::POST, r, r, Some(token), Some(&body))
            .await;
    }

    // Todos.
    let r = "/todos";
    let todo = json!({ "contents": "buy milk" });
    let response = seen
        .call(&app, M::POST, r, r, Some(token), Some(&todo))
        .await;
    let id = status_and_json(response).await.1["id"].as_i64().unwrap();
    seen.call(&app, M::POST, r, r, None, Some(&todo)).await;
    seen.call(&app, M::POST, r, r, Some(ghost), Some(&todo))
        .await;
    seen.call(&app, M::POST, r, r, Some(token), Some(&json!({})))
        .await;
    seen.call_oversized(&app, M::POST, r, r, Some(token)).await;

    let response = seen.call(&app, M::GET, r, r, Some(token), None).await;
    let page_etag = response.headers()["etag"].clone();
    seen.call(&app, M::GET, r, r, None, None).await;
    seen.call(&app, M::GET, r, r, Some(ghost), None).await;
    seen.call(&app, M::GET, r, "/todos?order=sideways", Some(token), None)
        .await;
    let fresh = app
        .client
        .get(app.url(r))
        .header("if-none-match", page_etag);
    seen.send(M::GET, r, Some(token), fresh).await; // 304
    // The same key with another body; then one still held by a running request.
    let keyed = |key: &str, body: &Value| {
        app.client
            .post(app.url("/todos"))
            .header("idempotency-key", key)
            .json(body)
    };
    seen.send(M::POST, r, Some(token), keyed("k1", &todo)).await;
    seen.send(
        M::POST,
        r,
        Some(token),
        keyed("k1", &json!({ "contents": "bread" })),
    )
    .await; // 422
    app.hold_idempotency_key("ann", "k2", "buy milk", std::time::Duration::ZERO)
        .await;
    seen.send(M::POST, r, Some(token), keyed("k2", &todo)).await; // 409

    let r = "/todos/{id}";
    let own = format!("/todos/{id}");
    let done = json!({ "is_done": true });
    for (method, body) in [(M::GET, None), (M::PATCH, Some(&done))] {
        seen.call(&app, method.clone(), r, &own, Some(token), body)
            .await;
        seen.call(&app, method.clone(), r, &own, None, body).await;
        seen.call(&app, method.clone(), r, &own, Some(ghost), body)
            .await;
        seen.call(&app, method.clone(), r, "/todos/999", Some(token), body)
            .await;
        seen.call(&app, method, r, "/todos/abc", Some(token), body)
            .await;
    }
    seen.call_oversized(&app, M::PATCH, r, &own, Some(token))
        .await;
    let response = app.get_todo(token, &id.to_string()).await;
    let etag = response.headers()["etag"].clone();
    let fresh = app.client.get(app.url(&own)).header("if-none-match", etag);
    seen.send(M::GET, r, Some(token), fresh).await; // 304
    for method in [M::PATCH, M::DELETE] {
        let stale = app
            .client
            .request(method.clone(), app.url(&own))
            .header("if-match", "\"stale\"")
            .json(&done);
        seen.send(method, r, Some(token), stale).await; // 412
    }
    seen.call(&app, M::DELETE, r, &own, None, None).await;
    seen.call(&app, M::DELETE, r, &own, Some(ghost), None).await;
    seen.call(&app, M::DELETE, r, "/todos/abc", Some(token), None)
        .await;
    seen.call(&app, M::DELETE, r, &own, Some(token), None).await;
    seen.call(&app, M::DELETE, r, &own, Some(token), None).await; // 404 now

    // Sessions, of a user of their own: ending them must not touch ann's.
    app.sign_up("sue", password).await;
    let first = app.log_in_ok("sue", password).await;
    let r = "/users/token/refresh";
    let spend = json!({ "refresh_token": first["refresh_token"] });
    seen.call(&app, M::POST, r, r, None, Some(&spend)).await;
    seen.call(&app, M::POST, r, r, None, Some(&spend)).await; // 401: spent
    seen.call(&app, M::POST, r, r, None, Some(&json!({}))).await;
    seen.call_oversized(&app, M::POST, r, r, None).await;
    let (current, other) = (
        app.log_in_ok("sue", password).await,
        app.log_in_ok("sue", password).await,
    );
    let sue_token = current["access_token"].as_str().unwrap();
    let r = "/users/me/sessions";
    seen.call(&app, M::GET, r, r, Some(sue_token), None).await;
    seen.call(&app, M::GET, r, r, None, None).await;
    seen.call(&app, M::GET, r, r, Some(ghost), None).await;
    let r = "/users/me/sessions/{id}";
    let other_sid = claims_of(other["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/users/me/sessions/{other_sid}");
    seen.call(&app, M::DELETE, r, &path, Some(sue_token), None)
        .await;
    seen.call(&app, M::DELETE, r, &path, Some(sue_token), None)
        .await; // 404: ended
    seen.call(&app, M::DELETE, r, &path, None, None).await;
    seen.call(&app, M::DELETE, r, &path, Some(ghost), None)
        .await;
    let r = "/users/me/sessions";
    seen.call(&app, M::DELETE, r, r, None, None).await;
    seen.call(&app, M::DELETE, r, r, Some(ghost), None).await;
    seen.call(&app, M::DELETE, r, r, Some(sue_token), None)
        .await;
    let r = "/users/log-out";
    let last = app.log_in_ok("sue", password).await;
    let last_token = last["access_token"].as_str().unwrap();
    seen.call(&app, M::POST, r, r, Some(last_token), None).await;
    seen.call(&app, M::POST, r, r, None, None).await;
    seen.call(&app, M::POST, r, r, Some(ghost), None).await;

    // Password changes and account deletion, of users of their own.
    app.sign_up("pat", password).await;
    let pat = app.log_in_ok("pat", password).await;
    let pat_token = pat["access_token"].as_str().unwrap();
    let r = "/users/me/password";
    let change = json!({ "current_password": password, "new_password": password });
    seen.call(&app, M::PUT, r, r, Some(pat_token), Some(&change))
        .await;
    seen.call(&app, M::PUT, r, r, None, Some(&change)).await;
    seen.call(&app, M::PUT, r, r, Some(ghost), Some(&change))
        .await;
    seen.call(&app, M::PUT, r, r, Some(pat_token), Some(&json!({})))
        .await;
    seen.call_oversized(&app, M::PUT, r, r, Some(pat_token))
        .await;
    let wrong_change = json!({ "current_password": "wrong-password", "new_password": password });
    for _ in 0..10 {
        seen.call(&app, M::PUT, r, r, Some(pat_token), Some(&wrong_change))
            .await;
    }
    seen.call(&app, M::PUT, r, r, Some(pat_token), Some(&change))
        .await; // 429: the log-in throttle of pat
    let r = "/users/me";
    let confirm = json!({ "password": password });
    seen.call(&app, M::DELETE, r, r, Some(pat_token), Some(&confirm))
        .await; // 429 too
    seen.call(&app, M::DELETE, r, r, None, Some(&confirm)).await;
    seen.call(&app, M::DELETE, r, r, Some(ghost), Some(&confirm))
        .await;
    seen.call(&app, M::DELETE, r, r, Some(pat_token), Some(&json!({})))
        .await;
    seen.call_oversized(&app, M::DELETE, r, r, Some(pat_token))
        .await;
    let dee = app.token_for("dee").await;
    let wrong_confirm = json!({ "password": "wrong-password" });
    seen.call(&app, M::DELETE, r, r, Some(&dee), Some(&wrong_confirm))
        .await;
    seen.call(&app, M::DELETE, r, r, Some(&dee), Some(&confirm))
        .await;

    // Password reset, at ann's verified address (it ends ann's sessions).
    let code = app.reset_code_for(email, email).await; // the first request of five
    let r = "/users/password/reset";
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let reset = |code: &str| json!({ "email": email, "code": code, "new_password": password });
    seen.call(&app, M::POST, r, r, None, Some(&reset(wrong_code)))
        .await;
    seen.call(&app, M::POST, r, r, None, Some(&json!({}))).await;
    seen.call_oversized(&app, M::POST, r, r, None).await;
    seen.call(&app, M::POST, r, r, None, Some(&reset(&code)))
        .await;
    let r = "/users/password/forgot";
    let forgot = json!({ "email": email });
    for _ in 2..=6 {
        seen.call(&app, M::POST, r, r, None, Some(&forgot)).await; // the sixth is 429
    }
    seen.call(&app, M::POST, r, r, None, Some(&json!({}))).await;
    seen.call_oversized(&app, M::POST, r, r, None).await;

    // The cache down: the operations that need it answer 503.
    let outage = spawn_app_with(|settings| {
        settings.redis = Some(RedisSettings::new(format!(
            "redis://127.0.0.1:{}/0",
            free_port()
        )));
    })
    .await;
    let outage_token = outage.token_for("cara").await;
    let outage_token = outage_token.as_str();
    let r = "/health/ready";
    seen.call(&outage, M::GET, r, r, None, None).await;
    let r = "/users/email/otp";
    seen.call(&outage, M::POST, r, r, Some(outage_token), Some(&body))
        .await;
    let r = "/users/email/otp/verify";
    let attempt = json!({ "email": email, "otp": "123456" });
    seen.call(&outage, M::POST, r, r, Some(outage_token), Some(&attempt))
        .await;
    let r = "/users/password/forgot";
    seen.call(&outage, M::POST, r, r, None, Some(&forgot)).await;
    let r = "/users/password/reset";
    seen.call(&outage, M::POST, r, r, None, Some(&reset("123456")))
        .await;

    let mut problems = Vec::new();
    for (operation, seen_statuses) in &seen.0 {
        let Some(documented_statuses) = documented.get(operation) else {
            problems.push(format!("{operation:?} answered but is not documented"));
            continue;
        };
        for status in seen_statuses.difference(documented_statuses) {
            problems.push(format!("{operation:?} answered {status}, not documented"));
        }
    }
    for (operation, documented_statuses) in &documented {
        let seen_statuses = seen.0.get(operation).cloned().unwrap_or_default();
        let cache_backed = CACHE_BACKED.contains(&(operation.0.as_str(), operation.1.as_str()));
        for status in documented_statuses.difference(&seen_statuses) {
            if *status == 503 && !cache_backed {
                continue; // the embedded database cannot be taken away here
            }
            problems.push(format!("{operation:?} documents {status}, never seen"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn document_and_swagger_ui_are_served_without_auth() {
    let app = spawn_app().await;
    let document = app.openapi_document().await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // `/docs` redirects to `/docs/` so that the page's relative asset URLs resolve.
    for path in ["/docs", "/docs/"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.url().path(), "/docs/");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(response.text().await.unwrap().contains("swagger-ui"));
    }
    // The assets are compiled in: nothing comes from elsewhere.
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js"] {
        let response = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset}");
    }
    let initializer = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains("\"url\": \"/openapi.json\""),
        "{initializer}"
    );
    // No call to swagger.io's online validator.
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
}
