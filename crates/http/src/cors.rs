//! Cross-origin access for browser pages served elsewhere (README:
//! "Configuration", `TODOS_CORS_ORIGINS`). None by default: the web app at
//! `/app/` is same-origin and needs none.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The origins (`scheme://host[:port]`) whose pages may call the API.
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins(Vec<HeaderValue>);

impl CorsOrigins {
    /// Comma-separated origins; an empty list allows none.
    ///
    /// ```
    /// # use todos_http::CorsOrigins;
    /// assert!(CorsOrigins::parse("https://todo.example, http://localhost:5173").is_ok());
    /// assert!(CorsOrigins::parse("").unwrap().is_empty());
    /// assert!(CorsOrigins::parse("*").is_err());
    /// assert!(CorsOrigins::parse("https://todo.example/app").is_err());
    /// ```
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let host = entry
                    .strip_prefix("https://")
                    .or_else(|| entry.strip_prefix("http://"))
                    .filter(|host| {
                        !host.is_empty()
                            && host.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                            })
                    });
                match host {
                    Some(_) => Ok(HeaderValue::from_str(entry).expect("checked characters")),
                    None => Err(format!(
                        "{entry:?} is not an origin (http:// or https://, a host, an optional port, no path)"
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The layer answering preflights and adding the CORS headers for
    /// these origins; `None` when there are none (no CORS header at all).
    pub(crate) fn layer(&self) -> Option<CorsLayer> {
        if self.is_empty() {
            return None;
        }
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(self.0.clone()))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_MATCH,
                    header::IF_NONE_MATCH,
                    HeaderName::from_static("idempotency-key"),
                    HeaderName::from_static("x-request-id"),
                ])
                .expose_headers([
                    header::ETAG,
                    header::RETRY_AFTER,
                    header::WWW_AUTHENTICATE,
                    HeaderName::from_static("x-request-id"),
                ])
                // Bearer tokens, not cookies: no credentials mode.
                .max_age(Duration::from_secs(600)),
        )
    }
}
