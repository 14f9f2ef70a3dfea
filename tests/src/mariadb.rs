//! A private MariaDB server for tests that stop and restart it: its own
//! data directory and port, owned by the test.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::services;

pub struct PrivateMariaDb {
    dir: PathBuf,
    port: u16,
    server: Option<Child>,
}

impl PrivateMariaDb {
    /// Initialises a data directory under `dir` and starts the server, or
    /// returns `None` where MariaDB is not installed (unless
    /// `TODOS_REQUIRE_SERVICES` is set, as in CI: then it panics).
    pub fn start(dir: &Path) -> Option<Self> {
        if let Err(e) = Command::new("mariadbd").arg("--version").output() {
            services::unavailable("mariadbd", format_args!("is not installed ({e})"));
            return None;
        }
        let data = dir.join("data");
        let user = whoami();
        let status = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={user}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db runs");
        assert!(status.success(), "mariadb-install-db failed");
        let port = services::free_port();
        let mut db = Self {
            dir: dir.to_owned(),
            port,
            server: None,
        };
        db.start_server();
        db.sql("CREATE USER 'todos'@'%' IDENTIFIED BY 'todos'; CREATE DATABASE todos; GRANT ALL PRIVILEGES ON todos.* TO 'todos'@'%';");
        Some(db)
    }

    pub fn url(&self) -> String {
        format!("mysql://todos:todos@127.0.0.1:{}/todos", self.port)
    }

    /// Stops the server (SIGKILL: as abrupt as a crash or a network cut).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts it again on the same data and port.
    pub fn start_server(&mut self) {
        let server = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--port={}", self.port))
            .args(["--bind-address=127.0.0.1", "--skip-log-bin"])
            .arg(format!("--user={}", whoami()))
            .arg(format!(
                "--log-error={}",
                self.dir.join("error.log").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        self.server = Some(server);
        services::wait_until_listening("mariadbd", self.port, Duration::from_secs(10));
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("mariadb.sock")
    }

    fn sql(&self, sql: &str) {
        let status = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "-e", sql])
            .status()
            .expect("mariadb client runs");
        assert!(status.success(), "{sql}");
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        self.stop();
    }
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().expect("id runs");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
