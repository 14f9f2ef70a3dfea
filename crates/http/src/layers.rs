//! Cross-cutting layers: body limit, timeouts, load shedding, request ids,
//! tracing, panics, and one rule that every error response speaks
//! `{"detail": …}`.

use std::time::Duration;

use axum::{
    BoxError, Router,
    error_handling::HandleErrorLayer,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::Response,
};
use tower::{ServiceBuilder, limit::ConcurrencyLimitLayer, load_shed::LoadShedLayer};
use tower_http::{
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::error::detail;

/// Bodies over 64 KiB are refused with 413 (SPEC: HTTP surface).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request| {
                            let request_id = request
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            // Path only: query strings are not logged.
                            tracing::info_span!(
                                "request",
                                method = %request.method(),
                                path = %request.uri().path(),
                                request_id,
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(HandleErrorLayer::new(|_: BoxError| async { overloaded() }))
                .layer(LoadShedLayer::new())
                .layer(ConcurrencyLimitLayer::new(limits.max_concurrent_requests))
                .layer(CatchPanicLayer::custom(|_| {
                    detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                })),
        )
}

/// Load shedding refused the request: every slot was busy.
fn overloaded() -> Response {
    let mut response = detail(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is overloaded, try again later",
    );
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
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let fresh = detail(status, text);
    parts.headers.extend(fresh.headers().clone());
    Response::from_parts(parts, fresh.into_body())
}
