//! Swagger UI in a real browser, as the old service's users drove it: log in
//! with "Try it out", paste the token into "Authorize", list the todos.
//!
//! Headless Chromium from Debian (`chromium`, `chromium-driver`) through
//! chromedriver's WebDriver. Skipped when chromedriver is not installed,
//! unless `TODOS_REQUIRE_SERVICES` is set (CI installs it and sets that).

use std::{path::Path, time::Instant};

use fantoccini::{Client, Locator, elements::Element};
use serde_json::{Value, json};
use todos_tests::{
    TestApp,
    browser::{Chromedriver, save_screenshot, wait_for, wait_for_absent},
    spawn_app,
};

/// Where screenshots go: `target/tmp/`, kept after the run.
const SCREENSHOTS: &str = env!("CARGO_TARGET_TMPDIR");

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

    let outcome = driver
        .walk(
            Path::new(SCREENSHOTS),
            "swagger-ui-try-it-out",
            async |browser| drive_swagger_ui(browser, &app).await,
        )
        .await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("Swagger UI walk-through failed: {e:#}");
    }
    eprintln!("Swagger UI walk-through took {:?}", started.elapsed());
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
    save_screenshot(browser, Path::new(SCREENSHOTS), "swagger-ui-overview.png").await?;

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
