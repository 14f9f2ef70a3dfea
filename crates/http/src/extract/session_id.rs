use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};
use todos_domain::DomainError;
use utoipa::IntoParams;

use crate::error::ApiError;

/// The `{id}` path segment of a session, as the client wrote it. Session
/// ids are opaque: whatever it holds, a segment that names no live session
/// of the user is 404 `Session Not Found`, never 422.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct SessionIdPath(
    /// A session id from GET /users/me/sessions.
    #[param(value_type = String, example = "3f2a9c1e5b7d4f60a8c2e4b6d8f0a1c3")]
    pub String,
);

impl<S: Send + Sync> FromRequestParts<S> for SessionIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(raw)| Self(raw))
            // Not even text (invalid percent-encoding): no session has it.
            .map_err(|_| DomainError::SessionNotFound.into())
    }
}
