//! Liveness ping and readiness.

use axum::{Json, extract::State, http::StatusCode};
use serde::Serialize;
use todos_domain::DomainError;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(ready))
}

/// The liveness answer.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({ "ping": "pong" }))]
struct Pong {
    ping: &'static str,
}

/// Each dependency's state, and `detail` when one is down.
// Fields in name order: the body has always listed its keys sorted.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({ "cache": "down", "database": "ok", "detail": "unavailable: cache" }))]
struct ReadinessOut {
    cache: DependencyStatus,
    database: DependencyStatus,
    /// Present when something is down: `unavailable: ` and the names.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum DependencyStatus {
    Ok,
    Down,
}

#[utoipa::path(
    get,
    path = "/",
    tag = "meta",
    operation_id = "ping",
    summary = "Liveness",
    responses((status = 200, description = "The service is up", body = Pong)),
)]
async fn ping() -> Json<Pong> {
    Json(Pong { ping: "pong" })
}

/// 200 when every dependency answers, else 503 naming what is down.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "meta",
    operation_id = "readiness",
    summary = "Readiness of the database and the cache",
    responses(
        (status = 200, description = "Database and cache answer", body = ReadinessOut,
            example = json!({ "cache": "ok", "database": "ok" })),
        (status = 503, description = "A dependency is down; `detail` names it", body = ReadinessOut),
    ),
)]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<ReadinessOut>) {
    let (database, cache) = tokio::join!(
        state.readiness.database.check(),
        state.readiness.cache.check()
    );
    let mut down = Vec::new();
    let mut status = |name, result: Result<(), DomainError>| match result {
        Ok(()) => DependencyStatus::Ok,
        Err(err) => {
            tracing::warn!(dependency = name, error = %err, "readiness check failed");
            down.push(name);
            DependencyStatus::Down
        }
    };
    let database = status("database", database);
    let cache = status("cache", cache);
    let (status, detail) = if down.is_empty() {
        (StatusCode::OK, None)
    } else {
        let names = down.join(", ");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(format!("unavailable: {names}")),
        )
    };
    let body = ReadinessOut {
        cache,
        database,
        detail,
    };
    (status, Json(body))
}

#[cfg(test)]
mod tests {
    use super::{DependencyStatus, Pong, ReadinessOut};

    /// The bodies as the service has always sent them, to the byte:
    /// readiness lists its keys sorted, and `detail` only when down.
    #[test]
    fn bodies_keep_their_bytes() {
        let json = |value| serde_json::to_string(&value).unwrap();
        assert_eq!(
            serde_json::to_string(&Pong { ping: "pong" }).unwrap(),
            r#"{"ping":"pong"}"#
        );
        let ready = ReadinessOut {
            cache: DependencyStatus::Ok,
            database: DependencyStatus::Ok,
            detail: None,
        };
        assert_eq!(json(ready), r#"{"cache":"ok","database":"ok"}"#);
        let down = ReadinessOut {
            cache: DependencyStatus::Down,
            database: DependencyStatus::Down,
            detail: Some("unavailable: database, cache".into()),
        };
        assert_eq!(
            json(down),
            r#"{"cache":"down","database":"down","detail":"unavailable: database, cache"}"#
        );
    }
}
