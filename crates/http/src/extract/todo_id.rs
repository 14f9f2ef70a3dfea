use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};
use todos_domain::TodoId;
use utoipa::IntoParams;

use crate::error::{ApiError, Location};

/// The `{id}` path segment as a [`TodoId`]: `abc`, `1.5`, `0`, `-1` and
/// out-of-range values are 422, not 404. Operations list it in `params`.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct TodoIdPath(
    /// A positive 64-bit integer. Another user's todo is "not found".
    #[param(value_type = i64, minimum = 1, example = 1)]
    pub TodoId,
);

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
