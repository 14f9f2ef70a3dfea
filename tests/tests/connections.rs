//! What one client connection may cost (README: Connections and limits),
//! over real sockets: head and idle timeouts, the head size limit, the
//! connection cap, the body deadline, and shutdown. The timeouts are
//! shortened through the settings so that each test takes seconds.

use std::time::Duration;

use serde_json::json;
use todos_app::Settings;
use todos_tests::{
    raw_http::{self, closed_within, read_response},
    spawn_app_with, status_and_json,
};
use tokio::{io::AsyncWriteExt, time::Instant};

const HEAD: Duration = Duration::from_secs(1);
const IDLE: Duration = Duration::from_secs(3);
const BODY: Duration = Duration::from_secs(1);
/// Scheduling slack on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(900);

fn short_timeouts(settings: &mut Settings) {
    settings.connections.head_timeout = HEAD;
    settings.connections.idle_timeout = IDLE;
    settings.limits.body_timeout = BODY;
}

fn assert_about(measured: Duration, expected: Duration, what: &str) {
    assert!(
        measured >= expected.mul_f32(0.9) && measured <= expected + SLACK,
        "{what}: after {measured:?}, expected {expected:?}"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_head_timeout() {
    let app = spawn_app_with(short_timeouts).await;
    let mut silent = raw_http::connect(&app.address).await;
    let closed = closed_within(&mut silent, IDLE * 2).await.expect("closed");
    assert_about(closed, HEAD, "silent connection closed");
}

#[tokio::test]
async fn a_head_must_be_complete_in_time_however_steadily_it_drips() {
    let app = spawn_app_with(short_timeouts).await;
    let stream = raw_http::connect(&app.address).await;
    let (mut read, mut write) = stream.into_split();
    // One byte every 200 ms: never quiet for long, never finished.
    let drip = tokio::spawn(async move {
        write.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await?;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            write.write_all(b"a").await?;
        }
        #[allow(unreachable_code)]
        Ok::<_, std::io::Error>(())
    });
    let closed = closed_within(&mut read, IDLE * 2).await.expect("closed");
    assert_about(closed, HEAD, "partial head closed");
    drip.abort();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_kept_until_the_idle_timeout() {
    let app = spawn_app_with(short_timeouts).await;
    let mut conn = raw_http::connect(&app.address).await;
    assert_eq!(raw_http::request(&mut conn, "/").await.unwrap().status, 200);
    // Longer than the head timeout: waiting for the next request is idle
    // time, not a late head.
    tokio::time::sleep(HEAD * 2).await;
    assert_eq!(raw_http::request(&mut conn, "/").await.unwrap().status, 200);
    let closed = closed_within(&mut conn, IDLE * 2).await.expect("closed");
    assert_about(closed, IDLE, "idle keep-alive connection closed");
}

/// One request head of exactly `size` bytes.
fn head_of(size: usize) -> String {
    let start = "GET / HTTP/1.1\r\nHost: localhost\r\nX-Filler: ";
    let end = "\r\n\r\n";
    format!("{start}{}{end}", "a".repeat(size - start.len() - end.len()))
}

#[tokio::test]
async fn a_head_over_16_kib_is_431_and_one_under_it_is_served() {
    let app = spawn_app_with(|_| {}).await;

    let mut conn = raw_http::connect(&app.address).await;
    conn.write_all(head_of(15 * 1024).as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut conn).await.unwrap().status, 200);

    let mut conn = raw_http::connect(&app.address).await;
    conn.write_all(head_of(16 * 1024).as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut conn).await.unwrap().status, 200);

    let mut conn = raw_http::connect(&app.address).await;
    conn.write_all(head_of(17 * 1024).as_bytes()).await.unwrap();
    let response = read_response(&mut conn).await.unwrap();
    assert_eq!(response.status, 431);
    assert!(
        closed_within(&mut conn, Duration::from_secs(2))
            .await
            .is_some(),
        "closed after the 431"
    );
}

#[tokio::test]
async fn beyond_the_cap_clients_wait_until_a_connection_closes() {
    let cap = 8;
    let app = spawn_app_with(|settings| settings.connections.max_connections = cap).await;
    let mut held = Vec::new();
    for _ in 0..cap {
        let mut conn = raw_http::connect(&app.address).await;
        assert_eq!(raw_http::request(&mut conn, "/").await.unwrap().status, 200);
        held.push(conn);
    }

    // The listen backlog completes the handshake, but nobody reads.
    let mut waiting = raw_http::connect(&app.address).await;
    waiting
        .write_all(raw_http::get("/").as_bytes())
        .await
        .unwrap();
    let early = tokio::time::timeout(Duration::from_millis(700), read_response(&mut waiting)).await;
    assert!(
        early.is_err(),
        "served (or closed) beyond the cap: {early:?}"
    );

    drop(held.pop());
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(2), read_response(&mut waiting))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert_eq!(response.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// A `POST /todos` head declaring a body of `length` bytes.
fn post_todo_head(token: &str, content_type: &str, length: usize) -> String {
    let authorization = format!("Authorization: Bearer {token}");
    let content_type = format!("Content-Type: {content_type}");
    raw_http::post_head("/todos", &[&authorization, &content_type], length)
}

#[tokio::test]
async fn a_stalled_body_is_408_and_creates_nothing() {
    let app = spawn_app_with(short_timeouts).await;
    let token = app.token_for("ann").await;
    let mut conn = raw_http::connect(&app.address).await;
    let head = post_todo_head(&token, "application/json", 100);
    conn.write_all(format!("{head}{{\"contents\":").as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    let response = read_response(&mut conn).await.unwrap();
    assert_about(started.elapsed(), BODY, "408 sent");
    assert_eq!(response.status, 408);
    assert_eq!(response.json(), json!({ "detail": "Request Timeout" }));
    assert!(
        closed_within(&mut conn, Duration::from_secs(2))
            .await
            .is_some(),
        "closed after the 408: the rest of the body is not a request"
    );
    let (_, list) = status_and_json(app.list_todos(&token, "").await).await;
    assert_eq!(list, json!({ "todos": [], "next": null }));
}

#[tokio::test]
async fn the_body_deadline_is_total_and_wins_over_a_422() {
    let app = spawn_app_with(short_timeouts).await;
    let token = app.token_for("ann").await;
    let stream = raw_http::connect(&app.address).await;
    let (mut read, mut write) = stream.into_split();
    // text/plain alone would be 422; each byte comes well within the
    // deadline, the whole body never does.
    let head = post_todo_head(&token, "text/plain", 100);
    let drip = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        loop {
            tokio::time::sleep(BODY / 3).await;
            write.write_all(b" ").await?;
        }
        #[allow(unreachable_code)]
        Ok::<_, std::io::Error>(())
    });
    let started = Instant::now();
    let response = read_response(&mut read).await.unwrap();
    assert_about(started.elapsed(), BODY, "408 sent");
    assert_eq!(response.status, 408);
    assert_eq!(response.json(), json!({ "detail": "Request Timeout" }));
    drip.abort();
}

#[tokio::test]
async fn shutdown_does_not_wait_for_connections_without_a_request() {
    // Default timeouts: a silent client could hold it for 10 s.
    let app = spawn_app_with(|_| {}).await;
    let _silent = raw_http::connect(&app.address).await;
    let mut partial = raw_http::connect(&app.address).await;
    partial.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let mut idle = raw_http::connect(&app.address).await;
    assert_eq!(raw_http::request(&mut idle, "/").await.unwrap().status, 200);
    // Let the server see the partial head before the stop.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    app.shut_down().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
