mod meta;
mod todos;
mod users;

use axum::Router;

use crate::{AppState, layers};

/// The whole HTTP surface of SPEC.md, with its layers.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(meta::routes())
        .merge(users::routes())
        .merge(todos::routes())
        .with_state(state);
    layers::apply(routes)
}
