//! Socket driver for `scripts/abuse.sh`: floods a running `todos` with
//! idle, slow and oversized connections and measures what the server does
//! (README: Connections and limits). Written in Rust with tokio rather than
//! Python so that thousands of sockets cost little, and so that it shares
//! the hand-written HTTP of `todos_tests::raw_http` with the test suite.
//!
//! `abuse SCENARIO ADDR PID`, where ADDR is `host:port` and PID the server's
//! process (its RSS and sockets are read from /proc). Prints its figures
//! and exits 1 if the server broke a limit.
//!
//! - `timeouts`: 2,000 keep-alive connections left idle after one request
//!   and 500 sending a partial head must all be closed (10 s head, 60 s
//!   idle timeouts), while a fresh client's `GET /` and log-in are each
//!   answered within 1 s.
//! - `big-heads`: 1,000 connections each sending a 400 KB head; the
//!   server's RSS must stay under 100 MB.
//! - `cap`: against a server started with TODOS_MAX_CONNECTIONS=64, 500
//!   connections; never more than 64 may be accepted, and a fresh client
//!   is served within 1 s once they close.

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;
use todos_tests::raw_http::{self, closed_within};
use tokio::{
    io::AsyncWriteExt,
    net::TcpStream,
    sync::{Semaphore, watch},
    task::JoinSet,
};

const SERVED_WITHIN: Duration = Duration::from_secs(1);
/// Connects in flight at once: a burst larger than the listen backlog
/// would only measure SYN retries.
const CONNECTS_AT_ONCE: usize = 200;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, scenario, addr, pid] = args.as_slice() else {
        eprintln!("usage: abuse timeouts|big-heads|cap HOST:PORT PID");
        return ExitCode::from(2);
    };
    let server = Arc::new(Server {
        base_url: format!("http://{addr}"),
        pid: pid.parse().expect("PID is a number"),
        connects: Semaphore::new(CONNECTS_AT_ONCE),
    });
    let failures = match scenario.as_str() {
        "timeouts" => timeouts(server).await,
        "big-heads" => big_heads(server).await,
        "cap" => cap(server).await,
        other => {
            eprintln!("unknown scenario {other}");
            return ExitCode::from(2);
        }
    };
    if failures.is_empty() {
        println!("{scenario}: passed");
        ExitCode::SUCCESS
    } else {
        for failure in &failures {
            println!("{scenario}: FAILED: {failure}");
        }
        ExitCode::FAILURE
    }
}

struct Server {
    base_url: String,
    pid: u32,
    connects: Semaphore,
}

impl Server {
    /// Resident memory in KiB.
    fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .expect("the server process is alive");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or(0)
    }

    /// Sockets the server holds: the listener plus accepted connections
    /// (clients still in the listen backlog are not among them).
    fn sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|entries| {
                entries
                    .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
                    .filter(|target| target.to_string_lossy().starts_with("socket:"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Connects as one of the attacking clients, which take turns.
    async fn connect(&self) -> std::io::Result<TcpStream> {
        let _in_flight = self.connects.acquire().await.expect("never closed");
        self.connect_now().await
    }

    /// Connects as a fresh client, who waits for nobody.
    async fn connect_now(&self) -> std::io::Result<TcpStream> {
        TcpStream::connect(raw_http::authority(&self.base_url)).await
    }
}

/// Spawns `count` clients, each handed its connection (`None`: it could
/// not connect).
fn spawn_clients<T, Client>(
    server: &Arc<Server>,
    count: usize,
    client: impl Fn(TcpStream) -> Client + Clone + Send + 'static,
) -> JoinSet<Option<T>>
where
    T: Send + 'static,
    Client: Future<Output = Option<T>> + Send + 'static,
{
    let mut clients = JoinSet::new();
    for _ in 0..count {
        let (server, client) = (Arc::clone(server), client.clone());
        clients.spawn(async move {
            let stream = server.connect().await.ok()?;
            client(stream).await
        });
    }
    clients
}

/// Moves the results of the clients that have finished into `results`.
fn collect_finished<T: 'static>(clients: &mut JoinSet<Option<T>>, results: &mut Vec<Option<T>>) {
    while let Some(result) = clients.try_join_next() {
        results.push(result.expect("client task"));
    }
}

/// A fresh client's `GET /` or log-in: how long until the answer.
async fn probe(server: &Server, login: Option<&serde_json::Value>) -> Result<Duration, String> {
    probe_within(server, login, Duration::from_secs(10)).await
}

async fn probe_within(
    server: &Server,
    login: Option<&serde_json::Value>,
    limit: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    let attempt = async {
        let mut stream = server.connect_now().await?;
        match login {
            None => raw_http::request(&mut stream, "/").await,
            Some(body) => raw_http::post_json(&mut stream, "/users/log-in", body).await,
        }
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(Ok(response)) if response.status == 200 => Ok(start.elapsed()),
        Ok(Ok(response)) => Err(format!("status {}", response.status)),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {}", millis(limit))),
    }
}

/// min, median and max in seconds, and how many were still open at `limit`.
fn spread(durations: &[Option<Duration>], limit: Duration) -> String {
    let open = durations.iter().filter(|d| d.is_none()).count();
    let mut closed: Vec<f64> = durations
        .iter()
        .flatten()
        .map(|d| d.as_secs_f64())
        .collect();
    closed.sort_by(f64::total_cmp);
    let mut text = if closed.is_empty() {
        "none closed".to_owned()
    } else {
        format!(
            "closed after min {:.1} s, median {:.1} s, max {:.1} s",
            closed[0],
            closed[closed.len() / 2],
            closed[closed.len() - 1]
        )
    };
    if open > 0 {
        text.push_str(&format!("; {open} still open after {} s", limit.as_secs()));
    }
    text
}

async fn timeouts(server: Arc<Server>) -> Vec<String> {
    const IDLE: usize = 2000;
    const PARTIAL: usize = 500;
    // The contract's 10 s and 60 s, and how long to wait for each.
    const HEAD: Duration = Duration::from_secs(10);
    const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    const HEAD_LIMIT: Duration = Duration::from_secs(13);
    const IDLE_LIMIT: Duration = Duration::from_secs(66);
    let mut failures = Vec::new();

    let credentials = json!({ "username": "abuse-probe", "password": "probe-password-1" });
    let mut stream = server.connect().await.expect("connect");
    let signed_up = raw_http::post_json(&mut stream, "/users/sign-up", &credentials)
        .await
        .expect("sign-up answered");
    assert_eq!(signed_up.status, 201, "sign-up of the probe user");
    drop(stream);
    let sockets_before = server.sockets();

    let mut idle = spawn_clients(&server, IDLE, |mut stream| async move {
        let response = raw_http::request(&mut stream, "/").await.ok()?;
        (response.status == 200).then_some(())?;
        Some(closed_within(&mut stream, IDLE_LIMIT).await)
    });
    let mut partial = spawn_clients(&server, PARTIAL, |mut stream| async move {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            .await
            .ok()?;
        Some(closed_within(&mut stream, HEAD_LIMIT).await)
    });

    // A fresh client, once a second, for as long as the attack lasts.
    let (mut idle_closed, mut partial_closed) = (Vec::new(), Vec::new());
    let (mut slowest_get, mut slowest_login, mut probes) = (Duration::ZERO, Duration::ZERO, 0);
    let mut peak_sockets = 0;
    while !(idle.is_empty() && partial.is_empty()) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak_sockets = peak_sockets.max(server.sockets());
        for (login, slowest) in [
            (None, &mut slowest_get),
            (Some(&credentials), &mut slowest_login),
        ] {
            probes += 1;
            match probe(&server, login).await {
                Ok(took) => *slowest = (*slowest).max(took),
                Err(err) => {
                    failures.push(format!("a fresh client failed during the attack: {err}"))
                }
            }
        }
        collect_finished(&mut idle, &mut idle_closed);
        collect_finished(&mut partial, &mut partial_closed);
    }

    for (what, opened, closed, expected, limit) in [
        (
            "idle keep-alive",
            IDLE,
            idle_closed,
            IDLE_TIMEOUT,
            IDLE_LIMIT,
        ),
        ("partial-head", PARTIAL, partial_closed, HEAD, HEAD_LIMIT),
    ] {
        let set_up: Vec<Option<Duration>> = closed.into_iter().flatten().collect();
        println!(
            "timeouts: {} {what} connections: {}",
            set_up.len(),
            spread(&set_up, limit)
        );
        if set_up.len() < opened {
            failures.push(format!("some {what} connections could not be set up"));
        }
        let early = expected.mul_f32(0.95);
        if set_up.iter().any(|d| d.is_none_or(|d| d < early)) {
            failures.push(format!(
                "{what} connections must be closed {expected:?} after their last byte"
            ));
        }
    }
    println!(
        "timeouts: {probes} requests by a fresh client during the attack: slowest GET / {}, slowest log-in {}",
        millis(slowest_get),
        millis(slowest_login)
    );
    println!(
        "timeouts: server sockets: {sockets_before} before, {peak_sockets} at peak, {} after",
        server.sockets()
    );
    if slowest_get > SERVED_WITHIN || slowest_login > SERVED_WITHIN {
        failures.push(format!("a fresh client waited over {SERVED_WITHIN:?}"));
    }
    failures
}

async fn big_heads(server: Arc<Server>) -> Vec<String> {
    const SOCKETS: usize = 1000;
    const CHUNK: usize = 16 * 1024;
    const HEAD_BYTES: usize = 25 * CHUNK;
    const RSS_LIMIT_KIB: u64 = 100 * 1024;
    /// How long a client keeps its connection once its head is sent.
    const HOLD: Duration = Duration::from_secs(5);
    let rss_before = server.rss_kib();

    let mut clients = spawn_clients(&server, SOCKETS, |mut stream| async move {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
            .await
            .ok()?;
        let chunk = [b'a'; CHUNK];
        for _ in 0..HEAD_BYTES / CHUNK {
            if stream.write_all(&chunk).await.is_err() {
                return Some(Refused::WhileSending);
            }
        }
        Some(match closed_within(&mut stream, HOLD).await {
            Some(_) => Refused::AfterSending,
            None => Refused::Not,
        })
    });
    let mut peak_rss = rss_before;
    let mut outcomes = Vec::new();
    while !clients.is_empty() {
        peak_rss = peak_rss
            .max(server.rss_kib())
            .max(server.status_kib("VmHWM:"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        collect_finished(&mut clients, &mut outcomes);
    }
    let count = |wanted: Option<Refused>| outcomes.iter().filter(|o| **o == wanted).count();
    println!(
        "big-heads: {SOCKETS} connections sending {} KiB heads: {} closed by the server \
         mid-head, {} closed after it, {} still open {} s later, {} could not connect",
        HEAD_BYTES / 1024,
        count(Some(Refused::WhileSending)),
        count(Some(Refused::AfterSending)),
        count(Some(Refused::Not)),
        HOLD.as_secs(),
        count(None),
    );
    println!(
        "big-heads: server RSS {} MiB before, {} MiB at peak, {} MiB after",
        rss_before / 1024,
        peak_rss / 1024,
        server.rss_kib() / 1024,
    );
    if peak_rss > RSS_LIMIT_KIB {
        vec![format!(
            "server RSS reached {} MiB (limit {} MiB)",
            peak_rss / 1024,
            RSS_LIMIT_KIB / 1024
        )]
    } else {
        Vec::new()
    }
}

#[derive(Debug, PartialEq)]
enum Refused {
    WhileSending,
    AfterSending,
    Not,
}

async fn cap(server: Arc<Server>) -> Vec<String> {
    const CAP: usize = 64;
    const CONNECTIONS: usize = 500;
    const HOLD: Duration = Duration::from_secs(4);
    let mut failures = Vec::new();
    let listener_sockets = server.sockets();

    let (release, released) = watch::channel(false);
    let mut clients = JoinSet::new();
    for _ in 0..CONNECTIONS {
        let server = Arc::clone(&server);
        let mut released = released.clone();
        clients.spawn(async move {
            let hold = async {
                let mut stream = server.connect().await.ok()?;
                raw_http::request(&mut stream, "/").await.ok()?;
                // Served; keep the connection until told.
                std::future::pending::<()>().await;
                Some(())
            };
            tokio::select! {
                served = hold => served.is_some(),
                _ = released.wait_for(|released| *released) => false,
            }
        });
    }
    let started = Instant::now();
    let mut most_accepted = 0;
    while started.elapsed() < HOLD {
        most_accepted = most_accepted.max(server.sockets().saturating_sub(listener_sockets));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting = probe_within(&server, None, SERVED_WITHIN).await;
    let _ = release.send(true);
    clients.join_all().await;
    let after = probe(&server, None).await;
    println!(
        "cap: {CONNECTIONS} connections held {} s: at most {most_accepted} accepted at once (cap {CAP})",
        HOLD.as_secs()
    );
    println!(
        "cap: a fresh client while they were held: {}; once they closed: {}",
        describe(&waiting),
        describe(&after)
    );
    if most_accepted > CAP {
        failures.push(format!("{most_accepted} connections accepted, cap {CAP}"));
    }
    match after {
        Ok(took) if took <= SERVED_WITHIN => {}
        other => failures.push(format!(
            "a fresh client was not served within {SERVED_WITHIN:?} once the connections closed: {}",
            describe(&other)
        )),
    }
    failures
}

fn describe(probe: &Result<Duration, String>) -> String {
    match probe {
        Ok(took) => format!("served in {}", millis(*took)),
        Err(err) => format!("not served ({err})"),
    }
}

fn millis(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}
