use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};
use serde::Deserialize;
use todos_domain::SortOrder;
use utoipa::{
    IntoParams,
    openapi::{
        Required,
        path::{Parameter, ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Type},
    },
};

use crate::error::{ApiError, Location};

/// `?order=ASC|DESC`, in any letter case; ascending when absent.
/// Operations list it in `params`.
pub struct ListOrder(pub SortOrder);

impl IntoParams for ListOrder {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let values = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Sort order of the list by id."))
            .enum_values(Some(["ASC", "DESC"]));
        let order = ParameterBuilder::new()
            .name("order")
            .parameter_in(ParameterIn::Query)
            .description(Some("`ASC` (the default) or `DESC`, in any letter case"))
            .required(Required::False)
            .schema(Some(values));
        vec![order.build()]
    }
}

#[derive(Deserialize)]
struct Params {
    order: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListOrder {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<Params>::try_from_uri(&parts.uri).map_err(|rejection| {
            ApiError::validation(
                Location::Query,
                ["order".into()],
                "value_error",
                rejection.body_text(),
            )
        })?;
        match params.order {
            None => Ok(Self(SortOrder::default())),
            Some(raw) => SortOrder::parse(&raw)
                .map(Self)
                .map_err(|e| ApiError::invalid_in(Location::Query, e)),
        }
    }
}
