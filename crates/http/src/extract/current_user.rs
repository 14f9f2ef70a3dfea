use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use todos_domain::{DomainError, User};

use crate::{AppState, error::ApiError};

/// The user behind the request's bearer token. Taking it as a handler
/// argument is what makes a route protected.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(DomainError::NotAuthenticated)?;
        let user = state.authentication.authenticate(token).await?;
        Ok(Self(user))
    }
}

/// `Authorization: Bearer <token>`; the scheme is case-insensitive.
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
