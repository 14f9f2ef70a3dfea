//! Runs the real `todos` binary for the binary tests (`mod support;` in each):
//! starting `serve` and reading its address is written once here, and each
//! test sets only the environment it is about.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use todos_tests::{mariadb::PrivateMariaDb, redis::PrivateRedis};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::{Child, ChildStdout, Command},
    task::JoinHandle,
};

/// The binary, run in `dir` and killed if the test drops it; the
/// environment is inherited until the caller changes it.
pub fn todos_in(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_todos"));
    command.current_dir(dir).kill_on_drop(true);
    command
}

/// Signing key of the servers [`serve_sqlite_in`] starts.
const SECRET: &str = "binary-test-signing-key-0123456789abcdefgh";

/// `todos serve` on `todos.db` in `dir` (the default `DATABASE_URL`) with
/// the in-process cache, logging warnings only.
pub async fn serve_sqlite_in(dir: &Path) -> Server {
    let mut command = todos_in(dir);
    command
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn");
    serve(command).await
}

/// Logs in with `credentials` (username and password): the access token.
pub async fn log_in(
    client: &reqwest::Client,
    base: &str,
    credentials: &serde_json::Value,
) -> String {
    let login: serde_json::Value = client
        .post(format!("{base}/users/log-in"))
        .json(credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["access_token"].as_str().unwrap().to_owned()
}

/// A running `todos serve`.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:<port>`, from its `listening on` line.
    pub address: String,
    /// Its stdout after that line.
    pub stdout: BufReader<ChildStdout>,
    /// Where the command pipes stderr: all of it (the log), read from the
    /// start so that a full pipe never stalls the binary; ends when it exits.
    pub stderr: Option<JoinHandle<String>>,
}

/// Runs `command` (see [`todos_in`]) as `serve` on a free loopback port and
/// waits up to 30 s for the `listening on` line, which names the real port.
pub async fn serve(mut command: Command) -> Server {
    let mut child = command
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().map(|mut stderr| {
        tokio::spawn(async move {
            let mut all = String::new();
            stderr.read_to_string(&mut all).await.unwrap();
            all
        })
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
        .await
        .expect("listening line within 30 s")
        .expect("stdout is readable");
    let address = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(
        !address.ends_with(":0"),
        "the real port is printed: {address}"
    );
    Server {
        child,
        address,
        stdout,
        stderr,
    }
}

impl Server {
    /// SIGTERM, as a service manager stops it; its exit status, within 15 s.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("exits within 15 s of SIGTERM")
            .unwrap()
    }
}

/// The six digits after `marker` in the first email in `mail_dir` that has
/// it, waiting up to 5 s for the background mailer to write it.
pub async fn read_code(mail_dir: &Path, marker: &str) -> String {
    for _ in 0..200 {
        if let Ok(entries) = std::fs::read_dir(mail_dir) {
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if text.contains(marker) {
                    return todos_tests::code_after(&text, marker);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no code email arrived");
}

/// A MariaDB and a Redis of the test's own, for several `todos` processes
/// to share as a deployment behind a load balancer would.
pub struct SharedServers {
    pub db: PrivateMariaDb,
    pub redis: PrivateRedis,
    dir: tempfile::TempDir,
}

impl SharedServers {
    /// Both servers, or `None` where either is not installed (CI installs
    /// both and sets `TODOS_REQUIRE_SERVICES`, so there it panics instead).
    pub fn start() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("redis")).unwrap();
        let redis = PrivateRedis::start(&dir.path().join("redis"))?;
        let db = PrivateMariaDb::start(dir.path())?;
        Some(Self { db, redis, dir })
    }

    /// Where the process called `name` runs; its emails go to `mail` in it.
    pub fn home_of(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `todos serve` on both servers as the process `name`, with the
    /// shared signing key and `env` on top; start one process before the
    /// next, so that only one runs the migrations.
    pub async fn serve(&self, name: &str, env: &[(&str, &str)]) -> Server {
        let home = self.home_of(name);
        std::fs::create_dir_all(&home).unwrap();
        let mut command = todos_in(&home);
        command
            .env("DATABASE_URL", self.db.url())
            .env("REDIS_URL", self.redis.url())
            .env("TODOS_MAIL_DIR", home.join("mail"))
            .env("TODOS_INSTANCES", "2")
            .env("JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        serve(command).await
    }
}

/// Every todo id of the user, page by page.
pub async fn todo_ids(client: &reqwest::Client, base: &str, token: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut url = format!("{base}/todos?limit=1000");
    loop {
        let page: serde_json::Value = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let todos = page["todos"].as_array().unwrap_or_else(|| panic!("{page}"));
        ids.extend(todos.iter().map(|todo| todo["id"].as_i64().unwrap()));
        match page["next"].as_str() {
            Some(next) => url = format!("{base}{next}"),
            None => return ids,
        }
    }
}
