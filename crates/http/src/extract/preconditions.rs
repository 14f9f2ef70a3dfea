//! HTTP preconditions (RFC 9110, section 13) on todos, with the typed
//! headers of the `headers` crate, which implement its comparison rules.

use axum::{
    body::Body,
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use headers::{ETag, HeaderMapExt, IfMatch, IfNoneMatch};
use todos_domain::{Precondition, Todo, TodoId};

use crate::error::ApiError;

/// The strong ETag of a todo: its id and version. Every change moves the
/// version, so equal tags mean the same representation.
pub fn todo_etag(todo: &Todo) -> ETag {
    format!("\"{}-{}\"", todo.id.get(), todo.version())
        .parse()
        .expect("digits and a dash make a valid entity tag")
}

/// The strong ETag of a response body: its SHA-256, shortened.
pub fn body_etag(body: &[u8]) -> ETag {
    use sha2::{Digest, Sha256};
    let hex = hex(&Sha256::digest(body)[..12]);
    format!("\"{hex}\"")
        .parse()
        .expect("hex makes a valid entity tag")
}

/// Lower-case hex digits of `bytes`, as entity tags carry digests.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `If-Match` of a PATCH or DELETE, as the [`Precondition`] the write
/// checks in its own statement. An unreadable header matches nothing, so
/// the write is refused rather than made unconditionally.
pub enum IfMatchHeader {
    Absent,
    /// The header's entity tags (validated by the `headers` crate).
    Present(Vec<String>),
    Any,
    Unreadable,
}

impl IfMatchHeader {
    /// What the header requires of todo `id`: the versions of the strong
    /// tags [`todo_etag`] would give it. A weak tag or another todo's tag
    /// never matches (`If-Match` compares strongly).
    pub fn precondition(&self, id: TodoId) -> Precondition {
        match self {
            Self::Absent | Self::Any => Precondition::Any,
            Self::Unreadable => Precondition::VersionIn(Vec::new()),
            Self::Present(tags) => {
                let prefix = format!("\"{}-", id.get());
                Precondition::VersionIn(
                    tags.iter()
                        .filter_map(|tag| {
                            tag.strip_prefix(&prefix)?.strip_suffix('"')?.parse().ok()
                        })
                        .collect(),
                )
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatchHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(match parts.headers.typed_try_get::<IfMatch>() {
            Ok(None) => Self::Absent,
            Ok(Some(if_match)) if if_match.is_any() => Self::Any,
            Ok(Some(_)) => Self::Present(
                // Our tags hold no comma, so a tag that does can only
                // split into parts that match none of ours.
                parts
                    .headers
                    .get_all(header::IF_MATCH)
                    .iter()
                    .filter_map(|value| value.to_str().ok())
                    .flat_map(|value| value.split(','))
                    .map(|tag| tag.trim().to_owned())
                    .collect(),
            ),
            Err(_) => Self::Unreadable,
        })
    }
}

/// A GET's answer with its ETag: 304 with only the tag when the request's
/// `If-None-Match` has it (weak comparison, as RFC 9110 says for GET).
pub fn conditional_get(request: &HeaderMap, etag: ETag, json: Vec<u8>) -> Response {
    let json_type = HeaderValue::from_static("application/json");
    conditional_get_of(request, etag, json_type, Body::from(json))
}

/// [`conditional_get`] for a body of any `content_type` (the web app's
/// files).
pub fn conditional_get_of(
    request: &HeaderMap,
    etag: ETag,
    content_type: HeaderValue,
    body: Body,
) -> Response {
    let fresh = request
        .typed_get::<IfNoneMatch>()
        .is_some_and(|if_none_match| !if_none_match.precondition_passes(&etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    response.headers_mut().typed_insert(etag);
    response
}
