//! The real binary with TODOS_LOG_FORMAT=json and TODOS_METRICS_ADDR
//! (README: "Running with metrics"): JSON log lines with the request's id,
//! method, route, status and latency; metrics on their own port, announced
//! on stdout; bad values refused at start.

mod support;

use std::{path::Path, process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::{io::AsyncBufReadExt, process::Command};

const SECRET: &str = "observability-test-secret-0123456789abcdef";
const PASSWORD: &str = "observability-password-42";
const REQUEST_ID: &str = "obs-test-request-1";

/// The binary with only the environment a test gives it.
fn todos(dir: &Path) -> Command {
    let mut command = support::todos_in(dir);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("JWT_SECRET", SECRET);
    command
}

#[tokio::test]
async fn json_logs_carry_the_request_and_metrics_are_served_on_their_own_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = todos(dir.path());
    command
        .env("TODOS_LOG_FORMAT", "json")
        .env("TODOS_METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped());
    let mut server = support::serve(command).await;
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(5), server.stdout.read_line(&mut line))
        .await
        .expect("a second line")
        .unwrap();
    let metrics_url = line
        .trim_end()
        .strip_prefix("metrics on ")
        .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
        .to_owned();
    assert!(metrics_url.ends_with("/metrics"), "{metrics_url}");
    assert_ne!(
        metrics_url.trim_end_matches("/metrics"),
        server.address,
        "never the API's port"
    );

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = server.address.clone();
    let credentials = json!({ "username": "logged", "password": PASSWORD });
    let (status, _) = answer(
        client
            .post(format!("{base}/users/sign-up"))
            .json(&credentials),
    )
    .await;
    assert_eq!(status, 201);
    let (_, login) = answer(
        client
            .post(format!("{base}/users/log-in"))
            .json(&credentials),
    )
    .await;
    let token = login["access_token"].as_str().unwrap().to_owned();
    let new_todo = json!({ "contents": "log me" });
    let (_, created) = answer(
        client
            .post(format!("{base}/todos"))
            .bearer_auth(&token)
            .json(&new_todo),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let read = client
        .get(format!("{base}/todos/{id}"))
        .bearer_auth(&token)
        .header("x-request-id", REQUEST_ID);
    assert_eq!(answer(read).await.0, 200);

    let scraped = client
        .get(&metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scraped.contains(
            r#"todos_http_requests_total{method="GET",route="/todos/{id}",status="200"} 1"#
        ),
        "{scraped}"
    );

    assert_eq!(server.terminate().await.code(), Some(0));
    let log = server.stderr.take().unwrap().await.unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect();
    assert!(lines.len() > 5, "{log}");
    for line in &lines {
        assert!(line["time"].is_string(), "{line}");
        assert!(line["level"].is_string(), "{line}");
        assert!(line["message"].is_string(), "{line}");
    }
    let response = lines
        .iter()
        .find(|line| {
            line["request_id"] == REQUEST_ID && line["message"] == "finished processing request"
        })
        .unwrap_or_else(|| panic!("no response line for {REQUEST_ID}:\n{log}"));
    assert_eq!(response["level"], "INFO");
    assert_eq!(response["method"], "GET");
    assert_eq!(response["route"], "/todos/{id}");
    assert_eq!(response["path"], format!("/todos/{id}"));
    assert_eq!(response["status"], 200);
    assert!(response["latency_us"].is_u64(), "{response}");
    for secret in [PASSWORD, token.as_str(), SECRET] {
        assert!(!log.contains(secret), "a secret in the log");
    }
}

/// Sends `request`: the status and the JSON body.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_bad_log_format_metrics_address_or_cors_origin_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value, message) in [
        (
            "TODOS_LOG_FORMAT",
            "xml",
            "TODOS_LOG_FORMAT (--log-format) must be `text` or `json`",
        ),
        (
            "TODOS_METRICS_ADDR",
            "9100",
            "TODOS_METRICS_ADDR (--metrics-addr) must be an address and port",
        ),
        (
            "TODOS_METRICS_ADDR",
            "127.0.0.1:18777",
            "TODOS_METRICS_ADDR must not use the API's port 18777",
        ),
        (
            "TODOS_CORS_ORIGINS",
            "https://app.example.com/",
            "TODOS_CORS_ORIGINS (--cors-origins): \"https://app.example.com/\" is not an origin",
        ),
    ] {
        let output = todos(dir.path())
            .env(variable, value)
            .args(["serve", "--addr", "127.0.0.1:18777"])
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{variable}={value} started");
        assert!(stderr.contains(message), "{variable}={value}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "{variable}={value}: nothing listened"
        );
    }
}
