//! Cross-cutting layers: body limit, timeouts, load shedding, request ids,
//! tracing, panics, and one rule that every error response speaks
//! `{"detail": …}`.

use std::time::Duration;

use axum::{
    BoxError, Router,
    error_handling::HandleErrorLayer,
    extract::{DefaultBodyLimit, MatchedPath, Request},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::Response,
};
use tower::{
    ServiceBuilder, limit::ConcurrencyLimitLayer, load_shed::LoadShedLayer, util::MapRequestLayer,
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{CompressionLayer, DefaultPredicate, Predicate, predicate::SizeAbove},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    error::detail,
    messages::{BODY_TOO_LARGE, INTERNAL_ERROR, OVERLOADED},
};

/// Bodies over 64 KiB are refused with 413 (README: "HTTP surface").
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route of a request that matched none (404), in logs and metrics.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Bounds on the work one instance takes on.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request still running after this is answered 503.
    pub request_timeout: Duration,
    /// Requests handled at once; more are refused at once with 503 and
    /// `Retry-After` rather than queued without bound.
    pub max_concurrent_requests: usize,
    /// A body not complete this long after its head is answered 408.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
            body_timeout: Duration::from_secs(10),
        }
    }
}

pub fn apply(router: Router, limits: Limits) -> Router {
    router
        // tower-http's limit refuses by Content-Length up front and caps
        // streamed bodies; axum's own default (2 MB) would only get in the way.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(crate::body_deadline::layer(limits.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        // Outside the limit, so its 413 gets a JSON body too.
        .layer(middleware::from_fn(json_error_bodies))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                ]))
                .layer(MapRequestLayer::new(drop_unsafe_request_id))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request| {
                            let request_id = request
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            // The template (`/todos/{id}`), as the metrics label
                            // requests; these layers wrap each route, so axum
                            // has matched it already.
                            let route = request
                                .extensions()
                                .get::<MatchedPath>()
                                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
                            // Path only: query strings are not logged.
                            tracing::info_span!(
                                "request",
                                method = %request.method(),
                                route,
                                path = %request.uri().path(),
                                request_id,
                            )
                        })
                        .on_response(log_response)
                        // Every response is logged above, with its status; an
                        // ERROR line per 5xx on top would turn a flood of
                        // refusals (503) into a flood of log. Real faults are
                        // logged with their cause where they happen.
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CompressionLayer::new().compress_when(
                    DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE_BYTES)),
                ))
                .layer(middleware::from_fn(security_headers))
                .layer(HandleErrorLayer::new(|_: BoxError| async { overloaded() }))
                .layer(LoadShedLayer::new())
                .layer(ConcurrencyLimitLayer::new(limits.max_concurrent_requests))
                .layer(CatchPanicLayer::custom(|_| {
                    detail(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_ERROR)
                })),
        )
}

/// One line per response, in the request's span. Numbers, not
/// tower-http's "3 ms": JSON logs (TODOS_LOG_FORMAT=json) keep them so.
fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, _: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        "finished processing request"
    );
}

/// Smaller responses gain little from compression and cost CPU.
const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// A client's `X-Request-Id` is kept only when it is 1–64 characters of
/// `[A-Za-z0-9._-]`; anything else (huge, markup, raw bytes) would end up
/// verbatim in logs and responses, so a fresh id replaces it.
fn drop_unsafe_request_id(mut request: Request) -> Request {
    let safe = |value: &HeaderValue| {
        (1..=64).contains(&value.len())
            && value
                .as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let ids = request.headers().get_all(REQUEST_ID);
    let keep = ids.iter().count() == 1 && ids.iter().all(safe);
    if !keep {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

/// Swagger UI loads its scripts and styles from here (no inline script);
/// its components set inline styles, and its icons are `data:` images.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";
/// The web app (README: "Try it in a browser") runs only its own files:
/// no inline script or style, no other origin, no framing.
const APP_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// API answers are data, never a page: nothing may load or frame them.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Headers that stop browsers from sniffing, framing or running what the
/// service sends.
async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let csp = if path.starts_with(crate::routes::DOCS_PATH) {
        DOCS_CSP
    } else if path == "/app" || path.starts_with(crate::routes::APP_PATH) {
        APP_CSP
    } else {
        API_CSP
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    // The app's addresses (and tokens never are in them) stay here.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Load shedding refused the request: every slot was busy.
fn overloaded() -> Response {
    let mut response = detail(StatusCode::SERVICE_UNAVAILABLE, OVERLOADED);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Responses that axum or tower-http produce on their own (unknown route,
/// wrong method, oversized body, …) carry no JSON; give them a `detail`
/// like every other error, as FastAPI does.
async fn json_error_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let text = match status {
        StatusCode::PAYLOAD_TOO_LARGE => BODY_TOO_LARGE,
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let fresh = detail(status, text);
    parts.headers.extend(fresh.headers().clone());
    Response::from_parts(parts, fresh.into_body())
}
