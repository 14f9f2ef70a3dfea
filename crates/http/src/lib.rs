//! The HTTP face of `todos`: axum routers, extractors, DTOs and the one
//! mapping from domain errors to status codes and `{"detail": …}` bodies.

mod dto;
mod error;
mod extract;
mod layers;
mod routes;
mod state;

pub use error::ApiError;
pub use layers::MAX_BODY_BYTES;
pub use routes::router;
pub use state::{AppState, Readiness};
