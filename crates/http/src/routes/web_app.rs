//! The web app for people (README: "Try it in a browser"): plain HTML, CSS
//! and JavaScript modules from `crates/http/web/`, compiled into the
//! binary, served under `/app/`. It is not API, so it is not in the OpenAPI
//! document; it talks to the API routes like any other client.

use axum::{
    Router,
    body::Body,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Redirect, Response},
    routing::get,
};
use rust_embed::Embed;

use crate::{
    error::detail,
    extract::{conditional_get_of, hex},
};

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
/// checked); `If-None-Match` with that tag gets 304 and no body, as the
/// todo routes answer it. Compression is the router's (gzip or brotli
/// above 1 KiB).
fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    // Weak: the router compresses, so the bytes sent vary with
    // Accept-Encoding while the file is the same.
    let etag = format!("W/\"{}\"", hex(&file.metadata.sha256_hash()[..16]))
        .parse()
        .expect("hex makes a valid entity tag");
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    let content_type = HeaderValue::from_str(&content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = conditional_get_of(request, etag, content_type, Body::from(file.data));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
