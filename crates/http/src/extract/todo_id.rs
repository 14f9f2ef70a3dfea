use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};
use todos_domain::TodoId;

use crate::error::{ApiError, Location};

/// The `{id}` path segment as a [`TodoId`]: `abc`, `1.5`, `0`, `-1` and
/// out-of-range values are 422, not 404.
pub struct TodoIdPath(pub TodoId);

impl<S: Send + Sync> FromRequestParts<S> for TodoIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::validation(
                    Location::Path,
                    ["todo_id".into()],
                    "value_error",
                    rejection.body_text(),
                )
            })?;
        TodoId::parse(&raw)
            .map(TodoIdPath)
            .map_err(|e| ApiError::invalid_in(Location::Path, e))
    }
}
