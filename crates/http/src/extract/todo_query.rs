use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};
use serde::Deserialize;
use todos_domain::{PageLimit, SortOrder, TodoId, TodoQuery};
use utoipa::{
    IntoParams,
    openapi::{
        Required,
        path::{Parameter, ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Type},
    },
};

use crate::error::{ApiError, Location};

/// `GET /todos`'s query: `order` (`ASC`/`DESC`, any case, ascending when
/// absent), `is_done` (`true`/`false`), `limit` (1–1000, default 1000)
/// and `after` (a todo id). Each bad value is a 422 naming it.
pub struct TodoListQuery(pub TodoQuery);

impl IntoParams for TodoListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let param = |name: &str, description: &str, schema: ObjectBuilder| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .description(Some(description))
                .required(Required::False)
                .schema(Some(schema))
                .build()
        };
        vec![
            param(
                "order",
                "`ASC` (the default) or `DESC`, in any letter case: by id",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["ASC", "DESC"])),
            ),
            param(
                "is_done",
                "Only done (`true`) or only open (`false`) todos",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["true", "false"])),
            ),
            param(
                "limit",
                "Todos per page, 1 to 1000 (the default)",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(PageLimit::MAX))
                    .default(Some(PageLimit::MAX.into())),
            ),
            param(
                "after",
                "A todo id, existing or not: with `ASC` the page holds ids above it, with \
                 `DESC` ids below it. Clients take it from `next` rather than build it.",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int64,
                    )))
                    .minimum(Some(1)),
            ),
        ]
    }
}

/// Read as strings: each parameter's own rules name it when broken.
#[derive(Deserialize)]
struct Params {
    order: Option<String>,
    is_done: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for TodoListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<Params>::try_from_uri(&parts.uri).map_err(|rejection| {
            ApiError::validation(
                Location::Query,
                ["query".into()],
                "value_error",
                rejection.body_text(),
            )
        })?;
        let invalid = |err| ApiError::invalid_in(Location::Query, err);
        let order = match params.order {
            None => SortOrder::default(),
            Some(raw) => SortOrder::parse(&raw).map_err(invalid)?,
        };
        let is_done = match params.is_done.as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                return Err(ApiError::validation(
                    Location::Query,
                    ["is_done".into()],
                    "value_error",
                    "must be true or false",
                ));
            }
        };
        let limit = match params.limit {
            None => PageLimit::default(),
            Some(raw) => PageLimit::parse(&raw).map_err(invalid)?,
        };
        let after = match params.after {
            None => None,
            Some(raw) => Some(TodoId::parse(&raw).map_err(|_| {
                ApiError::validation(
                    Location::Query,
                    ["after".into()],
                    "value_error",
                    "must be a positive 64-bit integer",
                )
            })?),
        };
        Ok(Self(TodoQuery {
            order,
            is_done,
            limit,
            after,
        }))
    }
}

/// The relative URL of the page that `query` selects, as `next` gives it.
pub fn page_url(query: &TodoQuery) -> String {
    let order = match query.order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    let mut url = format!("/todos?order={order}&limit={}", query.limit.get());
    if let Some(is_done) = query.is_done {
        url.push_str(&format!("&is_done={is_done}"));
    }
    if let Some(after) = query.after {
        url.push_str(&format!("&after={}", after.get()));
    }
    url
}
