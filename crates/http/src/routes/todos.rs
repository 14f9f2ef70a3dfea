use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use todos_domain::{NewTodo, TodoContents};

use crate::{
    AppState,
    dto::{CreateTodoIn, TodoListOut, TodoOut, UpdateTodoIn},
    error::ApiError,
    extract::{ApiJson, CurrentUser, ListOrder, TodoIdPath},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(show).patch(update).delete(remove))
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ListOrder(order): ListOrder,
) -> Result<Json<TodoListOut>, ApiError> {
    let todos = state.todos.list(&user, order).await?;
    Ok(Json(TodoListOut {
        todos: todos.into_iter().map(TodoOut::from).collect(),
    }))
}

async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TodoIdPath(id): TodoIdPath,
) -> Result<Json<TodoOut>, ApiError> {
    Ok(Json(state.todos.get(&user, id).await?.into()))
}

async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<CreateTodoIn>,
) -> Result<(StatusCode, Json<TodoOut>), ApiError> {
    let todo = NewTodo {
        contents: TodoContents::parse(body.contents)?,
        is_done: body.is_done,
    };
    let created = state.todos.create(&user, todo).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TodoIdPath(id): TodoIdPath,
    ApiJson(body): ApiJson<UpdateTodoIn>,
) -> Result<Json<TodoOut>, ApiError> {
    Ok(Json(
        state.todos.set_done(&user, id, body.is_done).await?.into(),
    ))
}

async fn remove(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TodoIdPath(id): TodoIdPath,
) -> Result<StatusCode, ApiError> {
    state.todos.delete(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
