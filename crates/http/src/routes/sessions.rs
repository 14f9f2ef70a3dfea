//! Sessions: refreshing tokens, logging out, listing and ending sessions
//! (README: "Sessions").

use axum::{Json, extract::State, http::StatusCode};
use todos_domain::RefreshToken;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    dto::{RefreshIn, SessionOut, SessionsOut, TokenOut},
    error::ApiError,
    extract::{ApiJson, CurrentSession, CurrentUser, SessionIdPath},
    openapi::{Detail, NotAuthorized, PayloadTooLarge, Unavailable, UserGone, ValidationFailed},
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh))
        .routes(routes!(log_out))
        .routes(routes!(list_sessions, end_all_sessions))
        .routes(routes!(end_session))
}

#[utoipa::path(
    post,
    path = "/users/token/refresh",
    tag = "sessions",
    operation_id = "refresh_token",
    summary = "New tokens for the session of a refresh token",
    description = "Spends the refresh token and answers a new access token and a new refresh \
                   token of the same session, as log-in does. A refresh token works once: \
                   presenting a spent one again ends its whole session (reuse detection). \
                   Refreshing does not extend the session, and no access token outlives it.",
    request_body = RefreshIn,
    responses(
        (status = 200, description = "New tokens of the same session", body = TokenOut),
        (status = 401, description = "The refresh token is spent, unknown or expired, or its \
            session ended", body = Detail,
            headers(("WWW-Authenticate" = String, description = "Always `Bearer`")),
            example = json!({ "detail": "Not Authorized" })),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshIn>,
) -> Result<Json<TokenOut>, ApiError> {
    let tokens = state
        .sessions
        .refresh(RefreshToken::presented(body.refresh_token))
        .await?;
    Ok(Json(tokens.into()))
}

#[utoipa::path(
    post,
    path = "/users/log-out",
    tag = "sessions",
    operation_id = "log_out",
    summary = "End the token's session",
    description = "The session ends at once, on every instance: its access tokens and its \
                   refresh token stop working.",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is ended"),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 503, response = Unavailable),
    ),
)]
async fn log_out(
    State(state): State<AppState>,
    CurrentSession(current): CurrentSession,
) -> Result<StatusCode, ApiError> {
    // Ended by a concurrent request in between: ended all the same.
    match state
        .sessions
        .end(&current.user, current.session.as_str())
        .await
    {
        Ok(()) | Err(todos_domain::DomainError::SessionNotFound) => Ok(StatusCode::NO_CONTENT),
        Err(err) => Err(err.into()),
    }
}

#[utoipa::path(
    get,
    path = "/users/me/sessions",
    tag = "sessions",
    operation_id = "list_sessions",
    summary = "The signed-in user's live sessions, newest first",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Live sessions; `current` marks the token's own", body = SessionsOut),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 503, response = Unavailable),
    ),
)]
async fn list_sessions(
    State(state): State<AppState>,
    CurrentSession(current): CurrentSession,
) -> Result<Json<SessionsOut>, ApiError> {
    let sessions = state.sessions.list(&current.user).await?;
    Ok(Json(SessionsOut {
        sessions: sessions
            .into_iter()
            .map(|session| SessionOut::new(session, &current.session))
            .collect(),
    }))
}

#[utoipa::path(
    delete,
    path = "/users/me/sessions",
    tag = "sessions",
    operation_id = "end_all_sessions",
    summary = "End every session of the signed-in user, the current one included",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session is ended"),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 503, response = Unavailable),
    ),
)]
async fn end_all_sessions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<StatusCode, ApiError> {
    state.sessions.end_all(&user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/users/me/sessions/{id}",
    tag = "sessions",
    operation_id = "end_session",
    summary = "End one session of the signed-in user",
    params(SessionIdPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is ended"),
        (status = 401, response = NotAuthorized),
        (status = 404, description = "No live session of the user has this id (ended, \
            unknown, malformed or another user's), or the token's user is gone", body = Detail,
            examples(
                ("session" = (value = json!({ "detail": "Session Not Found" }))),
                ("user" = (value = json!({ "detail": "User Not Found" }))),
            )),
        (status = 503, response = Unavailable),
    ),
)]
async fn end_session(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    SessionIdPath(id): SessionIdPath,
) -> Result<StatusCode, ApiError> {
    state.sessions.end(&user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
