use axum::{Json, extract::State, http::StatusCode};
use todos_domain::{NewTodo, TodoContents};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    dto::{CreateTodoIn, TodoListOut, TodoOut, UpdateTodoIn},
    error::ApiError,
    extract::{ApiJson, CurrentUser, ListOrder, TodoIdPath},
    openapi::{
        NotAuthorized, PayloadTooLarge, TodoNotFound, Unavailable, UserGone, ValidationFailed,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

#[utoipa::path(
    get,
    path = "/todos",
    tag = "todos",
    operation_id = "list_todos",
    summary = "The signed-in user's todos, by id",
    security(("bearer" = [])),
    params(ListOrder),
    responses(
        (status = 200, description = "Own todos, ordered by id", body = TodoListOut),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/todos/{id}",
    tag = "todos",
    operation_id = "get_todo",
    summary = "One of the signed-in user's todos",
    security(("bearer" = [])),
    params(TodoIdPath),
    responses(
        (status = 200, description = "The todo", body = TodoOut),
        (status = 401, response = NotAuthorized),
        (status = 404, response = TodoNotFound),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TodoIdPath(id): TodoIdPath,
) -> Result<Json<TodoOut>, ApiError> {
    Ok(Json(state.todos.get(&user, id).await?.into()))
}

#[utoipa::path(
    post,
    path = "/todos",
    tag = "todos",
    operation_id = "create_todo",
    summary = "Add a todo",
    security(("bearer" = [])),
    request_body = CreateTodoIn,
    responses(
        (status = 201, description = "The new todo", body = TodoOut),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
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

#[utoipa::path(
    patch,
    path = "/todos/{id}",
    tag = "todos",
    operation_id = "update_todo",
    summary = "Mark a todo done or not done",
    security(("bearer" = [])),
    params(TodoIdPath),
    request_body = UpdateTodoIn,
    responses(
        (status = 200, description = "The updated todo", body = TodoOut,
            example = json!({ "id": 1, "contents": "buy milk", "is_done": true })),
        (status = 401, response = NotAuthorized),
        (status = 404, response = TodoNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
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

#[utoipa::path(
    delete,
    path = "/todos/{id}",
    tag = "todos",
    operation_id = "delete_todo",
    summary = "Delete a todo",
    security(("bearer" = [])),
    params(TodoIdPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = NotAuthorized),
        (status = 404, response = TodoNotFound),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TodoIdPath(id): TodoIdPath,
) -> Result<StatusCode, ApiError> {
    state.todos.delete(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
