mod account;
mod meta;
mod sessions;
mod todos;
mod users;
mod web_app;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::{AppState, layers, openapi::ApiDoc};

/// Where the OpenAPI document and Swagger UI are served, without auth.
pub const OPENAPI_PATH: &str = "/openapi.json";
pub const DOCS_PATH: &str = "/docs";
pub use web_app::APP_PATH;

/// The whole HTTP surface (README: "HTTP surface"), with its layers, plus the OpenAPI
/// document and Swagger UI (assets compiled in, nothing fetched at run time).
pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    let cors = state.cors_origins.layer();
    let (routes, document) = api().split_for_parts();
    let routes = routes
        .merge(
            SwaggerUi::new(DOCS_PATH)
                .url(OPENAPI_PATH, document)
                // Swagger UI would otherwise send the document to swagger.io's
                // online validator: the page must work offline and leak nothing.
                .config(Config::default().validator_url("none")),
        )
        .merge(web_app::routes())
        .with_state(state);
    let routes = layers::apply(routes, limits);
    // Outermost, so that preflights are answered before any other layer.
    match cors {
        Some(cors) => routes.layer(cors),
        None => routes,
    }
}

/// The OpenAPI document of [`router`], without serving it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

/// Every API route, registered once for both the router and the document.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(meta::routes())
        .merge(users::routes())
        .merge(account::routes())
        .merge(sessions::routes())
        .merge(todos::routes())
}
