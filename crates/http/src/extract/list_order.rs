use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};
use serde::Deserialize;
use todos_domain::SortOrder;

use crate::error::{ApiError, Location};

/// `?order=ASC|DESC`, in any letter case; ascending when absent.
pub struct ListOrder(pub SortOrder);

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
