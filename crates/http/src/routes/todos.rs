//! The signed-in user's todos (README: "HTTP surface" and "For client
//! authors"): pages with a `next` link, ETags and preconditions,
//! idempotent creation.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use headers::HeaderMapExt;
use todos_domain::{NewTodo, Todo, TodoChange, TodoContents};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    dto::{CreateTodoIn, TodoListOut, TodoOut, UpdateTodoIn},
    error::{ApiError, FieldError},
    extract::{
        ApiJson, BearerClaim, CurrentUser, IdempotencyKeyHeader, IfMatchHeader, TodoIdPath,
        TodoListQuery, body_etag, conditional_get, page_url, todo_etag,
    },
    openapi::{
        Detail, NotAuthorized, NotModified, PayloadTooLarge, PreconditionFailed, TodoNotFound,
        Unavailable, UserGone, ValidationFailed,
    },
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

/// The todo as JSON with its ETag, under `status`.
fn todo_response(status: StatusCode, todo: Todo) -> Response {
    let etag = todo_etag(&todo);
    let mut response = (status, Json(TodoOut::from(todo))).into_response();
    response.headers_mut().typed_insert(etag);
    response
}

fn json_bytes(value: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| todos_domain::DomainError::unexpected(e).into())
}

#[utoipa::path(
    get,
    path = "/todos",
    tag = "todos",
    operation_id = "list_todos",
    summary = "A page of the signed-in user's todos, by id",
    description = "At most `limit` todos (1000 when not given) in id order, optionally only \
                   done or open ones. `next` is the relative URL of the following page, \
                   `null` exactly when no further todo matches; follow it until then. Pages \
                   are keyset-paged by id, so todos added or deleted meanwhile never shift \
                   a page. The page has a strong ETag; `If-None-Match` with it answers 304.",
    security(("bearer" = [])),
    params(TodoListQuery, ("If-None-Match" = Option<String>, Header,
            description = "ETags the client holds: when one is current, 304 without a body")),
    responses(
        (status = 200, description = "A page of own todos", body = TodoListOut,
            headers(("ETag" = String, description = "Strong entity tag of this page"))),
        (status = 304, response = NotModified),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
async fn list(
    State(state): State<AppState>,
    claim: BearerClaim,
    query: Result<TodoListQuery, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let TodoListQuery(query) = claim.first(&state, query).await?;
    // One statement reads the user, the session and the page.
    let (_, page) = state.todos.page_as(&claim.0, &query).await?;
    let next = page.next(&query).map(|next| page_url(&next));
    let body = json_bytes(&TodoListOut {
        todos: page.todos.into_iter().map(TodoOut::from).collect(),
        next,
    })?;
    Ok(conditional_get(&headers, body_etag(&body), body))
}

#[utoipa::path(
    get,
    path = "/todos/{id}",
    tag = "todos",
    operation_id = "get_todo",
    summary = "One of the signed-in user's todos",
    security(("bearer" = [])),
    params(TodoIdPath, ("If-None-Match" = Option<String>, Header,
            description = "ETags the client holds: when one is current, 304 without a body")),
    responses(
        (status = 200, description = "The todo", body = TodoOut,
            headers(("ETag" = String, description = "Strong entity tag of the todo"))),
        (status = 304, response = NotModified),
        (status = 401, response = NotAuthorized),
        (status = 404, response = TodoNotFound),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
async fn show(
    State(state): State<AppState>,
    claim: BearerClaim,
    id: Result<TodoIdPath, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let TodoIdPath(id) = claim.first(&state, id).await?;
    // One statement reads the user, the session and the todo.
    let (_, todo) = state.todos.get_as(&claim.0, id).await?;
    let etag = todo_etag(&todo);
    let body = json_bytes(&TodoOut::from(todo))?;
    Ok(conditional_get(&headers, etag, body))
}

#[utoipa::path(
    post,
    path = "/todos",
    tag = "todos",
    operation_id = "create_todo",
    summary = "Add a todo",
    description = "With an `Idempotency-Key`, a repeat of the same request (same key, same \
                   `contents` and effective `is_done`) within 24 hours gets the first answer \
                   again and creates nothing, also after a restart and on another instance.",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
            description = "1–255 visible ASCII characters, one per request the client \
                means (a UUID, say). A repeat with the same key and body within 24 hours \
                gets the first answer; with another body, 422; while the first still \
                runs, 409.")),
    request_body = CreateTodoIn,
    responses(
        (status = 201, description = "The new todo (or, for a repeated key, the first answer)",
            body = TodoOut,
            headers(("ETag" = String, description = "Strong entity tag of the todo"))),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 409, description = "The first request with this Idempotency-Key is still running",
            body = Detail, example = json!({ "detail": "Request In Progress" })),
        (status = 413, response = PayloadTooLarge),
        (status = 422, description = "A bad body or Idempotency-Key, or the key reused with \
            another body (then `detail` is `Idempotency-Key reused with a different body`)",
            body = crate::openapi::CreateTodoRejected),
        (status = 503, response = Unavailable),
    ),
)]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    ApiJson(body): ApiJson<CreateTodoIn>,
) -> Result<Response, ApiError> {
    let todo = NewTodo {
        contents: TodoContents::parse(body.contents)?,
        is_done: body.is_done,
    };
    let created = match key {
        Some(key) => state.todos.create_once(&user, todo, &key).await?,
        None => state.todos.create(&user, todo).await?,
    };
    Ok(todo_response(StatusCode::CREATED, created))
}

#[utoipa::path(
    patch,
    path = "/todos/{id}",
    tag = "todos",
    operation_id = "update_todo",
    summary = "Change a todo's contents and/or state",
    description = "Send `contents`, `is_done` or both. With `If-Match`, the change applies \
                   only while the todo's ETag is one of those given (`*`: any); otherwise \
                   412 and nothing changes. Every change moves `updated_at` and the ETag.",
    security(("bearer" = [])),
    params(TodoIdPath, ("If-Match" = Option<String>, Header,
            description = "The ETag(s) the change requires (`*`: any existing todo); \
                another current ETag is 412 and nothing changes")),
    request_body = UpdateTodoIn,
    responses(
        (status = 200, description = "The updated todo", body = TodoOut,
            headers(("ETag" = String, description = "Strong entity tag of the updated todo"))),
        (status = 401, response = NotAuthorized),
        (status = 404, response = TodoNotFound),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TodoIdPath(id): TodoIdPath,
    if_match: IfMatchHeader,
    ApiJson(body): ApiJson<UpdateTodoIn>,
) -> Result<Response, ApiError> {
    let change = TodoChange {
        contents: body.contents.map(TodoContents::parse).transpose()?,
        is_done: body.is_done,
    };
    if change.is_empty() {
        let msg = "at least one of contents and is_done is required";
        return Err(ApiError::Validation(
            ["contents", "is_done"]
                .map(|field| FieldError {
                    kind: "missing",
                    loc: vec!["body".into(), field.into()],
                    msg: msg.into(),
                })
                .into(),
        ));
    }
    let precondition = if_match.precondition(id);
    let updated = state
        .todos
        .update(&user, id, &change, &precondition)
        .await?;
    Ok(todo_response(StatusCode::OK, updated))
}

#[utoipa::path(
    delete,
    path = "/todos/{id}",
    tag = "todos",
    operation_id = "delete_todo",
    summary = "Delete a todo",
    description = "With `If-Match`, only while the todo's ETag is one of those given \
                   (`*`: any); otherwise 412 and nothing is deleted.",
    security(("bearer" = [])),
    params(TodoIdPath, ("If-Match" = Option<String>, Header,
            description = "The ETag(s) the change requires (`*`: any existing todo); \
                another current ETag is 412 and nothing changes")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = NotAuthorized),
        (status = 404, response = TodoNotFound),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TodoIdPath(id): TodoIdPath,
    if_match: IfMatchHeader,
) -> Result<StatusCode, ApiError> {
    state
        .todos
        .delete(&user, id, &if_match.precondition(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
