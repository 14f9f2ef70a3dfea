//! Swagger UI in a real browser, as the old service's users drove it: log in
//! with "Try it out", paste the token into "Authorize", list the todos.
//!
//! Headless Chromium from Debian (`chromium`, `chromium-driver`) through
//! chromedriver's WebDriver. Skipped when chromedriver is not installed,
//! unless `TODOS_REQUIRE_SERVICES` is set (CI installs it and sets that).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, wd::Capabilities};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use todos_tests::{TestApp, services, spawn_app};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Long enough for a debug build on a busy 2-core machine.
const UI_TIMEOUT: Duration = Duration::from_secs(30);

const USERNAME: &str = "swagger-user";
const PASSWORD: &str = "typed-in-the-browser";
const TODO: &str = "water the plants (made before the browser opened)";

#[tokio::test]
async fn log_in_authorize_and_list_todos_in_swagger_ui() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    let started = Instant::now();
    let app = spawn_app().await;
    assert_eq!(app.sign_up(USERNAME, PASSWORD).await.status(), 201);
    let token = {
        let body: Value = app.log_in(USERNAME, PASSWORD).await.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    };
    app.new_todo(&token, TODO).await;

    // A renderer that crashes (seen once on a loaded 2-core machine:
    // "session deleted as the browser has closed the connection") is the
    // browser's failure, not the page's: the walk-through gets one more
    // browser. Any other failure fails at once.
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        let profile = tempfile::tempdir().expect("a fresh browser profile");
        let browser = driver.connect(profile.path()).await;
        let outcome = drive_swagger_ui(&browser, &app).await;
        let name = match outcome {
            Ok(()) => "swagger-ui-try-it-out.png",
            Err(_) => "swagger-ui-failure.png",
        };
        if let Err(e) = save_screenshot(&browser, name).await {
            eprintln!("no screenshot: {e}");
        }
        let _ = browser.close().await;
        match outcome {
            Err(e) if attempts < 2 && browser_gone(&e) => {
                eprintln!("the browser went away, trying once more: {e:#}");
            }
            outcome => break outcome,
        }
    };
    drop(driver);
    if let Err(e) = outcome {
        panic!("Swagger UI walk-through failed: {e:#}");
    }
    eprintln!("Swagger UI walk-through took {:?}", started.elapsed());
}

/// Whether `error` says the browser itself died (crashed renderer, lost
/// session) rather than that the page misbehaved.
fn browser_gone(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("invalid session id") || text.contains("disconnected")
}

/// The walk-through itself; the token it uses is the one the UI shows.
async fn drive_swagger_ui(browser: &Client, app: &TestApp) -> anyhow::Result<()> {
    browser.goto(&app.url("/docs")).await?;

    // Log in with "Try it out", typing the credentials into the body.
    let log_in = open_operation(browser, "users", "log_in").await?;
    let body = log_in
        .find(Locator::Css("textarea.body-param__text"))
        .await?;
    body.clear().await?;
    body.send_keys(&json!({ "username": USERNAME, "password": PASSWORD }).to_string())
        .await?;
    let (status, text) = execute(browser, &log_in).await?;
    anyhow::ensure!(status == "200", "log-in answered {status}: {text}");
    let response: Value = serde_json::from_str(&text)?;
    let token = response["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no access_token in the response panel"))?;

    // Authorize with the token, as a user pastes it.
    browser
        .find(Locator::Css(".auth-wrapper .btn.authorize"))
        .await?
        .click()
        .await?;
    let dialog = wait_for(browser, ".dialog-ux .modal-ux").await?;
    dialog
        .find(Locator::Css("input[type=text]"))
        .await?
        .send_keys(token)
        .await?;
    dialog
        .find(Locator::Css(".auth-btn-wrapper .btn.authorize"))
        .await?
        .click()
        .await?;
    wait_for(browser, ".dialog-ux .auth-btn-wrapper .btn-done")
        .await?
        .click()
        .await?;

    // The page as a user first sees it, now authorized (locks closed).
    wait_for_absent(browser, ".dialog-ux").await?;
    browser.execute("window.scrollTo(0, 0)", vec![]).await?;
    save_screenshot(browser, "swagger-ui-overview.png").await?;

    // GET /todos with "Try it out": the todo made over HTTP shows up.
    let list = open_operation(browser, "todos", "list_todos").await?;
    let (status, text) = execute(browser, &list).await?;
    anyhow::ensure!(status == "200", "GET /todos answered {status}: {text}");
    anyhow::ensure!(text.contains(TODO), "the todo is not listed: {text}");
    let listed: Value = serde_json::from_str(&text)?;
    anyhow::ensure!(listed["todos"][0]["contents"] == TODO, "{listed}");
    // The screenshot shows the operation, its request and the response.
    browser
        .execute(
            "arguments[0].scrollIntoView({block: 'start'})",
            vec![serde_json::to_value(&list)?],
        )
        .await?;
    Ok(())
}

/// Expands an operation (`#operations-TAG-OPERATION_ID`) and clicks "Try it out".
async fn open_operation(
    browser: &Client,
    tag: &str,
    operation_id: &str,
) -> anyhow::Result<Element> {
    let selector = format!("#operations-{tag}-{operation_id}");
    let operation = wait_for(browser, &selector).await?;
    operation
        .find(Locator::Css(".opblock-summary-control"))
        .await?
        .click()
        .await?;
    wait_for(browser, &format!("{selector} .try-out__btn"))
        .await?
        .click()
        .await?;
    wait_for(browser, &format!("{selector} .btn.execute")).await?;
    Ok(operation)
}

/// Clicks "Execute" and returns the live response's status and body text.
async fn execute(browser: &Client, operation: &Element) -> anyhow::Result<(String, String)> {
    operation
        .find(Locator::Css(".btn.execute"))
        .await?
        .click()
        .await?;
    let id = operation.attr("id").await?.unwrap_or_default();
    let status = wait_for(
        browser,
        &format!("#{id} .live-responses-table .response .response-col_status"),
    )
    .await?
    .text()
    .await?;
    let body = operation
        .find(Locator::Css(
            ".live-responses-table .response .response-col_description pre",
        ))
        .await?
        .text()
        .await?;
    Ok((status.trim().to_owned(), body))
}

async fn wait_for(browser: &Client, selector: &str) -> anyhow::Result<Element> {
    browser
        .wait()
        .at_most(UI_TIMEOUT)
        .for_element(Locator::Css(selector))
        .await
        .map_err(|e| anyhow::anyhow!("waiting for {selector}: {e}"))
}

async fn wait_for_absent(browser: &Client, selector: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + UI_TIMEOUT;
    while !browser.find_all(Locator::Css(selector)).await?.is_empty() {
        anyhow::ensure!(Instant::now() < deadline, "{selector} is still there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Saves the viewport as a PNG under cargo's scratch dir for integration
/// tests (`target/tmp/`, kept after the run) and prints where.
async fn save_screenshot(browser: &Client, name: &str) -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    std::fs::write(&path, browser.screenshot().await?)?;
    eprintln!("Swagger UI screenshot: {}", path.display());
    Ok(path)
}

/// A chromedriver process on a free loopback port, killed on drop.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// `None` (after saying why) when chromedriver is not installed and
    /// the environment does not require it.
    fn start() -> Option<Self> {
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
    async fn connect(&self, profile: &Path) -> Client {
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
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
