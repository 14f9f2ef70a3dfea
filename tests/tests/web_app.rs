//! The web app at `/app/` in a real browser (headless Chromium through
//! WebDriver; see `todos_tests::browser`): two people use it end to end,
//! a todo that looks like markup stays text, an expired access token is
//! refreshed once, and axe-core finds no serious or critical
//! accessibility violation. Its headers and CORS are checked over plain
//! HTTP.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use todos_app::config::CorsOrigins;
use todos_tests::{
    OTP_MARKER, TestApp,
    browser::{Chromedriver, UI_TIMEOUT, save_screenshot, wait_for},
    otp_in, spawn_app, spawn_app_with, status_and_json,
};

/// Where screenshots go: `target/tmp/`, kept after the run.
const SCREENSHOTS: &str = env!("CARGO_TARGET_TMPDIR");
/// axe-core, vendored at a pinned version (see its README there).
const AXE: &str = include_str!("../fixtures/axe-core-4.14.1/axe.min.js");

const PASSWORD: &str = "typed-in-the-browser";
const NEW_PASSWORD: &str = "changed-in-the-browser";
const MILK: &str = "buy milk";
const MARKUP: &str = "<img src=x onerror=alert(1)>";
const DOG: &str = "walk the dog";

// ---- driving the page -------------------------------------------------

async fn fill(browser: &Client, selector: &str, text: &str) -> anyhow::Result<()> {
    let input = wait_for(browser, selector).await?;
    input.clear().await?;
    input.send_keys(text).await?;
    Ok(())
}

async fn click(browser: &Client, selector: &str) -> anyhow::Result<()> {
    wait_for(browser, selector).await?.click().await?;
    Ok(())
}

/// Clicks the element at `xpath` once there is one.
async fn click_xpath(browser: &Client, xpath: &str) -> anyhow::Result<()> {
    browser
        .wait()
        .at_most(UI_TIMEOUT)
        .for_element(Locator::XPath(xpath))
        .await
        .map_err(|e| anyhow::anyhow!("waiting for {xpath}: {e}"))?
        .click()
        .await?;
    Ok(())
}

/// Waits until `script` (a function body that returns a value) returns
/// `expected`; the page answers when it has finished, whatever the pace.
async fn until(browser: &Client, script: &str, expected: Value) -> anyhow::Result<()> {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let seen = browser.execute(script, vec![]).await?;
        if seen == expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            let status = browser
                .execute(
                    "return document.getElementById('status').textContent",
                    vec![],
                )
                .await?;
            anyhow::bail!("{script}\n  expected {expected}\n  saw {seen}\n  status line: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The todos on screen, in screen order.
const TODOS: &str =
    "return [...document.querySelectorAll('#todo-list li .contents')].map(e => e.textContent)";
const DONE_TODOS: &str =
    "return [...document.querySelectorAll('#todo-list li.done .contents')].map(e => e.textContent)";
const SIGNED_IN_AS: &str = "return document.getElementById('signed-in').hidden ? null \
     : document.getElementById('username').textContent";
const SIGNED_OUT: &str = "return !document.getElementById('signed-out').hidden \
     && document.getElementById('signed-in').hidden";
const STATUS: &str = "return document.getElementById('status').textContent";

/// The done checkbox of the todo `contents`.
fn todo_checkbox(contents: &str) -> String {
    format!("//ul[@id='todo-list']/li[label[text()='{contents}']]/input")
}

/// The button `name` in the list item of the todo `contents`.
fn todo_button(contents: &str, name: &str) -> String {
    format!("//ul[@id='todo-list']/li[label[text()='{contents}']]/button[text()='{name}']")
}

async fn sign_up(browser: &Client, app: &TestApp, username: &str) -> anyhow::Result<()> {
    browser.goto(&app.url("/app/")).await?;
    until(browser, SIGNED_OUT, json!(true)).await?;
    fill(browser, "#sign-up-username", username).await?;
    fill(browser, "#sign-up-password", PASSWORD).await?;
    click(browser, "#sign-up-form button[type=submit]").await?;
    until(browser, SIGNED_IN_AS, json!(username)).await
}

async fn log_in(browser: &Client, username: &str, password: &str) -> anyhow::Result<()> {
    until(browser, SIGNED_OUT, json!(true)).await?;
    fill(browser, "#log-in-username", username).await?;
    fill(browser, "#log-in-password", password).await?;
    click(browser, "#log-in-form button[type=submit]").await?;
    until(browser, SIGNED_IN_AS, json!(username)).await
}

async fn add_todo(browser: &Client, contents: &str) -> anyhow::Result<()> {
    fill(browser, "#new-todo", contents).await?;
    click(browser, "#new-todo-form button[type=submit]").await?;
    let shown = format!(
        "return [...document.querySelectorAll('#todo-list .contents')].some(e => e.textContent === {})",
        json!(contents)
    );
    until(browser, &shown, json!(true)).await
}

async fn show(browser: &Client, filter: &str) -> anyhow::Result<()> {
    wait_for(browser, "#filter")
        .await?
        .select_by_value(filter)
        .await?;
    Ok(())
}

// ---- the walks --------------------------------------------------------

/// Ann: sign up, add, toggle, filter, edit, delete, page, verify an email,
/// end a session, change the password, log out and in again.
async fn ann_walks_through(browser: &Client, app: &TestApp) -> anyhow::Result<()> {
    sign_up(browser, app, "ann").await?;
    until(browser, TODOS, json!([])).await?;
    for contents in [MILK, MARKUP, DOG] {
        add_todo(browser, contents).await?;
    }
    until(browser, TODOS, json!([DOG, MARKUP, MILK])).await?;
    // The markup is text: no image element, and no alert went off (a
    // pending alert would fail every WebDriver command from here on).
    until(
        browser,
        "return document.querySelectorAll('#todo-list img').length",
        json!(0),
    )
    .await?;
    anyhow::ensure!(browser.get_alert_text().await.is_err(), "an alert is open");

    click_xpath(browser, &todo_checkbox(MILK)).await?;
    until(browser, DONE_TODOS, json!([MILK])).await?;
    show(browser, "true").await?;
    until(browser, TODOS, json!([MILK])).await?;
    show(browser, "false").await?;
    until(browser, TODOS, json!([DOG, MARKUP])).await?;
    show(browser, "").await?;
    until(browser, TODOS, json!([DOG, MARKUP, MILK])).await?;

    click_xpath(browser, &todo_button(DOG, "Edit")).await?;
    fill(browser, "#todo-list form input", "walk the cat").await?;
    click(browser, "#todo-list form button[type=submit]").await?;
    until(browser, TODOS, json!(["walk the cat", MARKUP, MILK])).await?;
    click_xpath(browser, &todo_button("walk the cat", "Delete")).await?;
    until(browser, TODOS, json!([MARKUP, MILK])).await?;

    // Pages of ten: eleven more todos, made through the API by a second
    // session of Ann's (which she ends below).
    let second = app.log_in_ok("ann", PASSWORD).await;
    let token = second["access_token"].as_str().unwrap();
    for n in 1..=11 {
        app.new_todo(token, &format!("errand {n}")).await;
    }
    show(browser, "false").await?;
    show(browser, "").await?;
    let newest: Vec<String> = (2..=11).rev().map(|n| format!("errand {n}")).collect();
    until(browser, TODOS, json!(newest)).await?;
    click(browser, "#next-page").await?;
    until(browser, TODOS, json!(["errand 1", MARKUP, MILK])).await?;
    // The README's picture: the markup as text, a todo done.
    save_screenshot(browser, Path::new(SCREENSHOTS), "web-app.png").await?;
    until(
        browser,
        "return document.getElementById('next-page').disabled",
        json!(true),
    )
    .await?;
    click(browser, "#first-page").await?;
    until(browser, TODOS, json!(newest)).await?;

    // An email address, verified with the code from the email.
    fill(browser, "#email", "ann@example.com").await?;
    click(browser, "#otp-form button[type=submit]").await?;
    let emails = app
        .emails_containing("ann@example.com", OTP_MARKER, 1)
        .await;
    anyhow::ensure!(emails.len() == 1, "one code email, got {}", emails.len());
    fill(browser, "#otp", &otp_in(&emails[0])).await?;
    click(browser, "#verify-form button[type=submit]").await?;
    let email_state = "return document.getElementById('email-state').textContent";
    until(browser, email_state, json!("ann@example.com (verified)")).await?;

    // Two sessions listed; ending the other one logs that one out.
    let sessions = "return document.querySelectorAll('#session-list li').length";
    until(browser, sessions, json!(2)).await?;
    click_xpath(
        browser,
        "//ul[@id='session-list']/li[span[not(contains(., 'this one'))]]/button",
    )
    .await?;
    until(browser, sessions, json!(1)).await?;
    anyhow::ensure!(
        app.me(token).await.status() == 401,
        "the ended session still works"
    );

    // A wrong password is said so, sent once, and keeps Ann signed in.
    fill(browser, "#current-password", "not-her-password").await?;
    fill(browser, "#new-password", NEW_PASSWORD).await?;
    click(browser, "#password-form button[type=submit]").await?;
    until(browser, STATUS, json!("Wrong password.")).await?;
    until(browser, SIGNED_IN_AS, json!("ann")).await?;
    fill(browser, "#current-password", PASSWORD).await?;
    fill(browser, "#new-password", NEW_PASSWORD).await?;
    click(browser, "#password-form button[type=submit]").await?;
    until(
        browser,
        STATUS,
        json!("Password changed; your other sessions have ended."),
    )
    .await?;

    click(browser, "#log-out").await?;
    until(browser, SIGNED_OUT, json!(true)).await?;
    log_in(browser, "ann", NEW_PASSWORD).await?;
    until(browser, TODOS, json!(newest)).await
}

/// Bob: his own empty list; what he adds is his; then he deletes his
/// account.
async fn bob_walks_through(browser: &Client, app: &TestApp) -> anyhow::Result<()> {
    sign_up(browser, app, "bob").await?;
    until(browser, TODOS, json!([])).await?;
    until(
        browser,
        "return document.getElementById('empty').hidden",
        json!(false),
    )
    .await?;
    add_todo(browser, "bob's own").await?;
    until(browser, TODOS, json!(["bob's own"])).await?;
    fill(browser, "#delete-password", PASSWORD).await?;
    click(browser, "#delete-account-form button[type=submit]").await?;
    until(browser, SIGNED_OUT, json!(true)).await?;
    until(browser, STATUS, json!("Your account is deleted.")).await
}

#[tokio::test]
async fn two_people_use_the_web_app_and_each_sees_only_their_own_todos() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    let app = spawn_app().await;
    let screenshots = Path::new(SCREENSHOTS);
    let outcome = driver
        .walk(screenshots, "web-app-ann", async |browser| {
            ann_walks_through(browser, &app).await
        })
        .await;
    if let Err(e) = outcome {
        panic!("Ann's walk failed: {e:#}");
    }
    let outcome = driver
        .walk(screenshots, "web-app-bob", async |browser| {
            bob_walks_through(browser, &app).await
        })
        .await;
    if let Err(e) = outcome {
        panic!("Bob's walk failed: {e:#}");
    }

    // What the server holds agrees: Ann's 13 todos are hers alone, and
    // Bob is gone with his.
    let ann = app.log_in_ok("ann", NEW_PASSWORD).await;
    let (status, list) = status_and_json(
        app.list_todos(ann["access_token"].as_str().unwrap(), "")
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let contents: Vec<&str> = list["todos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|todo| todo["contents"].as_str().unwrap())
        .collect();
    assert_eq!(contents.len(), 13, "{contents:?}");
    assert!(contents.contains(&MARKUP) && !contents.contains(&"bob's own"));
    assert_eq!(app.log_in("bob", PASSWORD).await.status(), 404);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_an_ended_session_logs_out() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    let app = spawn_app_with(|settings| settings.jwt_ttl = Duration::from_secs(1)).await;
    let outcome = driver
        .walk(Path::new(SCREENSHOTS), "web-app-refresh", async |browser| {
            sign_up(browser, &app, "cid").await?;
            let refresh_token = "return sessionStorage.getItem('todos.refresh_token')";
            let first = browser.execute(refresh_token, vec![]).await?;
            anyhow::ensure!(first.is_string(), "no refresh token kept: {first}");
            // Past the 1 s lifetime and the 5 s leeway on `exp`.
            tokio::time::sleep(Duration::from_secs(7)).await;
            add_todo(browser, "after the token expired").await?;
            let second = browser.execute(refresh_token, vec![]).await?;
            anyhow::ensure!(
                second.is_string() && second != first,
                "the refresh token was not rotated"
            );

            // The session ends elsewhere: the next action finds out and
            // shows the log-in screen.
            let other = app.log_in_ok("cid", PASSWORD).await;
            let ended = app
                .end_sessions(other["access_token"].as_str().unwrap(), None)
                .await;
            anyhow::ensure!(ended.status() == 204);
            add_todo_expecting_log_in_screen(browser).await
        })
        .await;
    if let Err(e) = outcome {
        panic!("the refresh walk failed: {e:#}");
    }
}

async fn add_todo_expecting_log_in_screen(browser: &Client) -> anyhow::Result<()> {
    fill(browser, "#new-todo", "never stored").await?;
    click(browser, "#new-todo-form button[type=submit]").await?;
    until(browser, SIGNED_OUT, json!(true)).await?;
    until(
        browser,
        "return sessionStorage.getItem('todos.refresh_token')",
        Value::Null,
    )
    .await
}

/// axe-core's violations of `impact` serious or critical on the page as
/// it is, after printing every violation it found.
async fn axe_violations(browser: &Client, screen: &str) -> anyhow::Result<Vec<Value>> {
    browser.execute(AXE, vec![]).await?;
    let violations = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v =>
                 ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }))))
               .catch(e => done([{ id: 'axe-failed', impact: 'critical', help: String(e) }]));",
            vec![],
        )
        .await?;
    let violations = violations.as_array().cloned().unwrap_or_default();
    eprintln!(
        "axe-core on the {screen} screen: {} violations {violations:?}",
        violations.len()
    );
    Ok(violations
        .into_iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect())
}

#[tokio::test]
async fn axe_core_finds_no_serious_or_critical_accessibility_violation() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    let app = spawn_app().await;
    let outcome = driver
        .walk(Path::new(SCREENSHOTS), "web-app-axe", async |browser| {
            browser.goto(&app.url("/app/")).await?;
            until(browser, SIGNED_OUT, json!(true)).await?;
            let mut serious = axe_violations(browser, "log-in").await?;
            sign_up(browser, &app, "dee").await?;
            add_todo(browser, MILK).await?;
            add_todo(browser, MARKUP).await?;
            click_xpath(browser, &todo_checkbox(MILK)).await?;
            until(browser, DONE_TODOS, json!([MILK])).await?;
            serious.extend(axe_violations(browser, "todos").await?);
            anyhow::ensure!(serious.is_empty(), "serious or critical: {serious:#?}");
            // The audit is live: a field without a label is caught.
            browser
                .execute(
                    "document.querySelector('main').append(document.createElement('input'))",
                    vec![],
                )
                .await?;
            let caught = axe_violations(browser, "todos, with an unlabelled field added").await?;
            anyhow::ensure!(
                caught.iter().any(|v| v["id"] == "label"),
                "axe missed an unlabelled field: {caught:#?}"
            );
            Ok(())
        })
        .await;
    if let Err(e) = outcome {
        panic!("the accessibility audit failed: {e:#}");
    }
}

// ---- over plain HTTP ----------------------------------------------------

#[tokio::test]
async fn the_app_is_served_with_strict_headers_etags_and_no_inline_code() {
    let app = spawn_app().await;
    let not_following = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let moved = not_following.get(app.url("/app")).send().await.unwrap();
    assert_eq!(moved.status(), 308);
    assert_eq!(moved.headers()["location"], "/app/");

    let page = app.get("/app/").await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{csp} lacks {rule}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = page.text().await.unwrap();
    // Every script is a file of its own and nothing is styled inline: the
    // policy above would block it.
    let scripts = html.matches("<script").count();
    assert_eq!(
        scripts,
        html.matches("<script type=\"module\" src=").count(),
        "{html}"
    );
    assert!(
        !html.contains("style=") && !html.contains("<style"),
        "{html}"
    );

    for asset in ["/app/app.js", "/app/api.js", "/app/app.css"] {
        let response = app.get(asset).await;
        assert_eq!(response.status(), 200, "{asset}");
        let etag = response.headers()["etag"].clone();
        assert!(etag.to_str().unwrap().starts_with("W/\""), "{etag:?}");
        let again = app
            .client
            .get(app.url(asset))
            .header("if-none-match", etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{asset}");
        assert_eq!(again.headers()["etag"], etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let body = response.text().await.unwrap();
        assert!(!body.contains("innerHTML"), "{asset} writes HTML");
    }
    let compressed = app
        .client
        .get(app.url("/app/app.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    assert_eq!(app.get("/app/missing.js").await.status(), 404);
    // Only the app's own files: no way out of its folder.
    for escape in [
        "/app/..%2fCargo.toml",
        "/app/..%2f..%2f..%2fCargo.toml",
        "/app/%2fetc%2fpasswd",
    ] {
        assert_eq!(app.get(escape).await.status(), 404, "{escape}");
    }
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/todos"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn_app_with(|settings| {
        settings.cors_origins =
            CorsOrigins::parse("https://todo.example, http://localhost:5173").unwrap();
    })
    .await;
    let allowed = preflight(&app, "https://todo.example").await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://todo.example"
    );
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(
        methods.contains("POST") && methods.contains("PATCH"),
        "{methods}"
    );
    let allowed_headers = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );
    assert!(headers.get("access-control-allow-credentials").is_none());

    let token = app.token_for("eve").await;
    let read = app
        .client
        .get(app.url("/todos"))
        .bearer_auth(&token)
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let exposed = read.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("etag"), "{exposed}");

    let stranger = preflight(&app, "https://evil.example").await;
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn without_configured_origins_there_is_no_cross_origin_access() {
    let app = spawn_app().await;
    let answer = preflight(&app, "https://todo.example").await;
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        answer
            .headers()
            .get("access-control-allow-methods")
            .is_none()
    );
    let ping = app
        .client
        .get(app.url("/"))
        .header("origin", "https://todo.example")
        .send()
        .await
        .unwrap();
    assert!(ping.headers().get("access-control-allow-origin").is_none());
}
