//! Limits that stop password guessing, lockouts, junk accounts, hashing
//! floods and mail bombs (README: "Abuse resistance"), driven over HTTP.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::{Duration, Instant},
};

use reqwest::Client;
use serde_json::{Value, json};
use todos_app::config::TrustedProxies;
use todos_tests::{
    TestApp, raw_http, retry_after_secs, spawn_app, spawn_app_with, status_and_json,
};
use tokio::io::AsyncWriteExt;

const PASSWORD: &str = "password123";

/// The status of one log-in as `username` sent by `client`.
async fn log_in_status(client: Client, url: String, username: &str, password: String) -> u16 {
    client
        .post(url)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An app that believes `X-Forwarded-For` from loopback, so one test can
/// play clients at many addresses.
async fn behind_a_proxy() -> TestApp {
    spawn_app_with(|settings| {
        settings.trusted_proxies = TrustedProxies::parse("127.0.0.1/32").unwrap();
    })
    .await
}

async fn log_in_from(app: &TestApp, client: &str, username: &str, password: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/users/log-in"))
        .header("x-forwarded-for", client)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

async fn sign_up_from(app: &TestApp, client: &str, username: &str) -> reqwest::Response {
    app.client
        .post(app.url("/users/sign-up"))
        .header("x-forwarded-for", client)
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_burst_of_200_log_ins_checks_at_most_10_passwords() {
    let app = spawn_app().await;
    assert_eq!(app.sign_up("alice", PASSWORD).await.status(), 201);

    let mut burst = tokio::task::JoinSet::new();
    for n in 0..200 {
        let (client, url) = (app.client.clone(), app.url("/users/log-in"));
        // One right password in the middle of the burst.
        let password = if n == 100 {
            PASSWORD.to_owned()
        } else {
            format!("wrong-{n}")
        };
        burst.spawn(log_in_status(client, url, "alice", password));
    }
    let statuses = burst.join_all().await;
    let count = |code| statuses.iter().filter(|s| **s == code).count();
    assert!(
        count(401) + count(200) <= 10,
        "passwords checked: {} wrong, {} right",
        count(401),
        count(200)
    );
    assert_eq!(count(401) + count(200) + count(429), 200, "{statuses:?}");

    // The slots are gone: now even the right password waits for the window.
    let response = app.log_in("alice", PASSWORD).await;
    let retry_after = retry_after_secs(&response);
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(
        status_and_json(response).await,
        (429, json!({ "detail": "Too Many Requests" }))
    );
}

#[tokio::test]
async fn successful_log_ins_do_not_use_up_the_owners_attempts() {
    let app = spawn_app().await;
    assert_eq!(app.sign_up("alice", PASSWORD).await.status(), 201);
    for _ in 0..9 {
        assert_eq!(app.log_in("alice", "wrong-password").await.status(), 401);
    }
    for _ in 0..5 {
        assert_eq!(app.log_in("alice", PASSWORD).await.status(), 200);
    }
    assert_eq!(app.log_in("alice", "wrong-password").await.status(), 401);
    assert_eq!(app.log_in("alice", PASSWORD).await.status(), 429);
}

/// A client that hangs up during its log-in must not leave a slot taken:
/// the password check runs to its end and a right password gives the slot
/// back. (hyper drops a request's future when its client leaves a
/// keep-alive connection mid-request; ten such log-ins, as a load tool
/// makes when it stops, used to lock the owner out for 15 minutes.) The
/// hashing queue is kept busy by another user's log-ins so that the
/// abandoned ones are still waiting for their hash when their clients go.
#[tokio::test]
async fn log_ins_whose_clients_hang_up_do_not_lock_the_owner_out() {
    let app = spawn_app().await;
    assert_eq!(app.sign_up("alice", PASSWORD).await.status(), 201);
    assert_eq!(app.sign_up("busy", PASSWORD).await.status(), 201);
    let log_in = json!({ "username": "alice", "password": PASSWORD });
    let mut connections = Vec::new();
    for _ in 0..10 {
        let mut stream = raw_http::connect(&app.address).await;
        let answered = raw_http::post_json(&mut stream, "/users/log-in", &log_in).await;
        assert_eq!(answered.unwrap().status, 200);
        connections.push(stream);
    }
    let busy: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (Client::new(), app.url("/users/log-in"));
            tokio::spawn(log_in_status(client, url, "busy", PASSWORD.into()))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let body = log_in.to_string();
    let head = raw_http::post_head(
        "/users/log-in",
        &["Content-Type: application/json"],
        body.len(),
    );
    for stream in &mut connections {
        let request = format!("{head}{body}");
        stream.write_all(request.as_bytes()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    drop(connections);
    for status in futures_util::future::join_all(busy).await {
        assert_eq!(status.unwrap(), 200);
    }
    // The abandoned checks finish on the hashing threads.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.log_in("alice", PASSWORD).await.status(), 200);
}

/// A client at another loopback address (Linux routes all of 127/8 to lo).
fn client_at(ip: [u8; 4]) -> Client {
    Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(Ipv4Addr::from(ip)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_stranger_locked_out_at_one_address_does_not_lock_the_owner_at_another() {
    let app = spawn_app().await;
    assert_eq!(app.sign_up("alice", PASSWORD).await.status(), 201);
    let log_in = |client: Client, password: &str| {
        log_in_status(
            client,
            app.url("/users/log-in"),
            "alice",
            password.to_owned(),
        )
    };
    // The peer address itself, no proxy involved.
    let stranger = client_at([127, 0, 0, 2]);
    for _ in 0..10 {
        assert_eq!(log_in(stranger.clone(), "guess-guess").await, 401);
    }
    assert_eq!(log_in(stranger.clone(), PASSWORD).await, 429);
    assert_eq!(log_in(client_at([127, 0, 0, 3]), PASSWORD).await, 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let app = behind_a_proxy().await;
    assert_eq!(app.sign_up("alice", PASSWORD).await.status(), 201);
    for _ in 0..10 {
        let (status, _) = log_in_from(&app, "203.0.113.9", "alice", "guess-guess").await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        log_in_from(&app, "203.0.113.9", "alice", PASSWORD).await.0,
        429
    );
    // A forged entry in front of the proxy's own does not help the stranger.
    assert_eq!(
        log_in_from(&app, "198.51.100.1, 203.0.113.9", "alice", PASSWORD)
            .await
            .0,
        429
    );
    assert_eq!(
        log_in_from(&app, "198.51.100.1", "alice", PASSWORD).await.0,
        200
    );
    // IPv6 clients are one client per /64.
    for n in 0..10 {
        let address = format!("2001:db8:1:1::{n:x}");
        assert_eq!(
            log_in_from(&app, &address, "alice", "guess-guess").await.0,
            401
        );
    }
    assert_eq!(
        log_in_from(&app, "2001:db8:1:1:ffff::1", "alice", PASSWORD)
            .await
            .0,
        429
    );
    assert_eq!(
        log_in_from(&app, "2001:db8:1:2::1", "alice", PASSWORD)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn at_most_100_wrong_passwords_per_username_from_all_addresses() {
    let app = behind_a_proxy().await;
    assert_eq!(app.sign_up("alice", PASSWORD).await.status(), 201);
    let mut checked = 0;
    for client in 0..11 {
        let address = format!("192.0.2.{client}");
        for _ in 0..10 {
            match log_in_from(&app, &address, "alice", "guess-guess").await.0 {
                401 => checked += 1,
                429 => {}
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(checked, 100);
    let (status, body) = log_in_from(&app, "198.51.100.200", "alice", PASSWORD).await;
    assert_eq!(
        (status, body),
        (429, json!({ "detail": "Too Many Requests" }))
    );
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_address() {
    let app = spawn_app_with(|settings| {
        settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        settings.signup_limit = 3;
    })
    .await;
    // Invalid bodies are refused before they count.
    for _ in 0..5 {
        let response = app
            .client
            .post(app.url("/users/sign-up"))
            .header("x-forwarded-for", "203.0.113.1")
            .json(&json!({ "username": " bad", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
    }
    for n in 0..3 {
        let response = sign_up_from(&app, "203.0.113.1", &format!("user{n}")).await;
        assert_eq!(response.status(), 201);
    }
    let refused = sign_up_from(&app, "203.0.113.1", "user3").await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        status_and_json(refused).await,
        (429, json!({ "detail": "Too Many Requests" }))
    );
    assert_eq!(
        sign_up_from(&app, "203.0.113.2", "user3").await.status(),
        201
    );
    assert_eq!(app.log_in("user3", PASSWORD).await.status(), 200);
    assert_eq!(app.log_in("user2", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn the_default_sign_up_limit_is_20_per_hour() {
    let app = spawn_app_with(|settings| {
        settings.signup_limit = todos_app::config::DEFAULT_SIGNUP_LIMIT;
    })
    .await;
    for n in 0..20 {
        let status = app.sign_up(&format!("user{n}"), PASSWORD).await.status();
        assert_eq!(status, 201);
    }
    assert_eq!(app.sign_up("user20", PASSWORD).await.status(), 429);
}

/// Many clients signing up and logging in in a loop fill the password
/// hashing queue: the excess is refused at once with 503, and a real
/// user's log-in still gets through in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hashing_flood_gets_fast_503s_while_a_real_user_logs_in() {
    let app = spawn_app().await;
    assert_eq!(app.sign_up("probe", PASSWORD).await.status(), 201);
    for n in 0..8 {
        assert_eq!(
            app.sign_up(&format!("regular{n}"), PASSWORD).await.status(),
            201
        );
    }
    let flood_for = Duration::from_secs(4);
    let started = Instant::now();
    let mut flood = tokio::task::JoinSet::new();
    for worker in 0..64 {
        let (client, base) = (app.client.clone(), app.address.clone());
        flood.spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0;
            while started.elapsed() < flood_for {
                let (path, body) = if worker % 8 == 0 {
                    let user = format!("regular{}", worker / 8);
                    (
                        "/users/log-in",
                        json!({ "username": user, "password": PASSWORD }),
                    )
                } else {
                    n += 1;
                    let user = format!("flood-{worker}-{n}");
                    (
                        "/users/sign-up",
                        json!({ "username": user, "password": PASSWORD }),
                    )
                };
                let sent = Instant::now();
                let response = client
                    .post(format!("{base}{path}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                seen.push((status, sent.elapsed(), retry_after));
            }
            seen
        });
    }
    // The probe starts once the flood is under way, and retries a 503 as
    // a client would.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let probe_started = Instant::now();
    let probe_took = loop {
        match app.log_in("probe", PASSWORD).await.status().as_u16() {
            200 => break probe_started.elapsed(),
            503 => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("probe log-in answered {other}"),
        }
    };
    eprintln!("probe log-in took {probe_took:?}");
    let outcomes: Vec<_> = flood.join_all().await.into_iter().flatten().collect();
    let refused: Vec<_> = outcomes.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(
        !refused.is_empty(),
        "the flood must fill the queue: {} requests, none refused",
        outcomes.len()
    );
    assert!(refused.iter().all(|(_, _, retry_after)| *retry_after));
    assert!(
        outcomes
            .iter()
            .all(|(s, _, _)| matches!(s, 200 | 201 | 503)),
        "{:?}",
        outcomes.iter().map(|o| o.0).collect::<Vec<_>>()
    );
    let mut refusal_times: Vec<Duration> = refused.iter().map(|(_, took, _)| *took).collect();
    refusal_times.sort();
    let median = refusal_times[refusal_times.len() / 2];
    // Generous bounds: "at once" against the seconds a queue would take.
    assert!(
        median < Duration::from_millis(250),
        "median 503 took {median:?}"
    );
    assert!(
        probe_took < Duration::from_secs(2),
        "the probe log-in took {probe_took:?}"
    );
}

#[tokio::test]
async fn one_address_gets_at_most_5_code_emails_an_hour_whoever_asks() {
    let app = spawn_app().await;
    let (lower, upper) = ("victim@example.com", "VICTIM@example.com");
    let mut tokens = Vec::new();
    for n in 0..5 {
        let token = app.token_for(&format!("sender{n}")).await;
        // Letter case does not make another address.
        let address = if n % 2 == 0 { lower } else { upper };
        assert_eq!(app.request_otp(&token, address).await.status(), 202);
        tokens.push(token);
    }
    assert_eq!(app.emails_to(lower, 3).await.len(), 3);
    assert_eq!(app.emails_to(upper, 2).await.len(), 2);
    let first_code = todos_tests::otp_in(&app.emails_to(lower, 1).await[0]);

    // The sixth request is answered as usual, but nothing is sent and the
    // code already sent to that user stays valid.
    let (status, body) = status_and_json(app.request_otp(&tokens[0], lower).await).await;
    assert_eq!((status, body), (202, json!({ "detail": "OTP sent" })));
    let late = app.token_for("sender5").await;
    assert_eq!(app.request_otp(&late, upper).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.emails_to(lower, 0).await.len(),
        3,
        "nothing more arrives"
    );
    assert_eq!(
        app.emails_to(upper, 0).await.len(),
        2,
        "nothing more arrives"
    );
    let (status, body) =
        status_and_json(app.verify_otp(&tokens[0], lower, &first_code).await).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_request_id_is_kept_only_when_it_is_short_and_plain() {
    let app = spawn_app().await;
    let echoed = |id: String| {
        let request = app.client.get(app.url("/")).header("x-request-id", id);
        async move {
            let response = request.send().await.unwrap();
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    for kept in ["abc-123", "A.b_c-9", &"x".repeat(64)] {
        assert_eq!(echoed(kept.to_owned()).await, kept);
    }
    for replaced in [
        "x".repeat(65),
        "<script>alert(1)</script>".to_owned(),
        "a b".to_owned(),
        "x".repeat(10_000),
    ] {
        let answer = echoed(replaced.clone()).await;
        assert_ne!(answer, replaced);
        assert_eq!(answer.len(), 36, "a fresh UUID: {answer}");
    }
}

#[tokio::test]
async fn docs_and_the_document_carry_security_headers_and_are_compressed() {
    let app = spawn_app().await;
    for path in [
        "/docs/",
        "/openapi.json",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src 'unsafe-inline'"), "{path}: {csp}");
        // The page itself is under 1 KiB; the rest is far over it.
        if path != "/docs/" {
            assert_eq!(headers["content-encoding"], "gzip", "{path}");
        }
    }
    // Without Accept-Encoding, the bytes come as they are.
    let plain = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert!(!plain.headers().contains_key("content-encoding"));
    assert!(plain.json::<Value>().await.is_ok());
    // Small answers are not worth compressing.
    let small = app
        .client
        .get(app.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(!small.headers().contains_key("content-encoding"));
}
