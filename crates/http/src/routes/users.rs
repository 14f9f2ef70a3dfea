use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use serde_json::{Value, json};
use todos_domain::{EmailAddress, NewPassword, Otp, Password, Username};

use crate::{
    AppState,
    dto::{CredentialsIn, OtpRequestIn, OtpVerifyIn, SignUpOut, TokenOut, UserOut},
    error::ApiError,
    extract::{ApiJson, CurrentUser},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users/sign-up", post(sign_up))
        .route("/users/log-in", post(log_in))
        .route("/users/me", get(me))
        .route("/users/email/otp", post(request_otp))
        .route("/users/email/otp/verify", post(verify_otp))
}

async fn sign_up(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CredentialsIn>,
) -> Result<(StatusCode, Json<SignUpOut>), ApiError> {
    let username = Username::parse(body.username)?;
    let password = NewPassword::parse(body.password)?;
    let user = state.accounts.sign_up(username, password).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Log-in checks only length bounds: accounts made under the old service's
/// rules must still get in.
async fn log_in(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CredentialsIn>,
) -> Result<Json<TokenOut>, ApiError> {
    let username_chars = body.username.chars().count();
    if username_chars == 0 || username_chars > 256 {
        return Err(
            todos_domain::DomainError::invalid("username", "must be 1 to 256 characters").into(),
        );
    }
    let password = Password::parse(body.password)?;
    let token = state.accounts.log_in(&body.username, password).await?;
    Ok(Json(token.into()))
}

async fn me(CurrentUser(user): CurrentUser) -> Json<UserOut> {
    Json(user.into())
}

/// 202: the code goes out by email in the background, never in the response.
async fn request_otp(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<OtpRequestIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email = EmailAddress::parse(&body.email)?;
    state.email_verification.request(&user, email).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "detail": "OTP sent" }))))
}

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
