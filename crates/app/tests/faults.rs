//! Faults in the middle of traffic (README: "Running more than one
//! instance"): two real `todos` processes share one MariaDB and one Redis
//! while clients create, read and delete todos, sign up, log in and ask
//! for email codes, alternating between the two. Redis is killed and
//! restarted, then MariaDB, then one of the processes (SIGKILL, and started
//! again). Only the requests that depend on the dead part may fail, and
//! only as it says: 503 for Redis (email codes only) and the database, no
//! answer for the killed process. At the end every acknowledged todo is
//! there and every acknowledged deletion stuck.
//!
//! Needs `mariadbd` and `redis-server`; skipped without them, except in CI
//! (`TODOS_REQUIRE_SERVICES`).

mod support;

use std::{
    collections::BTreeSet,
    fmt::Write as _,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{Client, Method};
use serde_json::{Value, json};
use support::{SharedServers, log_in, todo_ids};

const TODO_WORKERS: usize = 4;
const PASSWORD: &str = "faults-password-123";
/// How long Redis and process B stay dead.
const OUTAGE: Duration = Duration::from_secs(4);
/// How long MariaDB stays dead: longer than the pool's 5 s acquire
/// timeout, within which requests wait for a connection and then succeed
/// (a shorter outage is only latency).
const DATABASE_OUTAGE: Duration = Duration::from_secs(8);
/// Traffic with nothing dead, before, between and after the faults.
const CALM: Duration = Duration::from_secs(3);
/// A request sent this soon after a part was seen back may still meet the
/// outage's aftermath (a pooled connection to the old server, say).
const AFTERMATH: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Redis,
    Database,
    /// Process B, SIGKILLed and started again.
    ProcessB,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Route {
    CreateTodo,
    ReadTodo,
    DeleteTodo,
    SignUp,
    LogIn,
    RequestCode,
}

impl Route {
    /// The answer that means it worked.
    fn success(self) -> u16 {
        match self {
            Route::CreateTodo | Route::SignUp => 201,
            Route::DeleteTodo => 204,
            Route::RequestCode => 202,
            Route::ReadTodo | Route::LogIn => 200,
        }
    }
}

/// What came back: a status, or nothing (connection refused or reset,
/// or no answer within the client's timeout).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Status(u16),
    NoAnswer,
}

struct Record {
    route: Route,
    /// 0 for A, 1 for B.
    instance: usize,
    sent: Instant,
    done: Instant,
    outcome: Outcome,
}

impl Record {
    fn failed(&self) -> bool {
        self.outcome != Outcome::Status(self.route.success())
    }

    /// "CreateTodo on B → NoAnswer, sent at 12.3 s (took 0.1 s)".
    fn describe(&self, started: Instant) -> String {
        format!(
            "{:?} on {} → {:?}, sent at {:.1} s (took {:.1} s)",
            self.route,
            ["A", "B"][self.instance],
            self.outcome,
            (self.sent - started).as_secs_f64(),
            (self.done - self.sent).as_secs_f64(),
        )
    }
}

/// From a part's death until it was seen working again.
struct Outage {
    fault: Fault,
    from: Instant,
    to: Instant,
}

impl Outage {
    fn overlaps(&self, record: &Record) -> bool {
        record.done >= self.from && record.sent <= self.to + AFTERMATH
    }

    /// Whether this outage explains `record`'s failure: only what depends
    /// on the dead part may fail, and only in the way it says.
    fn explains(&self, record: &Record) -> bool {
        if !self.overlaps(record) {
            return false;
        }
        match (self.fault, record.outcome) {
            (Fault::Redis, Outcome::Status(503)) => record.route == Route::RequestCode,
            (Fault::Database, Outcome::Status(503)) => true,
            (Fault::ProcessB, Outcome::NoAnswer) => record.instance == 1,
            _ => false,
        }
    }
}

/// The clients' side: where A and B are, and every request's record.
struct Traffic {
    client: Client,
    bases: RwLock<[String; 2]>,
    records: Mutex<Vec<Record>>,
    stop: AtomicBool,
}

impl Traffic {
    async fn send(
        &self,
        instance: usize,
        route: Route,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (Outcome, Value) {
        let base = self.bases.read().unwrap()[instance].clone();
        let mut request = self.client.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let sent = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => Some((status, bytes)),
                    Err(_) => None,
                }
            }
            Err(_) => None,
        };
        let (outcome, body) = match answer {
            Some((status, bytes)) => (
                Outcome::Status(status),
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ),
            None => (Outcome::NoAnswer, Value::Null),
        };
        self.records.lock().unwrap().push(Record {
            route,
            instance,
            sent,
            done: Instant::now(),
            outcome,
        });
        (outcome, body)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// What one todo worker saw acknowledged.
#[derive(Default)]
struct Ledger {
    created: BTreeSet<i64>,
    deleted: BTreeSet<i64>,
    /// Creates without a clear answer (503 or none): they may or may not
    /// have been stored.
    unsure_creates: usize,
    /// Deletions without a clear answer: those todos may or may not be
    /// gone (a 503 can come after the database committed, when it died
    /// before it could say so).
    unsure_deletes: BTreeSet<i64>,
}

/// Creates a todo, reads it back, and deletes every third, alternating
/// between the instances request by request.
async fn todo_worker(traffic: Arc<Traffic>, token: String, worker: usize) -> Ledger {
    let mut ledger = Ledger::default();
    let mut turn = worker;
    let mut next = move || {
        turn += 1;
        turn % 2
    };
    while !traffic.stopped() {
        let body = json!({ "contents": format!("worker {worker}, todo {}", ledger.created.len()) });
        let (outcome, todo) = traffic
            .send(
                next(),
                Route::CreateTodo,
                Method::POST,
                "/todos",
                Some(&token),
                Some(body),
            )
            .await;
        let id = match outcome {
            Outcome::Status(201) => todo["id"].as_i64().unwrap(),
            _ => {
                ledger.unsure_creates += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        ledger.created.insert(id);
        let path = format!("/todos/{id}");
        traffic
            .send(
                next(),
                Route::ReadTodo,
                Method::GET,
                &path,
                Some(&token),
                None,
            )
            .await;
        if ledger.created.len() % 3 == 0 {
            let (outcome, _) = traffic
                .send(
                    next(),
                    Route::DeleteTodo,
                    Method::DELETE,
                    &path,
                    Some(&token),
                    None,
                )
                .await;
            match outcome {
                Outcome::Status(204) => ledger.deleted.insert(id),
                _ => ledger.unsure_deletes.insert(id),
            };
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ledger
}

/// Signs up a new user, logs in, and asks for email codes (five, the
/// hourly allowance per user), then starts over with another user.
async fn account_worker(traffic: Arc<Traffic>) {
    let mut turn = 0;
    let mut next = move || {
        turn += 1;
        turn % 2
    };
    let mut user = 0;
    while !traffic.stopped() {
        user += 1;
        let credentials = json!({ "username": format!("account-{user}"), "password": PASSWORD });
        let pause = || tokio::time::sleep(Duration::from_millis(100));
        let (outcome, _) = traffic
            .send(
                next(),
                Route::SignUp,
                Method::POST,
                "/users/sign-up",
                None,
                Some(credentials.clone()),
            )
            .await;
        pause().await;
        if outcome != Outcome::Status(201) {
            continue;
        }
        let (outcome, login) = traffic
            .send(
                next(),
                Route::LogIn,
                Method::POST,
                "/users/log-in",
                None,
                Some(credentials),
            )
            .await;
        pause().await;
        if outcome != Outcome::Status(200) {
            continue;
        }
        let token = login["access_token"].as_str().unwrap().to_owned();
        for _ in 0..5 {
            if traffic.stopped() {
                break;
            }
            let address = json!({ "email": format!("account-{user}@example.com") });
            traffic
                .send(
                    next(),
                    Route::RequestCode,
                    Method::POST,
                    "/users/email/otp",
                    Some(&token),
                    Some(address),
                )
                .await;
            pause().await;
        }
    }
}

/// Waits (up to a minute) until `path` answers `expected` on both
/// instances: the dead part is back as far as they can tell.
async fn until_both_answer(
    traffic: &Traffic,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
    expected: u16,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for instance in 0..2 {
        loop {
            let base = traffic.bases.read().unwrap()[instance].clone();
            let mut request = traffic
                .client
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(token);
            if !body.is_null() {
                request = request.json(&body);
            }
            let response = request.send().await;
            if response.is_ok_and(|response| response.status().as_u16() == expected) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{path} did not recover within a minute"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn only_what_depends_on_a_dead_part_fails_and_no_acknowledged_todo_is_lost() {
    let Some(mut servers) = SharedServers::start() else {
        return;
    };
    let env = [("TODOS_SIGNUP_LIMIT", "0")];
    let server_a = servers.serve("a", &env).await;
    let mut server_b = servers.serve("b", &env).await;
    let client = Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let traffic = Arc::new(Traffic {
        client: client.clone(),
        bases: RwLock::new([server_a.address.clone(), server_b.address.clone()]),
        records: Mutex::default(),
        stop: AtomicBool::new(false),
    });

    let mut tokens = Vec::new();
    for worker in 0..=TODO_WORKERS {
        let credentials =
            json!({ "username": format!("todo-worker-{worker}"), "password": PASSWORD });
        let signed_up = client
            .post(format!("{}/users/sign-up", server_a.address))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(signed_up.status(), 201);
        tokens.push(log_in(&client, &server_a.address, &credentials).await);
    }
    // The last token is the probe's, which watches for recovery.
    let probe = tokens.pop().unwrap();
    let todo_workers: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(worker, token)| tokio::spawn(todo_worker(traffic.clone(), token.clone(), worker)))
        .collect();
    let accounts = tokio::spawn(account_worker(traffic.clone()));

    let mut outages = Vec::new();
    let started = Instant::now();
    tokio::time::sleep(CALM).await;

    let from = Instant::now();
    servers.redis.stop();
    tokio::time::sleep(OUTAGE).await;
    servers.redis.start_server();
    let code_for_the_probe = json!({ "email": "probe@example.com" });
    until_both_answer(
        &traffic,
        Method::POST,
        "/users/email/otp",
        &probe,
        code_for_the_probe,
        202,
    )
    .await;
    outages.push(Outage {
        fault: Fault::Redis,
        from,
        to: Instant::now(),
    });
    tokio::time::sleep(CALM).await;

    let from = Instant::now();
    servers.db.stop();
    tokio::time::sleep(DATABASE_OUTAGE).await;
    servers.db.start_server();
    until_both_answer(
        &traffic,
        Method::GET,
        "/todos?limit=1",
        &probe,
        Value::Null,
        200,
    )
    .await;
    outages.push(Outage {
        fault: Fault::Database,
        from,
        to: Instant::now(),
    });
    tokio::time::sleep(CALM).await;

    let from = Instant::now();
    server_b.child.kill().await.unwrap();
    tokio::time::sleep(OUTAGE).await;
    server_b = servers.serve("b", &env).await;
    traffic.bases.write().unwrap()[1] = server_b.address.clone();
    outages.push(Outage {
        fault: Fault::ProcessB,
        from,
        to: Instant::now(),
    });
    tokio::time::sleep(CALM).await;

    traffic.stop.store(true, Ordering::Relaxed);
    let mut ledgers = Vec::new();
    for worker in todo_workers {
        ledgers.push(worker.await.unwrap());
    }
    accounts.await.unwrap();

    // Every failure is one that a dead part explains.
    let records = std::mem::take(&mut *traffic.records.lock().unwrap());
    let unexplained: Vec<_> = records
        .iter()
        .filter(|record| record.failed())
        .filter(|record| !outages.iter().any(|outage| outage.explains(record)))
        .collect();
    eprintln!("{}", report(&records, &outages, &ledgers, started));
    let first: Vec<_> = unexplained
        .iter()
        .take(10)
        .map(|record| record.describe(started))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} failures no outage explains, the first: {first:#?}",
        unexplained.len(),
    );
    // Both outages of a shared server were noticed by the traffic: the
    // test saw what it claims to test.
    for fault in [Fault::Redis, Fault::Database, Fault::ProcessB] {
        assert!(
            records.iter().any(|record| outages
                .iter()
                .any(|outage| outage.fault == fault && outage.explains(record))),
            "no request failed during the {fault:?} outage: did it happen?"
        );
    }

    // Nothing acknowledged is lost, nothing acknowledged as deleted is back.
    for (ledger, token) in ledgers.iter().zip(&tokens) {
        let stored: BTreeSet<i64> = todo_ids(&client, &server_a.address, token)
            .await
            .into_iter()
            .collect();
        let kept: BTreeSet<i64> = ledger
            .created
            .iter()
            .filter(|id| !ledger.deleted.contains(id) && !ledger.unsure_deletes.contains(id))
            .copied()
            .collect();
        let unsure_gone = ledger.unsure_deletes.difference(&stored).count();
        eprintln!(
            "deletions without a clear answer: {}, of which took effect: {unsure_gone}",
            ledger.unsure_deletes.len()
        );
        let lost: Vec<_> = kept.difference(&stored).collect();
        assert!(lost.is_empty(), "acknowledged todos lost: {lost:?}");
        let undeleted: Vec<_> = ledger.deleted.intersection(&stored).collect();
        assert!(undeleted.is_empty(), "deleted todos back: {undeleted:?}");
        let unacknowledged = stored.difference(&ledger.created).count();
        assert!(
            unacknowledged <= ledger.unsure_creates,
            "{unacknowledged} stored todos were never acknowledged, \
             but only {} creates had no clear answer",
            ledger.unsure_creates
        );
    }
}

/// Requests and failures by outage, for the test's output.
fn report(records: &[Record], outages: &[Outage], ledgers: &[Ledger], started: Instant) -> String {
    let mut out = format!(
        "{} requests, {} failed; todos acknowledged {}, deleted {}, creates unsure {}\n",
        records.len(),
        records.iter().filter(|r| r.failed()).count(),
        ledgers.iter().map(|l| l.created.len()).sum::<usize>(),
        ledgers.iter().map(|l| l.deleted.len()).sum::<usize>(),
        ledgers.iter().map(|l| l.unsure_creates).sum::<usize>(),
    );
    for outage in outages {
        let during: Vec<_> = records.iter().filter(|r| outage.overlaps(r)).collect();
        let failures: Vec<_> = during.iter().copied().filter(|r| r.failed()).collect();
        let _ = writeln!(
            out,
            "{:?}: down at {:.1} s, back {:.1} s later; {} requests, {} failed: {:?}",
            outage.fault,
            (outage.from - started).as_secs_f64(),
            (outage.to - outage.from).as_secs_f64(),
            during.len(),
            failures.len(),
            summarise(&failures),
        );
    }
    out
}

fn summarise(failures: &[&Record]) -> Vec<String> {
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for record in failures {
        let kind = format!(
            "{:?} on {} → {:?}",
            record.route,
            ["A", "B"][record.instance],
            record.outcome
        );
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((kind, 1)),
        }
    }
    kinds
        .into_iter()
        .map(|(kind, n)| format!("{n}× {kind}"))
        .collect()
}
