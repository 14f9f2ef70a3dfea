use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::json;
use todos_domain::{DomainError, OncePerSecond};

use crate::messages::{BODY_TOO_LARGE, INTERNAL_ERROR, OVERLOADED};

/// Where a bad input sits, as FastAPI's `loc` says it.
#[derive(Debug, Clone, Copy)]
pub enum Location {
    Body,
    Path,
    Query,
    Header,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Self::Body => "body",
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
        }
    }
}

/// One entry of FastAPI's 422 `detail` list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// What went wrong: `json_invalid`, `missing`, `type_error`, `value_error`, …
    #[serde(rename = "type")]
    #[schema(example = "value_error")]
    pub kind: &'static str,
    /// Where: `body`, `path`, `query` or `header`, then the field.
    #[schema(example = json!(["body", "username"]))]
    pub loc: Vec<String>,
    #[schema(example = "must be 1 to 256 characters")]
    pub msg: String,
}

/// Every failure a handler or extractor can answer with.
#[derive(Debug)]
pub enum ApiError {
    Domain(DomainError),
    /// 422 with FastAPI's list of field errors.
    Validation(Vec<FieldError>),
    PayloadTooLarge,
    /// The body did not arrive in time: 408, whatever else was wrong.
    RequestTimeout,
    BadRequest(String),
}

impl ApiError {
    pub fn validation(
        location: Location,
        path: impl IntoIterator<Item = String>,
        kind: &'static str,
        msg: impl Into<String>,
    ) -> Self {
        let loc = std::iter::once(location.as_str().to_owned())
            .chain(path)
            .collect();
        Self::Validation(vec![FieldError {
            kind,
            loc,
            msg: msg.into(),
        }])
    }

    /// A domain rule broken by an input at `location`.
    pub fn invalid_in(location: Location, err: DomainError) -> Self {
        match err {
            DomainError::Invalid { field, reason } => {
                Self::validation(location, [field.to_owned()], "value_error", reason)
            }
            other => Self::Domain(other),
        }
    }
}

/// Domain errors that reach a handler through `?` came from body values;
/// path and query extractors convert theirs with [`ApiError::invalid_in`].
impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        Self::invalid_in(Location::Body, err)
    }
}

pub(crate) fn detail(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({ "detail": text.into() }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = match self {
            Self::Validation(errors) => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({ "detail": errors })),
                )
                    .into_response();
            }
            Self::PayloadTooLarge => {
                return detail(StatusCode::PAYLOAD_TOO_LARGE, BODY_TOO_LARGE);
            }
            Self::RequestTimeout => {
                let mut response = detail(StatusCode::REQUEST_TIMEOUT, "Request Timeout");
                // The rest of the body may still come: it must not be read
                // as the next request.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return response;
            }
            Self::BadRequest(text) => return detail(StatusCode::BAD_REQUEST, text),
            Self::Domain(err) => err,
        };
        // The wire texts are the old service's; the domain's own messages
        // are for logs and other callers of the domain crate.
        match err {
            DomainError::Invalid { field, reason } => {
                ApiError::validation(Location::Body, [field.to_owned()], "value_error", reason)
                    .into_response()
            }
            DomainError::UserNotFound => detail(StatusCode::NOT_FOUND, "User Not Found"),
            DomainError::TodoNotFound => detail(StatusCode::NOT_FOUND, "ToDo Not Found"),
            DomainError::SessionNotFound => detail(StatusCode::NOT_FOUND, "Session Not Found"),
            DomainError::UsernameTaken => detail(StatusCode::CONFLICT, "Username Already Taken"),
            DomainError::EmailTaken => detail(StatusCode::CONFLICT, "Email Already In Use"),
            DomainError::InvalidOtp => detail(StatusCode::BAD_REQUEST, "Bad Request"),
            DomainError::PreconditionFailed => {
                detail(StatusCode::PRECONDITION_FAILED, "Precondition Failed")
            }
            DomainError::IdempotencyKeyReused => detail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency-Key reused with a different body",
            ),
            DomainError::RequestInProgress => detail(StatusCode::CONFLICT, "Request In Progress"),
            DomainError::RateLimited { retry_after } => retry_later(
                detail(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
                retry_after,
            ),
            // Counted where it happens; one log line per refusal would let
            // a flood flood the log too.
            DomainError::Overloaded { retry_after } => retry_later(
                detail(StatusCode::SERVICE_UNAVAILABLE, OVERLOADED),
                retry_after,
            ),
            DomainError::NotAuthenticated => {
                let mut response = detail(StatusCode::UNAUTHORIZED, "Not Authorized");
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            DomainError::Unavailable {
                component,
                ref source,
            } => {
                static OUTAGES: OncePerSecond = OncePerSecond::new();
                if let Some(held_back) = OUTAGES.admit() {
                    tracing::warn!(component, error = %source, held_back, "dependency unavailable");
                }
                detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("The {component} is unavailable, try again later"),
                )
            }
            DomainError::Unexpected(ref source) => internal_error(source.as_ref()),
            // A variant added to the domain after this mapping was written.
            other => internal_error(&other),
        }
    }
}

/// The service's own fault: logged with every cause, answered without them.
fn internal_error(err: &(dyn std::error::Error + 'static)) -> Response {
    tracing::error!(error = %ErrorChain(err), "unexpected error");
    detail(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_ERROR)
}

/// Adds `Retry-After` in whole seconds, rounded up: retrying early would
/// be refused again.
fn retry_later(mut response: Response, retry_after: std::time::Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// Displays an error with all its causes, for the log.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn answer(err: DomainError) -> (StatusCode, serde_json::Value, Option<String>) {
        let response = ApiError::Domain(err).into_response();
        let status = response.status();
        let header = [header::RETRY_AFTER, header::WWW_AUTHENTICATE]
            .iter()
            .find_map(|name| response.headers().get(name))
            .map(|value| value.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap(), header)
    }

    /// The wire texts are the old service's, whatever the domain's own
    /// messages say.
    #[tokio::test]
    async fn each_domain_error_has_its_status_and_text() {
        let seconds = |secs: u64| Duration::from_millis(secs * 1000 - 1);
        let cases = [
            (DomainError::UserNotFound, 404, "User Not Found", None),
            (DomainError::TodoNotFound, 404, "ToDo Not Found", None),
            (DomainError::SessionNotFound, 404, "Session Not Found", None),
            (
                DomainError::UsernameTaken,
                409,
                "Username Already Taken",
                None,
            ),
            (DomainError::EmailTaken, 409, "Email Already In Use", None),
            (DomainError::InvalidOtp, 400, "Bad Request", None),
            (
                DomainError::PreconditionFailed,
                412,
                "Precondition Failed",
                None,
            ),
            (
                DomainError::IdempotencyKeyReused,
                422,
                "Idempotency-Key reused with a different body",
                None,
            ),
            (
                DomainError::RequestInProgress,
                409,
                "Request In Progress",
                None,
            ),
            (
                DomainError::RateLimited {
                    retry_after: seconds(30),
                },
                429,
                "Too Many Requests",
                Some("30"),
            ),
            (
                DomainError::Overloaded {
                    retry_after: seconds(2),
                },
                503,
                OVERLOADED,
                Some("2"),
            ),
            (
                DomainError::NotAuthenticated,
                401,
                "Not Authorized",
                Some("Bearer"),
            ),
            (
                DomainError::unavailable("cache", "refused"),
                503,
                "The cache is unavailable, try again later",
                None,
            ),
            (
                DomainError::unexpected("a secret cause"),
                500,
                INTERNAL_ERROR,
                None,
            ),
        ];
        for (err, status, text, header) in cases {
            let label = format!("{err:?}");
            assert_eq!(
                answer(err).await,
                (
                    StatusCode::from_u16(status).unwrap(),
                    json!({ "detail": text }),
                    header.map(str::to_owned)
                ),
                "{label}"
            );
        }
    }

    #[tokio::test]
    async fn an_invalid_value_is_a_field_error() {
        let (status, body, _) = answer(DomainError::invalid("contents", "too long")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            json!({ "detail": [{ "type": "value_error", "loc": ["body", "contents"], "msg": "too long" }] })
        );
    }
}
