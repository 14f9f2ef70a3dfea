//! Liveness ping and readiness.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(ready))
}

// Pong and ReadinessOut only describe the bodies in the document: the
// handlers build them as JSON values (readiness keeps its sorted keys).

/// The liveness answer.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({ "ping": "pong" }))]
struct Pong {
    ping: String,
}

/// Each dependency's state, and `detail` when one is down.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({ "cache": "down", "database": "ok", "detail": "unavailable: cache" }))]
struct ReadinessOut {
    database: DependencyStatus,
    cache: DependencyStatus,
    /// Present when something is down: `unavailable: ` and the names.
    detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[expect(dead_code, reason = "documentation only")]
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
async fn ping() -> Json<Value> {
    Json(json!({ "ping": "pong" }))
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
async fn ready(State(state): State<AppState>) -> Response {
    let (database, cache) = tokio::join!(
        state.readiness.database.check(),
        state.readiness.cache.check()
    );
    let mut body = Map::new();
    let mut down = Vec::new();
    for (name, result) in [("database", database), ("cache", cache)] {
        let status = match result {
            Ok(()) => "ok",
            Err(err) => {
                tracing::warn!(dependency = name, error = %err, "readiness check failed");
                down.push(name);
                "down"
            }
        };
        body.insert(name.into(), status.into());
    }
    if down.is_empty() {
        return Json(body).into_response();
    }
    body.insert(
        "detail".into(),
        format!("unavailable: {}", down.join(", ")).into(),
    );
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
