use axum::{Json, extract::State, http::StatusCode};
use todos_domain::{EmailAddress, LoginName, NewPassword, Otp, Password, Username};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    dto::{LogInIn, OtpRequestIn, OtpVerifyIn, SignUpIn, SignUpOut, TokenOut, UserOut},
    error::ApiError,
    extract::{ApiJson, ClientAddr, CurrentUser},
    openapi::{
        Detail, HashingUnavailable, NotAuthorized, PayloadTooLarge, Unavailable, UserGone,
        ValidationFailed,
    },
    to_completion::to_completion,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(log_in))
        .routes(routes!(me))
        .routes(routes!(request_otp))
        .routes(routes!(verify_otp))
}

#[utoipa::path(
    post,
    path = "/users/sign-up",
    tag = "users",
    operation_id = "sign_up",
    summary = "Create an account",
    request_body = SignUpIn,
    responses(
        (status = 201, description = "Account created", body = SignUpOut),
        (status = 409, description = "The username is taken, or looks like a taken one \
            (same Unicode confusable skeleton, unless both are ASCII)", body = Detail,
            example = json!({ "detail": "Username Already Taken" })),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, description = "Too many sign-ups from this client address this hour", body = Detail,
            headers(("Retry-After" = u64, description = "Seconds until a sign-up is accepted again")),
            example = json!({ "detail": "Too Many Requests" })),
        (status = 503, response = HashingUnavailable),
    ),
)]
async fn sign_up(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<SignUpIn>,
) -> Result<(StatusCode, Json<SignUpOut>), ApiError> {
    let username = Username::parse(body.username)?;
    let password = NewPassword::parse(body.password)?;
    let user = state
        .sign_up
        .sign_up(username, password, Some(client))
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Log-in checks only length bounds: accounts made under the old service's
/// rules must still get in.
#[utoipa::path(
    post,
    path = "/users/log-in",
    tag = "users",
    operation_id = "log_in",
    summary = "Start a session: a bearer token and a refresh token",
    description = "Checks only the lengths of username (1–256) and password (1–1024), so \
                   accounts made under the old service's rules still get in. Use the \
                   `access_token` with **Authorize**; trade the `refresh_token` for new \
                   tokens at /users/token/refresh before it expires.",
    request_body = LogInIn,
    responses(
        (status = 200, description = "The tokens of a new session", body = TokenOut),
        (status = 401, description = "Wrong password", body = Detail,
            headers(("WWW-Authenticate" = String, description = "Always `Bearer`")),
            example = json!({ "detail": "Not Authorized" })),
        (status = 404, description = "No such user", body = Detail,
            example = json!({ "detail": "User Not Found" })),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, description = "10 failed log-ins for this username from this client \
            address, or 100 from all addresses, in 15 minutes", body = Detail,
            headers(("Retry-After" = u64, description = "Seconds until log-in is accepted again")),
            example = json!({ "detail": "Too Many Requests" })),
        (status = 503, response = HashingUnavailable),
    ),
)]
async fn log_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<LogInIn>,
) -> Result<Json<TokenOut>, ApiError> {
    let username = LoginName::parse(body.username)?;
    let password = Password::parse(body.password)?;
    let log_in = state.log_in;
    let token =
        to_completion(async move { log_in.log_in(&username, password, client).await }).await?;
    Ok(Json(token.into()))
}

#[utoipa::path(
    get,
    path = "/users/me",
    tag = "users",
    operation_id = "me",
    summary = "The signed-in user",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's user", body = UserOut,
            example = json!({ "id": 1, "username": "alice", "email": null, "email_verified": false })),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 503, response = Unavailable),
    ),
)]
async fn me(CurrentUser(user): CurrentUser) -> Json<UserOut> {
    Json(user.into())
}

/// 202: the code goes out by email in the background, never in the response.
#[utoipa::path(
    post,
    path = "/users/email/otp",
    tag = "users",
    operation_id = "request_otp",
    summary = "Email a one-time password to an address",
    description = "Six digits, valid 3 minutes, sent by email (never in the response). A new \
                   request for the same address replaces the previous code. At most 5 requests \
                   per user per hour; refused requests do not count. An address receives at \
                   most 5 code emails per hour, whoever asks: beyond that the request is \
                   answered as usual but nothing is sent (a code already sent stays valid). \
                   Only plain `local@domain` addresses: no quoted local part, no IP literal.",
    security(("bearer" = [])),
    request_body = OtpRequestIn,
    responses(
        (status = 202, description = "The code is on its way", body = Detail,
            example = json!({ "detail": "OTP sent" })),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, description = "Too many requests this hour", body = Detail,
            headers(("Retry-After" = u64, description = "Seconds until a request is accepted again")),
            example = json!({ "detail": "Too Many Requests" })),
        (status = 503, response = Unavailable),
    ),
)]
async fn request_otp(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<OtpRequestIn>,
) -> Result<(StatusCode, Json<Detail>), ApiError> {
    let email = EmailAddress::parse(&body.email)?;
    state.email_verification.request(&user, email).await?;
    let sent = Detail {
        detail: "OTP sent".into(),
    };
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

#[utoipa::path(
    post,
    path = "/users/email/otp/verify",
    tag = "users",
    operation_id = "verify_otp",
    summary = "Verify an address with its one-time password",
    description = "Stores the address on the user and marks it verified; a confirmation email \
                   follows in the background. Five wrong attempts void a code.",
    security(("bearer" = [])),
    request_body = OtpVerifyIn,
    responses(
        (status = 200, description = "The user, now verified", body = UserOut),
        (status = 400, description = "Wrong, expired, voided or used code", body = Detail,
            example = json!({ "detail": "Bad Request" })),
        (status = 401, response = NotAuthorized),
        (status = 404, response = UserGone),
        (status = 409, description = "Another user has verified this address", body = Detail,
            example = json!({ "detail": "Email Already In Use" })),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 503, response = Unavailable),
    ),
)]
async fn verify_otp(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<OtpVerifyIn>,
) -> Result<Json<UserOut>, ApiError> {
    let email = EmailAddress::parse(&body.email)?;
    let otp = Otp::parse(&body.otp)?;
    let verified = state.email_verification.verify(&user, email, otp).await?;
    Ok(Json(verified.into()))
}
