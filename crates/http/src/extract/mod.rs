//! Extractors that reject with [`ApiError`](crate::ApiError), so even a
//! parse failure answers in the service's `{"detail": …}` shape.

mod client_address;
mod current_user;
mod idempotency;
mod json;
mod preconditions;
mod session_id;
mod todo_id;
mod todo_query;

pub use client_address::{ClientAddr, TrustedProxies};
pub use current_user::{BearerClaim, CurrentSession, CurrentUser};
pub use idempotency::IdempotencyKeyHeader;
pub use json::ApiJson;
pub use preconditions::{
    IfMatchHeader, body_etag, conditional_get, conditional_get_of, hex, todo_etag,
};
pub use session_id::SessionIdPath;
pub use todo_id::TodoIdPath;
pub use todo_query::{TodoListQuery, page_url};
