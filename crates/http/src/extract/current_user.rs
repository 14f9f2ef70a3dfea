use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use todos_domain::{Authenticated, DomainError, User};

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
        let CurrentSession(authenticated) =
            CurrentSession::from_request_parts(parts, state).await?;
        Ok(Self(authenticated.user))
    }
}

/// The user and the session behind the request's bearer token, for the
/// routes that act on the session itself (log-out, the session list).
pub struct CurrentSession(pub Authenticated);

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(DomainError::NotAuthenticated)?;
        Ok(Self(state.authentication.authenticate(token).await?))
    }
}

/// `Authorization: Bearer <token>`; the scheme is case-insensitive.
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
