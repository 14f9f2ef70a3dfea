//! The account's lifecycle: change the password, reset a forgotten one
//! with a mailed code, delete the account (README: "Account lifecycle").

use axum::{Json, extract::State, http::StatusCode};
use todos_domain::{EmailAddress, NewPassword, Otp, Password};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    dto::{ChangePasswordIn, DeleteAccountIn, ForgotPasswordIn, ResetPasswordIn},
    error::ApiError,
    extract::{ApiJson, ClientAddr, CurrentSession, CurrentUser},
    openapi::{
        Detail, HashingUnavailable, PasswordThrottled, PayloadTooLarge, Unavailable, UserGone,
        ValidationFailed, WrongPassword,
    },
    to_completion::to_completion,
};

/// The answer to every accepted forgot-password request, known address or not.
pub const RESET_CODE_SENT: &str = "If the address is verified, a code was sent";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(delete_account))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
}

#[utoipa::path(
    put,
    path = "/users/me/password",
    tag = "account",
    operation_id = "change_password",
    summary = "Change the password",
    description = "Needs the current password; a wrong one counts as a failed log-in of the \
                   username (the same throttle, the same 429). Every other session of the \
                   user ends; the one of this token stays. A notice goes to the verified \
                   address, if any.",
    security(("bearer" = [])),
    request_body = ChangePasswordIn,
    responses(
        (status = 204, description = "Changed; the other sessions are ended"),
        (status = 401, response = WrongPassword),
        (status = 404, response = UserGone),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, response = PasswordThrottled),
        (status = 503, response = HashingUnavailable),
    ),
)]
async fn change_password(
    State(state): State<AppState>,
    CurrentSession(who): CurrentSession,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<ChangePasswordIn>,
) -> Result<StatusCode, ApiError> {
    let current =
        Password::parse(body.current_password).map_err(|e| e.in_field("current_password"))?;
    let new = NewPassword::parse(body.new_password).map_err(|e| e.in_field("new_password"))?;
    let account = state.account;
    to_completion(async move { account.change_password(&who, current, new, client).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/users/me",
    tag = "account",
    operation_id = "delete_account",
    summary = "Delete the account, its todos and sessions",
    description = "Needs the password (a wrong one counts as a failed log-in, as for a \
                   password change). Everything goes in one transaction; the username is \
                   free again. Tokens of the deleted account then get 404 `User Not Found`, \
                   or 401 once a new account holds the name. A notice goes to the verified \
                   address, if any.",
    security(("bearer" = [])),
    request_body = DeleteAccountIn,
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = WrongPassword),
        (status = 404, response = UserGone),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, response = PasswordThrottled),
        (status = 503, response = HashingUnavailable),
    ),
)]
async fn delete_account(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<DeleteAccountIn>,
) -> Result<StatusCode, ApiError> {
    let password = Password::parse(body.password)?;
    let account = state.account;
    to_completion(async move { account.delete(&user, password, client).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The same answer for every address: it tells no one which addresses
/// have accounts.
#[utoipa::path(
    post,
    path = "/users/password/forgot",
    tag = "account",
    operation_id = "forgot_password",
    summary = "Email a password reset code",
    description = "The same answer for every address. Only when the address is some \
                   account's verified address, a 6-digit code goes to it by email (in the \
                   background): valid 15 minutes, void after 5 wrong attempts, single use, \
                   replaced by a newer request. More than 5 requests for one address in an \
                   hour get 429, whether or not it belongs to an account.",
    request_body = ForgotPasswordIn,
    responses(
        (status = 202, description = "Accepted (whether or not a code was sent)", body = Detail,
            example = json!({ "detail": RESET_CODE_SENT })),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, description = "More than 5 requests for this address this hour", body = Detail,
            headers(("Retry-After" = u64, description = "Seconds until a request is accepted again")),
            example = json!({ "detail": "Too Many Requests" })),
        (status = 503, response = Unavailable),
    ),
)]
async fn forgot_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ForgotPasswordIn>,
) -> Result<(StatusCode, Json<Detail>), ApiError> {
    let email = EmailAddress::parse(&body.email)?;
    state.password_reset.forgot(email).await?;
    let accepted = Detail {
        detail: RESET_CODE_SENT.into(),
    };
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

#[utoipa::path(
    post,
    path = "/users/password/reset",
    tag = "account",
    operation_id = "reset_password",
    summary = "Set a new password with a mailed reset code",
    description = "Every session of the account ends and a notice is mailed. A wrong, \
                   expired, used or voided code, or an address without one, is 400 alike.",
    request_body = ResetPasswordIn,
    responses(
        (status = 204, description = "The password is changed; every session is ended"),
        (status = 400, description = "Wrong, expired, voided or used code, or none for the address",
            body = Detail, example = json!({ "detail": "Bad Request" })),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 503, response = HashingUnavailable),
    ),
)]
async fn reset_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetPasswordIn>,
) -> Result<StatusCode, ApiError> {
    let email = EmailAddress::parse(&body.email)?;
    let code = Otp::parse(&body.code).map_err(|e| e.in_field("code"))?;
    let new = NewPassword::parse(body.new_password).map_err(|e| e.in_field("new_password"))?;
    state.password_reset.reset(email, code, new).await?;
    Ok(StatusCode::NO_CONTENT)
}
