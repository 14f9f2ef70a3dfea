//! Headless Chromium from Debian (`chromium`, `chromium-driver`), driven
//! through chromedriver's WebDriver, for the tests that use the service's
//! pages as a person would (Swagger UI, the web app). Skipped where
//! chromedriver is not installed, unless `TODOS_REQUIRE_SERVICES` is set
//! (CI installs it and sets that).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, wd::Capabilities};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::services;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Long enough for a debug build on a busy 2-core machine.
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);

/// A chromedriver process on a free loopback port, killed on drop.
pub struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// `None` (after saying why) when chromedriver is not installed and
    /// the environment does not require it.
    pub fn start() -> Option<Self> {
        if !Path::new(CHROMEDRIVER).exists() {
            services::unavailable(
                CHROMEDRIVER,
                "is not installed (apt-get install chromium chromium-driver)",
            );
            return None;
        }
        let port = services::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Self { child, port };
        services::wait_until_listening("chromedriver", port, Duration::from_secs(10));
        Some(driver)
    }

    /// A headless Chromium session with its own profile directory. Plain
    /// HTTP to chromedriver on loopback: no TLS stack needed.
    pub async fn connect(&self, profile: &Path) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1400",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromedriver session")
    }

    /// Runs `walk` in a fresh browser and saves a screenshot of where it
    /// ended into `screenshots` (`NAME.png`, or `NAME-failure.png`).
    ///
    /// A renderer that crashes (seen once on a loaded 2-core machine:
    /// "session deleted as the browser has closed the connection") is the
    /// browser's failure, not the page's: the walk gets one more browser.
    /// Any other failure is returned at once.
    pub async fn walk(
        &self,
        screenshots: &Path,
        name: &str,
        walk: impl AsyncFn(&Client) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let profile = tempfile::tempdir().expect("a fresh browser profile");
            let browser = self.connect(profile.path()).await;
            let outcome = walk(&browser).await;
            let file = match outcome {
                Ok(()) => format!("{name}.png"),
                Err(_) => format!("{name}-failure.png"),
            };
            if let Err(e) = save_screenshot(&browser, screenshots, &file).await {
                eprintln!("no screenshot: {e}");
            }
            let _ = browser.close().await;
            match outcome {
                Err(e) if attempts < 2 && browser_gone(&e) => {
                    eprintln!("the browser went away, trying once more: {e:#}");
                }
                outcome => return outcome,
            }
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `error` says the browser itself died (crashed renderer, lost
/// session) rather than that the page misbehaved.
fn browser_gone(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("invalid session id") || text.contains("disconnected")
}

/// The first element matching `selector`, once there is one.
pub async fn wait_for(browser: &Client, selector: &str) -> anyhow::Result<Element> {
    browser
        .wait()
        .at_most(UI_TIMEOUT)
        .for_element(Locator::Css(selector))
        .await
        .map_err(|e| anyhow::anyhow!("waiting for {selector}: {e}"))
}

/// Returns once nothing matches `selector`.
pub async fn wait_for_absent(browser: &Client, selector: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + UI_TIMEOUT;
    while !browser.find_all(Locator::Css(selector)).await?.is_empty() {
        anyhow::ensure!(Instant::now() < deadline, "{selector} is still there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Saves the viewport as a PNG into `dir` (the tests pass cargo's scratch
/// dir for integration tests, `target/tmp/`, kept after the run) and
/// prints where.
pub async fn save_screenshot(browser: &Client, dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, browser.screenshot().await?)?;
    eprintln!("screenshot: {}", path.display());
    Ok(path)
}
