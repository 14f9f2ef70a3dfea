use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{HeaderMap, header},
};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::{
    body_deadline::BodyTimeout,
    error::{ApiError, Location},
};

/// A JSON body. Unlike `axum::Json`, a body without a content type is read
/// as JSON (as FastAPI does), and every body problem is a 422 naming the
/// field, except an oversized body (413) and one that did not arrive in
/// time (408).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The body is read before its type is checked: an oversized body is
        // 413 and a late one 408, whatever its type.
        let declared_json = is_json_or_absent(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else if BodyTimeout::caused(&rejection) {
                ApiError::RequestTimeout
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        if !declared_json {
            return Err(ApiError::validation(
                Location::Body,
                [],
                "model_attributes_type",
                "Content-Type must be application/json",
            ));
        }
        parse(&bytes).map(ApiJson)
    }
}

fn is_json_or_absent(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let mut path: Vec<String> = err
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let inner = err.into_inner();
        let message = inner.to_string();
        let kind = match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => "json_invalid",
            Category::Data => match missing_field(&message) {
                Some(field) => {
                    path.push(field.to_owned());
                    "missing"
                }
                None => "type_error",
            },
        };
        ApiError::validation(Location::Body, path, kind, message)
    })?;
    // Trailing bytes after the value (`{} x`) make the body malformed too.
    deserializer
        .end()
        .map_err(|e| ApiError::validation(Location::Body, [], "json_invalid", e.to_string()))?;
    Ok(value)
}

/// serde reports a missing field in its message only (`missing field `x``).
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}
