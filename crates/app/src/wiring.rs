//! The composition root: the one place that picks adapters for the ports.

use std::sync::Arc;

use anyhow::Context;
use todos_auth::{Argon2Hasher, JwtCodec, JwtSecret};
use todos_cache::{MemoryCache, RedisCache, RedisSettings};
use todos_domain::{
    Account, Authentication, Cache, EmailVerification, LogIn, LoginThrottle, Mailer, NewPassword,
    PasswordHasher, PasswordReset, Policies, RandomOtpGenerator, ResetPorts, SessionPolicy,
    Sessions, SignUp, SignUpLimit, SignUpPolicy, Todos, User, Username,
};
use todos_http::{AppState, Readiness};
use todos_mail::{DirMailer, LogMailer, SmtpMailer};
use todos_persistence::{
    DatabaseProbe, DatabaseSettings, SeaSessionRepository, SeaTodoRepository, SeaUserRepository,
    Store,
};

use crate::{
    Settings,
    background::{BackgroundTasks, QueuedMailer},
    config::MailSettings,
    metrics::{MeteredCache, Metrics},
    probes::CacheProbe,
};

/// The use cases on their adapters; with `metrics`, the cache and the
/// mailer also count for them.
pub(crate) fn app_state(
    settings: &Settings,
    store: &Store,
    tasks: &BackgroundTasks,
    hasher: Argon2Hasher,
    metrics: Option<&Metrics>,
) -> anyhow::Result<AppState> {
    let db = &store.reads;
    let secret = settings.jwt_secret.clone().unwrap_or_else(|| {
        tracing::warn!(
            "JWT_SECRET is not set: using a random key, so tokens stop working when this process \
             exits and are not accepted by other instances"
        );
        JwtSecret::random()
    });
    let policies = policies(settings);
    let users = Arc::new(SeaUserRepository::new(db.clone()));
    let hasher: Arc<dyn PasswordHasher> = Arc::new(hasher);
    let tokens = Arc::new(JwtCodec::new(&secret, settings.jwt_ttl));
    let session_store = Arc::new(SeaSessionRepository::new(db.clone()));
    let sessions = Sessions::new(session_store.clone(), tokens.clone(), &policies);
    let mut cache = cache(settings.redis.as_ref()).context("cannot set up the cache")?;
    let mut mailer = QueuedMailer::new(
        mail_transports(&settings.mail).context("cannot set up mail")?,
        tasks.clone(),
    );
    if let Some(metrics) = metrics {
        cache = Arc::new(MeteredCache {
            inner: cache,
            errors: metrics.cache_errors.clone(),
        });
        mailer = mailer.with_counters(metrics.mail.clone());
    }
    let mailer = Arc::new(mailer);
    let throttle = LoginThrottle::new(cache.clone(), &policies);
    let codes = Arc::new(RandomOtpGenerator);
    Ok(AppState {
        sign_up: SignUp::new(users.clone(), hasher.clone())
            .with_limit(SignUpLimit::new(cache.clone(), &policies)),
        log_in: LogIn::new(users.clone(), hasher.clone(), sessions.clone())
            .with_throttle(throttle.clone()),
        authentication: Authentication::new(users.clone(), session_store.clone(), tokens),
        sessions,
        todos: Todos::with_policies(Arc::new(SeaTodoRepository::with_store(store)), &policies),
        email_verification: EmailVerification::new(
            users.clone(),
            cache.clone(),
            mailer.clone(),
            codes.clone(),
            &policies,
        ),
        account: Account::new(
            users.clone(),
            hasher.clone(),
            session_store.clone(),
            mailer.clone(),
        )
        .with_throttle(throttle),
        password_reset: PasswordReset::new(
            ResetPorts {
                users,
                sessions: session_store,
                hasher,
                cache: cache.clone(),
                mailer,
                codes,
            },
            &policies,
        ),
        limits: settings.limits,
        trusted_proxies: settings.trusted_proxies.clone(),
        cors_origins: settings.cors_origins.clone(),
        readiness: Readiness {
            database: Arc::new(DatabaseProbe::new(db.clone())),
            cache: Arc::new(CacheProbe(cache)),
        },
    })
}

/// The domain's defaults, with what the settings change.
fn policies(settings: &Settings) -> Policies {
    Policies {
        sign_up: SignUpPolicy {
            per_client: settings.signup_limit,
            ..SignUpPolicy::default()
        },
        session: SessionPolicy {
            lifetime: settings.session_lifetime,
        },
        ..Policies::default()
    }
}

fn cache(redis: Option<&RedisSettings>) -> anyhow::Result<Arc<dyn Cache>> {
    Ok(match redis {
        Some(redis) => {
            tracing::info!("cache: Redis");
            Arc::new(RedisCache::connect(redis)?)
        }
        None => {
            tracing::info!("cache: in process (set REDIS_URL to share it between instances)");
            Arc::new(MemoryCache::default())
        }
    })
}

fn mail_transports(mail: &MailSettings) -> anyhow::Result<Vec<Arc<dyn Mailer>>> {
    let mut transports: Vec<Arc<dyn Mailer>> = Vec::new();
    if let Some(dir) = &mail.dir {
        tracing::info!(dir = %dir.display(), "mail: .eml files");
        transports.push(Arc::new(DirMailer::new(dir, &mail.from)?));
    }
    if let Some(url) = &mail.smtp_url {
        tracing::info!("mail: SMTP");
        transports.push(Arc::new(SmtpMailer::new(url, &mail.from)?));
    }
    if transports.is_empty() {
        tracing::info!("mail: log only (set TODOS_MAIL_DIR or SMTP_URL to deliver)");
        transports.push(Arc::new(LogMailer));
    }
    Ok(transports)
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
    let users = Arc::new(SeaUserRepository::new(db.clone()));
    let user = SignUp::new(users, Arc::new(Argon2Hasher::default()))
        .sign_up(username, password, None)
        .await?;
    db.close().await?;
    Ok(user)
}
