//! Two real `todos` processes on one MariaDB and one Redis, as two
//! instances behind a load balancer (README: "Running more than one
//! instance"): what one process issues or counts, the other honours —
//! tokens, refresh tokens, email codes, the sign-up limit, the log-in
//! throttle, and log-out.
//!
//! Needs `mariadbd` and `redis-server`; skipped without them, except in CI
//! (`TODOS_REQUIRE_SERVICES`).

mod support;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use support::{Server, SharedServers, read_code};

const PASSWORD: &str = "two-processes-password";

/// One of the processes, as a client sees it.
struct Instance<'a> {
    client: &'a Client,
    base: String,
}

impl Instance<'_> {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn sign_up(&self, username: &str) -> StatusCode {
        let body = json!({ "username": username, "password": PASSWORD });
        self.call(Method::POST, "/users/sign-up", None, Some(body))
            .await
            .0
    }

    async fn log_in(&self, username: &str, password: &str) -> (StatusCode, Value) {
        let body = json!({ "username": username, "password": password });
        self.call(Method::POST, "/users/log-in", None, Some(body))
            .await
    }
}

fn instance<'a>(client: &'a Client, server: &Server) -> Instance<'a> {
    Instance {
        client,
        base: server.address.clone(),
    }
}

#[tokio::test]
async fn tokens_codes_limits_and_log_out_hold_across_two_processes() {
    let Some(servers) = SharedServers::start() else {
        return;
    };
    // A sign-up limit small enough to reach: three per client address.
    let env = [("TODOS_SIGNUP_LIMIT", "3")];
    let server_a = servers.serve("a", &env).await;
    let server_b = servers.serve("b", &env).await;
    let client = Client::new();
    let (a, b) = (instance(&client, &server_a), instance(&client, &server_b));

    // One user table, one sign-up limit (counted in Redis).
    assert_eq!(a.sign_up("ann").await, StatusCode::CREATED);
    assert_eq!(
        b.sign_up("ann").await,
        StatusCode::CONFLICT,
        "B sees A's user"
    );
    assert_eq!(b.sign_up("bob").await, StatusCode::CREATED);
    assert_eq!(
        b.sign_up("cid").await,
        StatusCode::TOO_MANY_REQUESTS,
        "A's sign-up and B's two (one taken) make the limit of three"
    );
    assert_eq!(a.sign_up("cid").await, StatusCode::TOO_MANY_REQUESTS);

    // A token from B works on A, and a refresh token from B refreshes on A.
    let (status, login) = b.log_in("ann", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["access_token"].as_str().unwrap();
    let (status, me) = a.call(Method::GET, "/users/me", Some(token), None).await;
    assert_eq!((status, &me["username"]), (StatusCode::OK, &json!("ann")));
    let (status, todo) = a
        .call(
            Method::POST,
            "/todos",
            Some(token),
            Some(json!({ "contents": "via A" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{todo}");
    let path = format!("/todos/{}", todo["id"]);
    let (status, read) = b.call(Method::GET, &path, Some(token), None).await;
    assert_eq!(
        (status, &read["contents"]),
        (StatusCode::OK, &json!("via A"))
    );
    let refresh = json!({ "refresh_token": login["refresh_token"] });
    let (status, refreshed) = a
        .call(
            Method::POST,
            "/users/token/refresh",
            None,
            Some(refresh.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let (status, _) = b
        .call(Method::POST, "/users/token/refresh", None, Some(refresh))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "B knows that A spent the refresh token"
    );
    // That reuse ended the session everywhere: log in again.
    let (_, login) = b.log_in("ann", PASSWORD).await;
    let token = login["access_token"].as_str().unwrap();

    // An email code sent by A is checked by B, and spent for both.
    let address = json!({ "email": "ann@example.com" });
    let (status, _) = a
        .call(Method::POST, "/users/email/otp", Some(token), Some(address))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = read_code(&servers.home_of("a").join("mail"), "verification code is ").await;
    let verify = json!({ "email": "ann@example.com", "otp": code });
    let (status, user) = b
        .call(
            Method::POST,
            "/users/email/otp/verify",
            Some(token),
            Some(verify.clone()),
        )
        .await;
    assert_eq!(
        (status, &user["email_verified"]),
        (StatusCode::OK, &json!(true))
    );
    let (status, _) = a
        .call(
            Method::POST,
            "/users/email/otp/verify",
            Some(token),
            Some(verify),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a code is used once, anywhere"
    );

    // The log-in throttle counts the failures of both: ten wrong passwords
    // for bob from this address, five on each, then neither checks one.
    for attempt in 0..10 {
        let instance = if attempt % 2 == 0 { &a } else { &b };
        let (status, _) = instance.log_in("bob", "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    for instance in [&a, &b] {
        let (status, body) = instance.log_in("bob", PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }

    // Log-out on A ends the session for B at once: the row is the truth.
    let (status, _) = a
        .call(Method::POST, "/users/log-out", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = b.call(Method::GET, "/users/me", Some(token), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "B refuses the ended session"
    );
    let refresh = json!({ "refresh_token": login["refresh_token"] });
    let (status, _) = b
        .call(Method::POST, "/users/token/refresh", None, Some(refresh))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "and its refresh token");
}
