//! The web app for people (README: "Try it in a browser"): plain HTML, CSS
//! and JavaScript modules from `crates/http/web/`, compiled into the
//! binary, served under `/app/`. It is not API, so it is not in the OpenAPI
//! document; it talks to the API routes like any other client.

use axum::{
    Router,
    body::Body,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use rust_embed::Embed;

use crate::error::detail;

/// Where the app lives; `/app` redirects here.
pub const APP_PATH: &str = "/app/";

#[derive(Embed)]
#[folder = "web/"]
struct Assets;

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent(APP_PATH) }))
        .route(APP_PATH, get(index))
        .route("/app/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The file with a weak `ETag` (its SHA-256), revalidated on every use
/// (`no-cache`: the names carry no version, so a cached copy must be
/// checked); `If-None-Match` with that tag gets 304 and no body.
/// Compression is the router's (gzip or brotli above 1 KiB).
fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    // Weak: the router compresses, so the bytes sent vary with
    // Accept-Encoding while the file is the same.
    let etag = format!("W/\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let etag = HeaderValue::from_str(&etag).expect("hex digits are a valid header value");
    let cache_control = HeaderValue::from_static("no-cache");
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            // Weak comparison (RFC 9110, 13.1.2): the `W/` prefix is ignored.
            let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
            let ours = opaque(etag.to_str().unwrap_or_default());
            tags.split(',')
                .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
        });
    if fresh {
        let headers = [(header::ETAG, etag), (header::CACHE_CONTROL, cache_control)];
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    let content_type = HeaderValue::from_str(&content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::ETAG, etag),
        (header::CACHE_CONTROL, cache_control),
    ];
    (headers, Body::from(file.data)).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
