//! compose.yaml cannot be run here (no Docker engine), so check what can be
//! checked: its services, health checks, and that the app's environment
//! uses exactly the names the application reads.

use serde_norway::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../compose.yaml"))
        .expect("compose.yaml at the repository root");
    serde_norway::from_str(&text).expect("compose.yaml is valid YAML")
}

fn environment(service: &Value) -> Vec<(String, String)> {
    let environment = service["environment"]
        .as_mapping()
        .expect("environment is a mapping");
    environment
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn app_environment_names_are_the_ones_the_app_reads() {
    let compose = compose();
    let known = todos_app::config::environment_variables();
    for required in [
        "TODOS_ADDR",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "JWT_TTL_SECS",
        "TODOS_MAIL_DIR",
        "SMTP_URL",
        "RUST_LOG",
    ] {
        assert!(
            known.iter().any(|k| k == required),
            "the app reads {required}: {known:?}"
        );
    }
    let app = environment(&compose["services"]["app"]);
    assert!(!app.is_empty());
    for (name, _) in &app {
        assert!(
            known.contains(name),
            "compose sets {name}, which the app does not read ({known:?})"
        );
    }
}

#[test]
fn app_points_at_the_compose_services() {
    let compose = compose();
    let app: std::collections::HashMap<_, _> = environment(&compose["services"]["app"])
        .into_iter()
        .collect();
    assert!(
        app["DATABASE_URL"].starts_with("mysql://")
            && app["DATABASE_URL"].contains("@mariadb:3306/")
    );
    assert!(app["REDIS_URL"].starts_with("redis://redis:6379"));
    assert!(
        app["TODOS_ADDR"].starts_with("0.0.0.0:"),
        "reachable from outside the container"
    );
    let mariadb: std::collections::HashMap<_, _> = environment(&compose["services"]["mariadb"])
        .into_iter()
        .collect();
    let db_url = &app["DATABASE_URL"];
    assert!(db_url.contains(&format!(
        "{}:{}@",
        mariadb["MARIADB_USER"], mariadb["MARIADB_PASSWORD"]
    )));
    assert!(db_url.ends_with(&format!("/{}", mariadb["MARIADB_DATABASE"])));
}

#[test]
fn every_service_has_a_health_check_and_the_app_waits_for_them() {
    let compose = compose();
    for service in ["app", "mariadb", "redis"] {
        assert!(
            compose["services"][service]["healthcheck"]["test"].is_sequence(),
            "{service} health check"
        );
    }
    for dependency in ["mariadb", "redis"] {
        assert_eq!(
            compose["services"]["app"]["depends_on"][dependency]["condition"].as_str(),
            Some("service_healthy")
        );
    }
}
