//! The HTTP face of `todos`: axum routers, extractors, DTOs, the one
//! mapping from domain errors to status codes and `{"detail": …}` bodies,
//! and the OpenAPI document with Swagger UI generated from the same routes.

mod body_deadline;
mod cors;
mod dto;
mod error;
mod extract;
mod layers;
mod messages;
mod openapi;
mod routes;
mod state;
mod to_completion;

pub use cors::CorsOrigins;
pub use error::ApiError;
pub use extract::TrustedProxies;
pub use layers::{Limits, MAX_BODY_BYTES, UNMATCHED_ROUTE};
pub use routes::{APP_PATH, DOCS_PATH, OPENAPI_PATH, openapi, router};
pub use state::{AppState, Readiness};
