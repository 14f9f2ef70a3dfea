//! Load driver for `bench/soak.sh`: mixed traffic against a running `todos`
//! for a bounded time, sampling the server every 10 s (README: "Soak").
//!
//! `soak ADDR PID SECS OUT_DIR`. Eight workers each loop over a todo's
//! life (create, read, mark done, list, delete) as their own user; one
//! more loops over an account's life (sign up, log in, ask for an email
//! code, refresh the token, read `/users/me`, then log out or delete the
//! account). Every 10 s the server's RSS and open file descriptors are
//! read from /proc, with the window's request count, p99 and failures.
//!
//! The first 30 s are a warm-up (load, no samples: caches and allocator
//! arenas fill), then SECS are measured. It passes when no request failed
//! (a 5xx, an unexpected status or a connection error) and nothing
//! drifted: mean RSS and open fds in the last window at most 1.2× the
//! reference window, the todo routes' p99 at most 1.5× (plus 2 ms, so
//! that a 1 ms p99 moving to 2 ms is not called drift; the account
//! routes, password hashing at ~20 ms each, are counted but not timed). The reference window is the
//! second minute and the last window the last minute; a run shorter than
//! four minutes compares its second half with its first. Writes
//! `samples.csv` and `summary.md` into OUT_DIR; exits 1 on failure.
//!
//! Our own driver rather than wrk or goose: each step needs the ids and
//! tokens of the step before (wrk's Lua would carry them awkwardly), and it
//! reuses the test suite's dependencies instead of building a load tool.

use std::{
    fmt::Write as _,
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const TODO_WORKERS: usize = 8;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const WARM_UP: Duration = Duration::from_secs(30);
const PASSWORD: &str = "soak-password-123";

#[derive(Default)]
struct Window {
    requests: usize,
    /// Of the todo routes.
    latencies_us: Vec<u64>,
    failures: u64,
}

#[derive(Clone)]
struct Driver {
    client: Client,
    /// Whether this driver's latencies count towards the p99: the todo
    /// routes' do; the account routes' (password hashing, ~20 ms) would
    /// make the p99 swing with their share of a window.
    timed: bool,
    base: String,
    window: Arc<Mutex<Window>>,
    /// The first failures, for the report.
    first_failures: Arc<Mutex<Vec<String>>>,
}

impl Driver {
    /// Sends a request; `None` (and a recorded failure) unless the status
    /// is `expected`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Option<Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let outcome = match request.send().await {
            Ok(response) if response.status() == expected => {
                Ok(response.json::<Value>().await.unwrap_or(Value::Null))
            }
            Ok(response) => Err(format!("{method} {path}: {}", response.status())),
            Err(e) => Err(format!("{method} {path}: {e}")),
        };
        let took = started.elapsed().as_micros() as u64;
        let mut window = self.window.lock().unwrap();
        window.requests += 1;
        if self.timed {
            window.latencies_us.push(took);
        }
        match outcome {
            Ok(body) => Some(body),
            Err(failure) => {
                window.failures += 1;
                let mut first = self.first_failures.lock().unwrap();
                if first.len() < 20 {
                    first.push(failure);
                }
                None
            }
        }
    }

    async fn sign_up_and_log_in(&self, username: &str) -> Option<Value> {
        let credentials = json!({ "username": username, "password": PASSWORD });
        self.send(
            Method::POST,
            "/users/sign-up",
            None,
            Some(credentials.clone()),
            StatusCode::CREATED,
        )
        .await?;
        self.send(
            Method::POST,
            "/users/log-in",
            None,
            Some(credentials),
            StatusCode::OK,
        )
        .await
    }

    /// A todo's life as the user of `token`, again and again, until `until`.
    async fn todos(self, worker: usize, token: String, until: Instant) {
        let token = Some(token.as_str());
        for n in 0u64.. {
            if Instant::now() >= until {
                return;
            }
            let body = json!({ "contents": format!("worker {worker} todo {n}") });
            let Some(todo) = self
                .send(
                    Method::POST,
                    "/todos",
                    token,
                    Some(body),
                    StatusCode::CREATED,
                )
                .await
            else {
                continue;
            };
            let path = format!("/todos/{}", todo["id"]);
            self.send(Method::GET, &path, token, None, StatusCode::OK)
                .await;
            let done = json!({ "is_done": true });
            self.send(Method::PATCH, &path, token, Some(done), StatusCode::OK)
                .await;
            self.send(Method::GET, "/todos?limit=20", token, None, StatusCode::OK)
                .await;
            self.send(Method::DELETE, &path, token, None, StatusCode::NO_CONTENT)
                .await;
        }
    }

    /// An account's life, again and again, until `until`.
    async fn accounts(self, until: Instant) {
        let run = std::process::id();
        for n in 0u64.. {
            if Instant::now() >= until {
                return;
            }
            let Some(login) = self.sign_up_and_log_in(&format!("soak-{run}-{n}")).await else {
                continue;
            };
            let token = login["access_token"].as_str().unwrap_or_default();
            let otp = json!({ "email": format!("soak-{run}-{n}@example.com") });
            self.send(
                Method::POST,
                "/users/email/otp",
                Some(token),
                Some(otp),
                StatusCode::ACCEPTED,
            )
            .await;
            let refresh = json!({ "refresh_token": login["refresh_token"] });
            let Some(refreshed) = self
                .send(
                    Method::POST,
                    "/users/token/refresh",
                    None,
                    Some(refresh),
                    StatusCode::OK,
                )
                .await
            else {
                continue;
            };
            let token = refreshed["access_token"].as_str().unwrap_or_default();
            self.send(Method::GET, "/users/me", Some(token), None, StatusCode::OK)
                .await;
            if n % 2 == 0 {
                self.send(
                    Method::POST,
                    "/users/log-out",
                    Some(token),
                    None,
                    StatusCode::NO_CONTENT,
                )
                .await;
            } else {
                let password = json!({ "password": PASSWORD });
                self.send(
                    Method::DELETE,
                    "/users/me",
                    Some(token),
                    Some(password),
                    StatusCode::NO_CONTENT,
                )
                .await;
            }
        }
    }
}

/// One 10-second window as the server and the clients saw it.
struct Sample {
    at_secs: u64,
    requests: usize,
    failures: u64,
    p99_ms: f64,
    rss_mib: f64,
    open_fds: usize,
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

fn p99_ms(latencies_us: &mut [u64]) -> f64 {
    if latencies_us.is_empty() {
        return 0.0;
    }
    latencies_us.sort_unstable();
    let at = (latencies_us.len() * 99).div_ceil(100) - 1;
    latencies_us[at] as f64 / 1000.0
}

/// The reference and last windows (sample `i` covers the 10 s up to
/// `10 (i + 1)`): the second minute and the last minute, or the two halves
/// of a short run.
fn windows(samples: &[Sample]) -> (&[Sample], &[Sample]) {
    let n = samples.len();
    let per_minute = 6;
    if n >= 4 * per_minute {
        (
            &samples[per_minute..2 * per_minute],
            &samples[n - per_minute..],
        )
    } else {
        (&samples[..n / 2], &samples[n / 2..])
    }
}

fn mean(samples: &[Sample], value: impl Fn(&Sample) -> f64) -> f64 {
    assert!(!samples.is_empty(), "a window without samples");
    samples.iter().map(value).sum::<f64>() / samples.len() as f64
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, pid, secs, out_dir] = args.as_slice() else {
        eprintln!("usage: soak HOST:PORT PID SECS OUT_DIR");
        return ExitCode::from(2);
    };
    let pid: u32 = pid.parse().expect("PID is a number");
    let secs: u64 = secs.parse().expect("SECS is a number");
    assert!(secs >= 40, "SECS must be at least 40 (four 10 s windows)");
    let driver = Driver {
        // A hung request fails (instead of hanging the run), and idle
        // connections are dropped before the server's 60 s keep-alive
        // close could race a request on them.
        client: Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        timed: true,
        base: format!("http://{addr}"),
        window: Arc::default(),
        first_failures: Arc::default(),
    };
    // The todo workers' users, one after the other before the clock
    // starts: all at once they would fill the hashing queue (503 by design).
    let mut tokens = Vec::new();
    for worker in 0..TODO_WORKERS {
        let name = format!("soak-todos-{}-{worker}", std::process::id());
        let Some(login) = driver.sign_up_and_log_in(&name).await else {
            eprintln!(
                "soak: could not sign up {name}: {:?}",
                driver.first_failures
            );
            return ExitCode::FAILURE;
        };
        tokens.push(
            login["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let until = Instant::now() + WARM_UP + Duration::from_secs(secs);
    let mut workers = tokio::task::JoinSet::new();
    for (worker, token) in tokens.into_iter().enumerate() {
        workers.spawn(driver.clone().todos(worker, token, until));
    }
    workers.spawn(
        Driver {
            timed: false,
            ..driver.clone()
        }
        .accounts(until),
    );
    tokio::time::sleep(WARM_UP).await;
    let warm_up = std::mem::take(&mut *driver.window.lock().unwrap());
    println!(
        "warm-up: {} requests in {} s, {} failed",
        warm_up.requests,
        WARM_UP.as_secs(),
        warm_up.failures
    );
    let started = Instant::now();

    let mut samples = Vec::new();
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + SAMPLE_EVERY, SAMPLE_EVERY);
    println!("| s | requests | failures | todo p99 ms | RSS MiB | open fds |");
    println!("|---:|---:|---:|---:|---:|---:|");
    while samples.len() < (secs / SAMPLE_EVERY.as_secs()) as usize {
        ticks.tick().await;
        let mut window = std::mem::take(&mut *driver.window.lock().unwrap());
        let sample = Sample {
            at_secs: started.elapsed().as_secs_f64().round() as u64,
            requests: window.requests,
            failures: window.failures,
            p99_ms: p99_ms(&mut window.latencies_us),
            rss_mib: rss_mib(pid),
            open_fds: open_fds(pid),
        };
        println!(
            "| {} | {} | {} | {:.2} | {:.1} | {} |",
            sample.at_secs,
            sample.requests,
            sample.failures,
            sample.p99_ms,
            sample.rss_mib,
            sample.open_fds
        );
        samples.push(sample);
    }
    workers.join_all().await;
    let late_failures = driver.window.lock().unwrap().failures;

    let (reference, last) = windows(&samples);
    let failures: u64 =
        warm_up.failures + samples.iter().map(|s| s.failures).sum::<u64>() + late_failures;
    let requests: usize = samples.iter().map(|s| s.requests).sum();
    let checks = [
        (
            "RSS MiB",
            mean(reference, |s| s.rss_mib),
            mean(last, |s| s.rss_mib),
            1.2,
            0.0,
        ),
        (
            "open fds",
            mean(reference, |s| s.open_fds as f64),
            mean(last, |s| s.open_fds as f64),
            1.2,
            0.0,
        ),
        (
            "todo p99 ms",
            mean(reference, |s| s.p99_ms),
            mean(last, |s| s.p99_ms),
            1.5,
            2.0,
        ),
    ];
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "{secs} s, {requests} requests ({:.0}/s), {failures} failed",
        requests as f64 / secs as f64
    );
    let _ = writeln!(summary);
    let _ = writeln!(
        summary,
        "| measure | reference window | last window | ratio | limit | held |"
    );
    let _ = writeln!(summary, "|---|---:|---:|---:|---:|---|");
    let mut passed = failures == 0;
    for (name, reference, last, ratio, slack) in checks {
        let held = last <= reference * ratio + slack;
        passed &= held;
        let _ = writeln!(
            summary,
            "| {name} | {reference:.2} | {last:.2} | {:.2} | {ratio}×{} | {} |",
            last / reference.max(f64::MIN_POSITIVE),
            if slack > 0.0 {
                format!(" + {slack}")
            } else {
                String::new()
            },
            if held { "yes" } else { "**no**" }
        );
    }
    let mut csv = String::from("seconds,requests,failures,p99_ms,rss_mib,open_fds\n");
    for s in &samples {
        let _ = writeln!(
            csv,
            "{},{},{},{:.3},{:.1},{}",
            s.at_secs, s.requests, s.failures, s.p99_ms, s.rss_mib, s.open_fds
        );
    }
    std::fs::create_dir_all(out_dir).unwrap();
    std::fs::write(format!("{out_dir}/samples.csv"), csv).unwrap();
    std::fs::write(format!("{out_dir}/summary.md"), &summary).unwrap();
    println!("\n{summary}");
    for failure in driver.first_failures.lock().unwrap().iter() {
        println!("failed: {failure}");
    }
    if passed {
        println!("soak passed");
        ExitCode::SUCCESS
    } else {
        println!("soak FAILED");
        ExitCode::FAILURE
    }
}
