//! The OpenAPI 3.1 document's frame: title, tags, the bearer scheme behind
//! Swagger UI's "Authorize" button, and the error bodies and responses that
//! many operations share. Operations themselves are described next to their
//! handlers (`#[utoipa::path]`), and reach the document through the same
//! `routes!` registrations that build the router, so the two cannot drift.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::{
    Modify, OpenApi, PartialSchema, ToResponse, ToSchema,
    openapi::{
        RefOr, Schema,
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

use crate::{error::FieldError, messages::OVERLOADED};

/// Name of the security scheme; protected operations say
/// `security(("bearer" = []))` (utoipa takes only a literal there).
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "todos",
        description = "A ToDo REST service. Sign up, log in (POST /users/log-in), then click \
                       **Authorize** and paste the `access_token` to call the protected routes.\n\n\
                       Every error is JSON `{\"detail\": …}`; validation errors (422) use \
                       FastAPI's list form. Bodies over 64 KiB get 413."
    ),
    modifiers(&BearerScheme),
    components(
        schemas(Detail, ValidationErrorBody, FieldError),
        responses(
            NotAuthorized,
            UserGone,
            TodoNotFound,
            ValidationFailed,
            PayloadTooLarge,
            Unavailable,
            HashingUnavailable,
            WrongPassword,
            PasswordThrottled,
            NotModified,
            PreconditionFailed,
        )
    ),
    tags(
        (name = "meta", description = "Liveness and readiness"),
        (name = "users", description = "Accounts, tokens and email verification"),
        (name = "account", description = "Change or reset the password, delete the account"),
        (name = "sessions", description = "Refresh tokens, log-out and the signed-in user's sessions"),
        (name = "todos", description = "The signed-in user's todos"),
    )
)]
pub struct ApiDoc;

/// Adds the HTTP bearer scheme; Swagger UI offers it under "Authorize".
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `access_token` from POST /users/log-in or /users/token/refresh (HS256 JWT).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The body of every error but validation errors, as FastAPI shapes it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({ "detail": "ToDo Not Found" }))]
pub struct Detail {
    pub detail: String,
}

/// A 422 body: FastAPI's list of field errors.
#[derive(Serialize, ToSchema)]
pub struct ValidationErrorBody {
    pub detail: Vec<FieldError>,
}

// The response components below describe answers built elsewhere (the
// error mapping, the layers); they carry no body, only its schema: each
// holds a zero-sized stand-in that documents as the body type.

/// [`Detail`]'s schema, for response components.
pub struct DetailSchema;

impl PartialSchema for DetailSchema {
    fn schema() -> RefOr<Schema> {
        Detail::schema()
    }
}

impl ToSchema for DetailSchema {
    fn name() -> Cow<'static, str> {
        Detail::name()
    }
}

/// A 422 of POST /todos: field errors, or the `Idempotency-Key` reused
/// with another body (`{"detail": "Idempotency-Key reused with a different
/// body"}`): one of [`ValidationErrorBody`] and [`Detail`].
pub struct CreateTodoRejected;

impl PartialSchema for CreateTodoRejected {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(ValidationErrorBody::schema())
            .item(Detail::schema())
            .into()
    }
}

impl ToSchema for CreateTodoRejected {}

/// [`ValidationErrorBody`]'s schema, for response components.
pub struct ValidationErrorBodySchema;

impl PartialSchema for ValidationErrorBodySchema {
    fn schema() -> RefOr<Schema> {
        ValidationErrorBody::schema()
    }
}

impl ToSchema for ValidationErrorBodySchema {
    fn name() -> Cow<'static, str> {
        ValidationErrorBody::name()
    }
}

/// Missing, malformed, forged, `alg: none` or expired bearer token.
#[derive(ToResponse)]
#[response(
    headers(("WWW-Authenticate" = String, description = "Always `Bearer`")),
    example = json!({ "detail": "Not Authorized" })
)]
pub struct NotAuthorized(DetailSchema);

/// A bad bearer token, or a wrong password in the body.
#[derive(ToResponse)]
#[response(
    headers(("WWW-Authenticate" = String, description = "Always `Bearer`")),
    example = json!({ "detail": "Not Authorized" })
)]
pub struct WrongPassword(DetailSchema);

/// Too many failed password checks for this username: the log-in
/// throttle, which password changes and account deletions share.
#[derive(ToResponse)]
#[response(
    headers(("Retry-After" = u64, description = "Seconds until a check is accepted again")),
    example = json!({ "detail": "Too Many Requests" })
)]
pub struct PasswordThrottled(DetailSchema);

/// The client's copy is current (its `If-None-Match` has the ETag): no body.
#[derive(ToResponse)]
#[response(headers(("ETag" = String, description = "The current entity tag")))]
pub struct NotModified;

/// The todo's ETag is not one the `If-Match` header names: nothing changed.
#[derive(ToResponse)]
#[response(example = json!({ "detail": "Precondition Failed" }))]
pub struct PreconditionFailed(DetailSchema);

/// A body, path or query value that breaks a rule: malformed JSON, a
/// non-JSON content type, a missing field, a wrong type or a bad value.
#[derive(ToResponse)]
#[response(example = json!({
    "detail": [{ "type": "missing", "loc": ["body", "contents"], "msg": "missing field `contents`" }]
}))]
pub struct ValidationFailed(ValidationErrorBodySchema);

/// The token's user no longer exists
#[derive(ToResponse)]
#[response(example = json!({ "detail": "User Not Found" }))]
pub struct UserGone(DetailSchema);

/// No such todo among the user's own, or the token's user is gone
#[derive(ToResponse)]
#[response(examples(
    ("todo" = (value = json!({ "detail": "ToDo Not Found" }))),
    ("user" = (value = json!({ "detail": "User Not Found" }))),
))]
pub struct TodoNotFound(DetailSchema);

/// The request body is larger than 64 KiB.
#[derive(ToResponse)]
#[response(example = json!({ "detail": "Request body too large" }))]
pub struct PayloadTooLarge(DetailSchema);

/// The database (or, for email verification and password resets, the
/// cache) cannot be reached.
#[derive(ToResponse)]
#[response(example = json!({ "detail": "The database is unavailable, try again later" }))]
pub struct Unavailable(DetailSchema);

/// The database cannot be reached, or the password-hashing queue is full
/// (then at once, with `Retry-After`).
#[derive(ToResponse)]
#[response(
    headers(("Retry-After" = u64, description = "Seconds to wait, when the hashing queue was full")),
    example = json!({ "detail": OVERLOADED })
)]
pub struct HashingUnavailable(DetailSchema);

#[cfg(test)]
mod tests {
    use super::BEARER;

    #[test]
    fn document_is_openapi_3_1() {
        let document = serde_json::to_value(crate::openapi()).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
    }

    /// A `$ref` to a component that was never registered breaks every
    /// client generator (schemathesis found one).
    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                        found.push(target);
                    }
                    map.values().for_each(|v| refs(v, found));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
                _ => {}
            }
        }
        let document = serde_json::to_value(crate::openapi()).unwrap();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(found.len() > 10, "{found:?}");
        for target in found {
            let pointer = target.strip_prefix('#').expect("a local reference");
            assert!(
                document.pointer(pointer).is_some(),
                "{target} does not resolve"
            );
        }
    }

    /// utoipa takes the scheme's name as a literal in each `security(...)`:
    /// a typo there would leave the operation without an Authorize lock.
    #[test]
    fn protected_operations_require_the_declared_bearer_scheme() {
        let document = serde_json::to_value(crate::openapi()).unwrap();
        assert_eq!(
            document["components"]["securitySchemes"][BEARER],
            serde_json::json!({
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "The `access_token` from POST /users/log-in or /users/token/refresh (HS256 JWT).",
            })
        );
        let operations = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values());
        let mut protected = 0;
        for operation in operations {
            let Some(requirements) = operation.get("security") else {
                continue;
            };
            assert_eq!(requirements, &serde_json::json!([{ BEARER: [] }]));
            protected += 1;
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{operation}");
        }
        assert_eq!(
            protected, 14,
            "users/me (GET, DELETE), the password change, two OTP routes, five todo \
             routes, log-out and three session routes"
        );
    }
}
