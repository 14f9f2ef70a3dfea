//! For tests that run a real server process (MariaDB, Redis, chromedriver,
//! Prometheus) beside the app: a port for it, waiting until it listens, and
//! what to do when it is not installed.

use std::{
    fmt::Display,
    net::{TcpListener, TcpStream},
    time::{Duration, Instant},
};

/// A loopback port that nothing listens on: the system picks a free one and
/// it is released at once, for a server the test starts there, or for a
/// service the app must find unreachable.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Blocks until `server` accepts connections on loopback `port`; panics
/// after `within`.
pub fn wait_until_listening(server: &str, port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{server} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Says that `server` is missing (`why`, such as "is not installed") and the
/// test did not run, so the caller can return; or panics where
/// `TODOS_REQUIRE_SERVICES` is set, as in CI, where a skip would hide a
/// test that never ran.
pub fn unavailable(server: &str, why: impl Display) {
    if std::env::var_os("TODOS_REQUIRE_SERVICES").is_some() {
        panic!("{server} is required here but {why}");
    }
    eprintln!("SKIPPED: {server} {why}: this test did not run");
}

/// Whether `check` passes within about 15 s, tried every 250 ms: how long
/// the outage tests give the app to notice that a service is back.
pub async fn recovers(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..60 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}
