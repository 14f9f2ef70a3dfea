use std::sync::Arc;

use crate::{cors::CorsOrigins, extract::TrustedProxies, layers::Limits};
use todos_domain::{
    Account, Authentication, EmailVerification, HealthProbe, LogIn, PasswordReset, Sessions,
    SignUp, Todos,
};

/// What handlers reach: the use cases, and the probes readiness reports on.
#[derive(Clone)]
pub struct AppState {
    pub sign_up: SignUp,
    pub log_in: LogIn,
    /// Turns bearer tokens into users.
    pub authentication: Authentication,
    /// Refresh, list and end sessions.
    pub sessions: Sessions,
    pub todos: Todos,
    pub email_verification: EmailVerification,
    /// Password change and account deletion.
    pub account: Account,
    /// Forgot/reset password by email.
    pub password_reset: PasswordReset,
    pub readiness: Readiness,
    pub limits: Limits,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Origins whose pages may call the API; none by default.
    pub cors_origins: CorsOrigins,
}

#[derive(Clone)]
pub struct Readiness {
    pub database: Arc<dyn HealthProbe>,
    pub cache: Arc<dyn HealthProbe>,
}
