//! Extractors that reject with [`ApiError`](crate::ApiError), so even a
//! parse failure answers in the service's `{"detail": …}` shape.

mod client_address;
mod current_user;
mod json;
mod list_order;
mod session_id;
mod todo_id;

pub use client_address::{ClientAddr, TrustedProxies};
pub use current_user::{CurrentSession, CurrentUser};
pub use json::ApiJson;
pub use list_order::ListOrder;
pub use session_id::SessionIdPath;
pub use todo_id::TodoIdPath;
