use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use todos_domain::{Authenticated, DomainError, SessionClaim, User};

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
        let BearerClaim(claim) = BearerClaim::from_request_parts(parts, state).await?;
        Ok(Self(state.authentication.look_up(&claim).await?))
    }
}

/// What the request's bearer token claims, its signature and expiry
/// checked but not yet looked up: for the reads that fetch the user and
/// session in the same statement as their own data (`GET /todos`).
pub struct BearerClaim(pub SessionClaim);

impl FromRequestParts<AppState> for BearerClaim {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(DomainError::NotAuthenticated)?;
        Ok(Self(state.authentication.claim(token).await?))
    }
}

impl BearerClaim {
    /// `input` (a path or query the handler extracted), or its rejection
    /// once the claim itself has been looked up: a token's 401 and a
    /// deleted user's 404 come before a 422, whatever the route reads.
    pub async fn first<T>(
        &self,
        state: &AppState,
        input: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        match input {
            Ok(input) => Ok(input),
            Err(rejection) => {
                state.authentication.look_up(&self.0).await?;
                Err(rejection)
            }
        }
    }
}

/// `Authorization: Bearer <token>`; the scheme is case-insensitive.
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
