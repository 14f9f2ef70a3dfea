use std::sync::Arc;

use crate::{extract::TrustedProxies, layers::Limits};
use todos_domain::{Accounts, EmailVerification, HealthProbe, Todos};

/// What handlers reach: the use cases, and the probes readiness reports on.
#[derive(Clone)]
pub struct AppState {
    pub accounts: Accounts,
    pub todos: Todos,
    pub email_verification: EmailVerification,
    pub readiness: Readiness,
    pub limits: Limits,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
}

#[derive(Clone)]
pub struct Readiness {
    pub database: Arc<dyn HealthProbe>,
    pub cache: Arc<dyn HealthProbe>,
}
