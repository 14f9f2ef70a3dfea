//! Liveness ping and readiness.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Map, Value, json};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(ping))
        .route("/health/ready", get(ready))
}

async fn ping() -> Json<Value> {
    Json(json!({ "ping": "pong" }))
}

/// 200 when every dependency answers, else 503 naming what is down.
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
