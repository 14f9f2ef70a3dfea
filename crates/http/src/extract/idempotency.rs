use axum::{extract::FromRequestParts, http::request::Parts};
use todos_domain::IdempotencyKey;

use crate::error::{ApiError, Location};

/// The request's `Idempotency-Key`, if it has one: 1 to 255 visible ASCII
/// characters (else 422 naming the header).
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

/// The header's name, as documented.
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY).iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        let invalid = || {
            ApiError::validation(
                Location::Header,
                [IDEMPOTENCY_KEY.to_owned()],
                "value_error",
                "must be one value of 1 to 255 visible ASCII characters",
            )
        };
        if values.next().is_some() {
            return Err(invalid());
        }
        let raw = value.to_str().map_err(|_| invalid())?;
        IdempotencyKey::parse(raw)
            .map(|key| Self(Some(key)))
            .map_err(|_| invalid())
    }
}
