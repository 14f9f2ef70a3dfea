//! Metrics (README: "Running with metrics"): `GET /metrics` on a listener
//! of its own, never on the API port, with route templates (not paths) as
//! labels; and a real Prometheus scraping it and answering PromQL.

use std::time::Duration;

use serde_json::{Value, json};
use todos_tests::{TestApp, prometheus::PrivatePrometheus, spawn_app, spawn_app_with};

/// A username no series may carry.
const USER: &str = "metrics_zelda";
/// An id no todo has: its path must not become a label either.
const MISSING_ID: &str = "9876543";
/// A path no route matches.
const NO_ROUTE: &str = "/no/such/route/1234321";

async fn app_with_metrics() -> TestApp {
    spawn_app_with(|settings| settings.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await
}

async fn scrape(app: &TestApp) -> String {
    let url = app.metrics_url.as_deref().expect("metrics are on");
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8",
        "the Prometheus text format"
    );
    response.text().await.unwrap()
}

/// The value of the sample written exactly as `series` (name and labels).
fn sample(scraped: &str, series: &str) -> Option<f64> {
    scraped.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        Some(value.parse().unwrap())
    })
}

/// Every value of label `name` in the scrape.
fn label_values<'a>(scraped: &'a str, name: &str) -> Vec<&'a str> {
    let key = format!("{name}=\"");
    scraped
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let start = line.find(&key)? + key.len();
            let len = line[start..].find('"')?;
            Some(&line[start..start + len])
        })
        .collect()
}

/// Polls the scrape until `series` has `value`, for counters that move in
/// the background (mail); panics after 10 s with the last scrape.
async fn until_sample(app: &TestApp, series: &str, value: f64) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let scraped = scrape(app).await;
        if sample(&scraped, series) == Some(value) {
            return scraped;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} never became {value}:\n{scraped}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_metrics_listener_serves_every_series_with_route_templates_as_labels() {
    let app = app_with_metrics().await;
    let token = app.token_for(USER).await;
    let id = app.new_todo(&token, "count me").await;
    assert_eq!(app.get_todo(&token, &id.to_string()).await.status(), 200);
    assert_eq!(app.get_todo(&token, MISSING_ID).await.status(), 404);
    assert_eq!(app.get(NO_ROUTE).await.status(), 404);
    // Mail: one code email, delivered to the .eml directory.
    app.otp_for(&token, "zelda@example.com").await;

    let scraped = until_sample(&app, "todos_emails_sent_total", 1.0).await;

    for series in [
        "todos_http_requests_total",
        "todos_http_request_duration_seconds_bucket",
        "todos_http_request_duration_seconds_sum",
        "todos_http_request_duration_seconds_count",
        "todos_db_pool_connections",
        "todos_db_pool_max_connections",
        "todos_cache_errors_total",
        "todos_emails_queued_total",
        "todos_emails_sent_total",
        "todos_emails_failed_total",
        "todos_password_hashes_waiting",
        "todos_password_hashes_running",
        "todos_password_hashes_refused_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(
            scraped.contains(&format!("# TYPE {series} "))
                || scraped.contains(&format!("\n{series}")),
            "{series} missing:\n{scraped}"
        );
    }
    let requests =
        |labels: &str| sample(&scraped, &format!("todos_http_requests_total{{{labels}}}"));
    assert_eq!(
        requests(r#"method="POST",route="/users/sign-up",status="201""#),
        Some(1.0)
    );
    assert_eq!(
        requests(r#"method="POST",route="/todos",status="201""#),
        Some(1.0)
    );
    assert_eq!(
        requests(r#"method="GET",route="/todos/{id}",status="200""#),
        Some(1.0)
    );
    assert_eq!(
        requests(r#"method="GET",route="/todos/{id}",status="404""#),
        Some(1.0)
    );
    assert_eq!(
        requests(r#"method="GET",route="unmatched",status="404""#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &scraped,
            r#"todos_http_request_duration_seconds_count{method="GET",route="/todos/{id}"}"#
        ),
        Some(2.0)
    );
    // Every route label is a template or `unmatched`: no id, no raw path.
    let routes = label_values(&scraped, "route");
    assert!(routes.contains(&"/todos/{id}"), "{routes:?}");
    for route in routes {
        assert!(
            route == "unmatched"
                || (route.starts_with('/') && !route.contains(|c: char| c.is_ascii_digit())),
            "route label {route:?}"
        );
    }
    // In labels, that is: a sample's value may happen to hold an id's digits.
    let labels: String = scraped
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| Some(&line[line.find('{')?..=line.rfind('}')?]))
        .collect();
    for user_data in [USER, MISSING_ID, NO_ROUTE, "zelda@example.com", &token] {
        assert!(!labels.contains(user_data), "{user_data} in:\n{scraped}");
    }
    assert_eq!(sample(&scraped, "todos_emails_queued_total"), Some(1.0));
    assert_eq!(sample(&scraped, "todos_emails_failed_total"), Some(0.0));
    assert_eq!(
        sample(&scraped, r#"todos_cache_errors_total{operation="hit"}"#),
        Some(0.0)
    );
    // The last request has been answered: nothing is hashing any more.
    assert_eq!(sample(&scraped, "todos_password_hashes_running"), Some(0.0));
    assert_eq!(sample(&scraped, "todos_password_hashes_waiting"), Some(0.0));
    let in_use = sample(&scraped, r#"todos_db_pool_connections{state="in_use"}"#).unwrap();
    let idle = sample(&scraped, r#"todos_db_pool_connections{state="idle"}"#).unwrap();
    let max = sample(&scraped, "todos_db_pool_max_connections").unwrap();
    assert!(
        (1.0..=max).contains(&(in_use + idle)),
        "{in_use} {idle} {max}"
    );
    assert!(sample(&scraped, "process_resident_memory_bytes").unwrap() > 0.0);
}

#[tokio::test]
async fn the_api_port_has_no_metrics_with_or_without_them() {
    let on = app_with_metrics().await;
    let off = spawn_app().await;
    assert!(off.metrics_url.is_none());
    for app in [&on, &off] {
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "detail": "Not Found" })
        );
    }
    // The metrics listener serves nothing but /metrics.
    let other = on
        .metrics_url
        .as_deref()
        .unwrap()
        .replace("/metrics", "/todos");
    assert_eq!(on.client.get(other).send().await.unwrap().status(), 404);
}

/// A real Prometheus scrapes the app every second under traffic; its HTTP
/// API then answers the request count by route and a p99 from the
/// duration histogram. Prints what it got (`--nocapture`). Skipped where
/// Prometheus is not installed, unless TODOS_REQUIRE_SERVICES is set.
#[tokio::test]
async fn prometheus_scrapes_the_service_and_answers_promql() {
    let app = app_with_metrics().await;
    let dir = tempfile::tempdir().unwrap();
    let target = app
        .metrics_url
        .as_deref()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    let Some(prometheus) = PrivatePrometheus::start(dir.path(), &target).await else {
        return;
    };
    let token = app.token_for(USER).await;
    let id = app.new_todo(&token, "scrape me").await.to_string();

    const COUNT: &str = "sum by (route) (todos_http_requests_total)";
    const P99: &str = "histogram_quantile(0.99, sum by (le, route) \
                       (rate(todos_http_request_duration_seconds_bucket[1m])))";
    let mut sent = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let (counts, quantiles) = loop {
        // Traffic between scrapes, so that the rates have something to show.
        for _ in 0..5 {
            assert_eq!(app.get_todo(&token, &id).await.status(), 200);
            sent += 1;
        }
        assert_eq!(app.list_todos(&token, "").await.status(), 200);
        assert_eq!(app.get(NO_ROUTE).await.status(), 404);
        let counts = prometheus.query(COUNT).await;
        let quantiles = prometheus.query(P99).await;
        let count = value_for(&counts, "/todos/{id}");
        let p99 = value_for(&quantiles, "/todos/{id}");
        if count.is_some_and(|c| c >= 20.0) && p99.is_some_and(f64::is_finite) {
            break (counts, quantiles);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no answer from Prometheus within 60 s:\n{COUNT} = {counts:#?}\n{P99} = {quantiles:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    println!("Prometheus answered, after {sent} GET /todos/{{id}}:");
    println!("{COUNT}");
    for (route, value) in results(&counts) {
        println!("  {route:<24} {value}");
    }
    println!("{P99}");
    for (route, value) in results(&quantiles) {
        println!("  {route:<24} {value}");
    }

    let count = value_for(&counts, "/todos/{id}").unwrap();
    assert!(count <= f64::from(sent), "{count} of {sent} sent");
    assert!(value_for(&counts, "unmatched").unwrap() >= 1.0);
    assert!(value_for(&counts, "/todos").unwrap() >= 1.0);
    for (route, _) in results(&counts) {
        assert!(
            route == "unmatched" || !route.contains(|c: char| c.is_ascii_digit()),
            "{route}"
        );
    }
    // Bucket bounds run from 0.5 ms to 5 s: any answer lies in (0, 5].
    let p99 = value_for(&quantiles, "/todos/{id}").unwrap();
    assert!(p99 > 0.0 && p99 <= 5.0, "{p99}");
}

/// `(route, value)` of each element of a query result.
fn results(result: &[Value]) -> Vec<(String, f64)> {
    result
        .iter()
        .map(|element| {
            let route = element["metric"]["route"].as_str().unwrap_or("").to_owned();
            let value = element["value"][1].as_str().unwrap().parse().unwrap();
            (route, value)
        })
        .collect()
}

fn value_for(result: &[Value], route: &str) -> Option<f64> {
    results(result)
        .into_iter()
        .find_map(|(r, value)| (r == route).then_some(value))
}

/// docs/grafana-dashboard.json asks only for series the service exports,
/// so a renamed series cannot leave a panel silently empty.
#[tokio::test]
async fn the_grafana_dashboard_asks_only_for_series_the_service_exports() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/grafana-dashboard.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let app = app_with_metrics().await;
    assert_eq!(app.get("/").await.status(), 200);
    let scraped = scrape(&app).await;

    let name = regex::Regex::new(r"\b(?:todos|process)_[a-z_]+").unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 6, "{panels:?}");
    let mut asked = 0;
    for panel in panels {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for series in name.find_iter(expr) {
                let series = series.as_str();
                asked += 1;
                assert!(
                    scraped.lines().any(|line| line
                        .strip_prefix(series)
                        .is_some_and(|rest| rest.starts_with([' ', '{']))),
                    "panel {:?} asks for {series}, which the service does not export",
                    panel["title"]
                );
            }
        }
    }
    assert!(asked > 10, "{asked} series asked for");
}
