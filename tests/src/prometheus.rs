//! A private Prometheus server for tests that check what it scrapes: its
//! own config (one scrape target, every second), data directory and
//! loopback port, killed with its handle.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;

use crate::services;

pub struct PrivatePrometheus {
    server: Child,
    url: String,
    client: reqwest::Client,
}

impl PrivatePrometheus {
    /// Writes a config under `dir` that scrapes `target` (`host:port`,
    /// path `/metrics`) every second, starts Prometheus with its data in
    /// `dir` and waits until it is ready; or returns `None` where it is not
    /// installed (unless `TODOS_REQUIRE_SERVICES` is set, as in CI: then it
    /// panics).
    pub async fn start(dir: &Path, target: &str) -> Option<Self> {
        if let Err(e) = Command::new("prometheus").arg("--version").output() {
            services::unavailable("prometheus", format_args!("is not installed ({e})"));
            return None;
        }
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: todos\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let port = services::free_port();
        let server = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let prometheus = Self {
            server,
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        };
        prometheus.wait_until_ready(Duration::from_secs(30)).await;
        Some(prometheus)
    }

    async fn wait_until_ready(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        let ready = format!("{}/-/ready", self.url);
        loop {
            if let Ok(response) = self.client.get(&ready).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "prometheus was not ready within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `promql` evaluated now (`/api/v1/query`): the result vector, each
    /// element `{"metric": {labels}, "value": [time, "value"]}`.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        let url =
            url::Url::parse_with_params(&format!("{}/api/v1/query", self.url), [("query", promql)])
                .unwrap();
        let body: Value = self
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["status"], "success", "{promql}: {body}");
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for PrivatePrometheus {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
