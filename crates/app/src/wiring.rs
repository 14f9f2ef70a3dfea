//! The composition root: the one place that picks adapters for the ports.

use std::sync::Arc;

use todos_auth::{Argon2Hasher, JwtCodec, JwtSecret};
use todos_domain::{Accounts, NewPassword, Todos, User, Username};
use todos_http::{AppState, Readiness};
use todos_persistence::{
    DatabaseConnection, DatabaseProbe, DatabaseSettings, SeaTodoRepository, SeaUserRepository,
};

use crate::{Settings, probes::InProcessCacheProbe};

pub(crate) fn app_state(settings: &Settings, db: &DatabaseConnection) -> AppState {
    let secret = settings.jwt_secret.clone().unwrap_or_else(|| {
        tracing::warn!(
            "JWT_SECRET is not set: using a random key, so tokens stop working when this process \
             exits and are not accepted by other instances"
        );
        JwtSecret::random()
    });
    AppState {
        accounts: accounts(db, Arc::new(JwtCodec::new(&secret, settings.jwt_ttl))),
        todos: Todos::new(Arc::new(SeaTodoRepository::new(db.clone()))),
        readiness: Readiness {
            database: Arc::new(DatabaseProbe::new(db.clone())),
            cache: Arc::new(InProcessCacheProbe),
        },
    }
}

fn accounts(db: &DatabaseConnection, tokens: Arc<JwtCodec>) -> Accounts {
    Accounts::new(
        Arc::new(SeaUserRepository::new(db.clone())),
        Arc::new(Argon2Hasher::default()),
        tokens,
    )
}

/// `todos create-user`: the same sign-up rules as the HTTP route.
pub async fn create_user(
    database: &DatabaseSettings,
    username: String,
    password: String,
) -> anyhow::Result<User> {
    let username = Username::parse(username)?;
    let password = NewPassword::parse(password)?;
    let db = crate::startup::open_database(database).await?;
    // No token is issued here; any key will do.
    let tokens = Arc::new(JwtCodec::new(
        &JwtSecret::random(),
        std::time::Duration::from_secs(1),
    ));
    let user = accounts(&db, tokens).sign_up(username, password).await?;
    db.close().await?;
    Ok(user)
}
