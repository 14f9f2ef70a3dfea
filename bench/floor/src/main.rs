//! The floor for `bench/run.sh`: the same routes and JSON as `todos`, from
//! memory, with no database, no authentication, no logging. What `todos`
//! reaches relative to this is what the benchmark reports.

use axum::{
    Json, Router,
    extract::Path,
    http::StatusCode,
    routing::{get, post},
};
use serde_json::{Value, json};

fn todo(id: i64) -> Value {
    json!({ "id": id, "contents": format!("todo number {id}"), "is_done": id % 2 == 0 })
}

#[tokio::main]
async fn main() {
    let addr = std::env::var("TODOS_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let app = Router::new()
        .route("/", get(|| async { Json(json!({ "ping": "pong" })) }))
        .route(
            "/todos",
            get(|| async { Json(json!({ "todos": (1..=10).map(todo).collect::<Vec<_>>() })) })
                .post(|Json(body): Json<Value>| async move {
                    let contents = body["contents"].as_str().unwrap_or_default().to_owned();
                    (
                        StatusCode::CREATED,
                        Json(json!({ "id": 11, "contents": contents, "is_done": false })),
                    )
                }),
        )
        .route(
            "/todos/{id}",
            get(|Path(id): Path<i64>| async move { Json(todo(id)) }).patch(
                |Path(id): Path<i64>, Json(body): Json<Value>| async move {
                    let mut todo = todo(id);
                    todo["is_done"] = body["is_done"].clone();
                    Json(todo)
                },
            ),
        )
        .route(
            "/users/log-in",
            post(|Json(_): Json<Value>| async {
                Json(json!({ "access_token": "floor.token.value", "token_type": "bearer" }))
            }),
        );
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
