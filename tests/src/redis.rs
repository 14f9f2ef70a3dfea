//! A private `redis-server` for tests that stop and restart it: its own
//! port and directory, owned by the test, killed with its handle even when
//! the test panics.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::services;

pub struct PrivateRedis {
    dir: PathBuf,
    port: u16,
    server: Option<Child>,
}

impl PrivateRedis {
    /// Starts a server on a free loopback port with `dir` as its working
    /// directory (nothing is saved there), or returns `None` where
    /// `redis-server` is not installed (unless `TODOS_REQUIRE_SERVICES` is
    /// set, as in CI: then it panics).
    pub fn start(dir: &Path) -> Option<Self> {
        if let Err(e) = Command::new("redis-server").arg("--version").output() {
            services::unavailable("redis-server", format_args!("is not available ({e})"));
            return None;
        }
        let mut redis = Self {
            dir: dir.to_owned(),
            port: services::free_port(),
            server: None,
        };
        redis.start_server();
        Some(redis)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops the server (SIGKILL: as abrupt as a crash). Everything it held
    /// is gone: it keeps no data on disk.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts it (again) on the same port, empty.
    pub fn start_server(&mut self) {
        let server = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.server = Some(server);
        services::wait_until_listening("redis-server", self.port, Duration::from_secs(5));
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
