//! `spawn_app()` starts the real application (the same `Application::build`
//! that `main` uses) on a fresh SQLite file and a free port, and returns a
//! [`TestApp`] with one method per endpoint, so tests read like user stories.
//! Set `TEST_LOG=1` to see the application's logs.

pub mod browser;
pub mod mariadb;
pub mod prometheus;
pub mod raw_http;
pub mod redis;
pub mod services;
pub mod smtp_sink;

use std::{
    path::PathBuf,
    sync::{
        Once,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use reqwest::{Client, Method, Response};
use serde_json::{Value, json};
use tempfile::TempDir;
use todos_app::{
    Application, Settings,
    config::{JwtSecret, MailSettings, RedisSettings},
};
use todos_persistence::{DatabaseSettings, StatementCounter};

/// Tests sign their own tokens (forged, expired, …) with this key.
pub const JWT_SECRET: &[u8] = b"test-secret-that-is-at-least-32-bytes-long";

pub struct TestApp {
    pub address: String,
    /// `http://ADDR/metrics` when the settings asked for metrics.
    pub metrics_url: Option<String>,
    pub client: Client,
    pub database_url: String,
    /// Where the app writes each email as an `.eml` file.
    pub mail_dir: PathBuf,
    /// The Redis this app uses (with its key prefix), if any.
    pub redis: Option<RedisSettings>,
    /// Counts the SQL statements the app sends.
    pub statements: StatementCounter,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: TempDir,
}

/// The app on a fresh SQLite file, writing mail into a temp directory, on
/// the real Redis named by `REDIS_URL` when set (else the in-process cache).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with a chance to change the settings first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&dir, fresh_database(&dir).await);
    configure(&mut settings);
    let database_url = settings.database.url.clone();
    let mail_dir = dir.path().join("mail");
    let redis = settings.redis.clone();
    let statements = settings.database.statements.clone();
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://{}", app.local_addr().unwrap());
    let metrics_url = app
        .metrics_addr()
        .unwrap()
        .map(|addr| format!("http://{addr}{}", todos_app::METRICS_PATH));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        metrics_url,
        client: Client::builder().no_proxy().build().unwrap(),
        database_url,
        mail_dir,
        redis,
        statements,
        stop,
        server,
        _dir: dir,
    }
}

/// Like [`spawn_app`], on the database at `database_url`.
pub async fn spawn_app_on(database_url: &str) -> TestApp {
    let database_url = database_url.to_owned();
    spawn_app_with(move |settings| {
        settings.database = DatabaseSettings::new(database_url);
    })
    .await
}

/// What [`spawn_app`] runs with: `database_url`, mail into `dir`/mail,
/// the real Redis named by `REDIS_URL` when set.
pub fn test_settings(dir: &TempDir, database_url: String) -> Settings {
    Settings {
        addr: "127.0.0.1:0".parse().unwrap(),
        database: DatabaseSettings::new(database_url),
        jwt_secret: Some(JwtSecret::new(JWT_SECRET).unwrap()),
        jwt_ttl: Duration::from_secs(3600),
        session_lifetime: Duration::from_secs(30 * 86_400),
        redis: std::env::var("REDIS_URL").ok().map(|url| RedisSettings {
            // Each app gets its own keys on the shared server.
            key_prefix: format!("test:{}:", unique_suffix()),
            ..RedisSettings::new(url)
        }),
        limits: Default::default(),
        connections: Default::default(),
        metrics_addr: None,
        trusted_proxies: Default::default(),
        cors_origins: Default::default(),
        // Tests play many users from one loopback address; the limit has its own tests.
        signup_limit: 0,
        mail: MailSettings {
            from: "todos tests <tests@todos.localhost>".into(),
            dir: Some(dir.path().join("mail")),
            smtp_url: None,
        },
    }
}

/// A new, empty database: a SQLite file in `dir`, or, when `DATABASE_URL`
/// names a MySQL/MariaDB or PostgreSQL server, a database created on it
/// with a unique name (the URL's user needs the right to create databases).
pub async fn fresh_database(dir: &TempDir) -> String {
    let server = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.starts_with("sqlite:") => url,
        _ => {
            return format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("todos.db").display()
            );
        }
    };
    let name = format!("todos_test_{}", unique_suffix().replace('-', "_"));
    let admin = sea_orm::Database::connect(&server)
        .await
        .expect("DATABASE_URL server answers");
    sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    admin.close().await.unwrap();
    let mut url = url::Url::parse(&server).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A fresh database (see [`fresh_database`]) at the schema an older
/// release left: the migrations before `migration` (a name such as
/// `m20261201_000005_add_user_email_key`) applied, none after.
pub async fn database_before(dir: &TempDir, migration: &str) -> String {
    use todos_migration::{Migrator, MigratorTrait};
    let url = fresh_database(dir).await;
    let steps = Migrator::migrations()
        .iter()
        .position(|m| m.name() == migration)
        .unwrap_or_else(|| panic!("no migration {migration}"));
    let db = todos_persistence::connect(&DatabaseSettings::new(url.clone()))
        .await
        .unwrap();
    Migrator::up(&db, Some(steps as u32)).await.unwrap();
    db.close().await.unwrap();
    url
}

/// Password of every [`insert_user_row`] account (a legacy bcrypt hash).
pub const LEGACY_PASSWORD: &str = "password";

/// Writes a user row straight into the database, as an older release
/// would have (only the columns every schema since the email migration
/// has); with `email`, it is verified. Returns the row's id.
pub async fn insert_user_row(url: &str, username: &str, email: Option<&str>) -> i64 {
    use sea_orm::{
        ConnectionTrait,
        sea_query::{Alias, Expr, ExprTrait, Query},
    };
    let db = sea_orm::Database::connect(url).await.unwrap();
    let insert = Query::insert()
        .into_table(Alias::new("user"))
        .columns(["username", "password", "email", "email_verified"].map(Alias::new))
        .values_panic([
            username.into(),
            "$2b$12$LwwqWrPU42p5j7ex/UC9eeR.pKop3fEkcEqmRIjJC4ivw/XSp244C".into(),
            email.map(str::to_owned).into(),
            email.is_some().into(),
        ])
        .to_owned();
    db.execute(&insert).await.unwrap();
    let id = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new("user"))
        .and_where(Expr::col(Alias::new("username")).eq(username))
        .to_owned();
    let row = db.query_one(&id).await.unwrap().expect("the inserted row");
    let id = row.try_get_by_index::<i64>(0).unwrap();
    db.close().await.unwrap();
    id
}

fn unique_suffix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn init_test_logging() {
    static ONCE: Once = Once::new();
    if std::env::var_os("TEST_LOG").is_some() {
        ONCE.call_once(|| {
            tracing_subscriber::fmt()
                .with_env_filter("debug")
                .with_test_writer()
                .init();
        });
    }
}

impl TestApp {
    /// The served OpenAPI document (`GET /openapi.json`, asserted 200).
    pub async fn openapi_document(&self) -> Value {
        let (status, document) = status_and_json(self.get("/openapi.json").await).await;
        assert_eq!(status, 200);
        document
    }

    /// Another instance on this one's database and Redis (if any), as
    /// behind a load balancer.
    pub async fn second_instance(&self) -> TestApp {
        let (database, redis) = (self.database_url.clone(), self.redis.clone());
        spawn_app_with(move |settings| {
            settings.database = DatabaseSettings::new(database);
            settings.redis = redis;
        })
        .await
    }

    /// `GET /health/ready`: its status and JSON body.
    pub async fn readiness(&self) -> (u16, Value) {
        status_and_json(self.get("/health/ready").await).await
    }

    /// Graceful shutdown, as on SIGTERM; returns when the app has stopped.
    pub async fn shut_down(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await?
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A plain `GET`, no token.
    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `method path` with `token` as the bearer, and `body` as JSON if any.
    pub async fn authed(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    pub async fn sign_up(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/users/sign-up",
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    pub async fn log_in(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/users/log-in",
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Signs up a user and returns a fresh token for it.
    pub async fn token_for(&self, username: &str) -> String {
        let password = "password123";
        let (status, body) = status_and_json(self.sign_up(username, password).await).await;
        assert_eq!(status, 201, "sign-up of {username}: {body}");
        let body: Value = self.log_in(username, password).await.json().await.unwrap();
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Log-in's 200 body (access and refresh token), asserted.
    pub async fn log_in_ok(&self, username: &str, password: &str) -> Value {
        let (status, body) = status_and_json(self.log_in(username, password).await).await;
        assert_eq!(status, 200, "log-in of {username}: {body}");
        body
    }

    /// `POST /users/token/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/users/token/refresh",
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// `POST /users/log-out`.
    pub async fn log_out(&self, token: &str) -> Response {
        self.authed(Method::POST, "/users/log-out", token, None)
            .await
    }

    /// `GET /users/me/sessions`.
    pub async fn sessions(&self, token: &str) -> Response {
        self.authed(Method::GET, "/users/me/sessions", token, None)
            .await
    }

    /// `DELETE /users/me/sessions/{id}`, or every session when `id` is `None`.
    pub async fn end_sessions(&self, token: &str, id: Option<&str>) -> Response {
        let path = match id {
            Some(id) => format!("/users/me/sessions/{id}"),
            None => "/users/me/sessions".to_owned(),
        };
        self.authed(Method::DELETE, &path, token, None).await
    }

    /// `PUT /users/me/password`.
    pub async fn change_password(&self, token: &str, current: &str, new: &str) -> Response {
        let body = json!({ "current_password": current, "new_password": new });
        self.authed(Method::PUT, "/users/me/password", token, Some(&body))
            .await
    }

    /// `DELETE /users/me` with the password.
    pub async fn delete_account(&self, token: &str, password: &str) -> Response {
        let body = json!({ "password": password });
        self.authed(Method::DELETE, "/users/me", token, Some(&body))
            .await
    }

    /// `POST /users/password/forgot`.
    pub async fn forgot_password(&self, email: &str) -> Response {
        self.post_json("/users/password/forgot", &json!({ "email": email }))
            .await
    }

    /// `POST /users/password/reset`.
    pub async fn reset_password(&self, email: &str, code: &str, new_password: &str) -> Response {
        let body = json!({ "email": email, "code": code, "new_password": new_password });
        self.post_json("/users/password/reset", &body).await
    }

    /// Asks for a reset code for `email` and reads it from the email that
    /// arrives at `mailbox` (the address as the account stored it).
    pub async fn reset_code_for(&self, email: &str, mailbox: &str) -> String {
        let before = self.emails_containing(mailbox, RESET_MARKER, 0).await;
        assert_eq!(self.forgot_password(email).await.status(), 202);
        let after = self
            .emails_containing(mailbox, RESET_MARKER, before.len() + 1)
            .await;
        let new: Vec<&String> = after.iter().filter(|mail| !before.contains(mail)).collect();
        assert_eq!(new.len(), 1, "one new reset email to {mailbox}: {new:#?}");
        code_after(new[0], RESET_MARKER)
    }

    pub async fn me(&self, token: &str) -> Response {
        self.authed(Method::GET, "/users/me", token, None).await
    }

    pub async fn create_todo(&self, token: &str, body: &Value) -> Response {
        self.authed(Method::POST, "/todos", token, Some(body)).await
    }

    /// Creates a todo and returns its id.
    pub async fn new_todo(&self, token: &str, contents: &str) -> i64 {
        let response = self
            .create_todo(token, &json!({ "contents": contents }))
            .await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn list_todos(&self, token: &str, query: &str) -> Response {
        let path = format!("/todos{query}");
        self.authed(Method::GET, &path, token, None).await
    }

    pub async fn get_todo(&self, token: &str, id: &str) -> Response {
        let path = format!("/todos/{id}");
        self.authed(Method::GET, &path, token, None).await
    }

    pub async fn update_todo(&self, token: &str, id: &str, body: &Value) -> Response {
        let path = format!("/todos/{id}");
        self.authed(Method::PATCH, &path, token, Some(body)).await
    }

    pub async fn delete_todo(&self, token: &str, id: &str) -> Response {
        let path = format!("/todos/{id}");
        self.authed(Method::DELETE, &path, token, None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Any body with any (or no) content type, for the malformed cases.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.unwrap()
    }

    pub async fn request_otp(&self, token: &str, email: &str) -> Response {
        let body = json!({ "email": email });
        self.authed(Method::POST, "/users/email/otp", token, Some(&body))
            .await
    }

    pub async fn verify_otp(&self, token: &str, email: &str, otp: &str) -> Response {
        let body = json!({ "email": email, "otp": otp });
        self.authed(Method::POST, "/users/email/otp/verify", token, Some(&body))
            .await
    }

    /// Every `.eml` file written so far to `to`, oldest first, waiting up
    /// to 10 s for at least `count` of them (mail is sent in the background).
    pub async fn emails_to(&self, to: &str, count: usize) -> Vec<String> {
        self.emails_containing(to, "", count).await
    }

    /// Like [`Self::emails_to`], only the emails whose text holds `needle`.
    pub async fn emails_containing(&self, to: &str, needle: &str, count: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut found: Vec<(SystemTime, String)> = std::fs::read_dir(&self.mail_dir)
                .map(|entries| {
                    entries
                        .filter_map(|entry| {
                            let path = entry.ok()?.path();
                            (path.extension()? == "eml").then_some(path)
                        })
                        .filter_map(|path| {
                            let text = std::fs::read_to_string(&path).ok()?;
                            let modified = path.metadata().ok()?.modified().ok()?;
                            (text.contains(&format!("To: {to}")) && text.contains(needle))
                                .then_some((modified, text))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if found.len() >= count || tokio::time::Instant::now() > deadline {
                found.sort_by_key(|(modified, _)| *modified);
                return found.into_iter().map(|(_, text)| text).collect();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asks for a code for `email` and reads it from the email that arrives.
    pub async fn otp_for(&self, token: &str, email: &str) -> String {
        // Only code emails count (a confirmation may still be on its way),
        // and the new one is told apart by content: mtimes can tie.
        let before = self.emails_containing(email, OTP_MARKER, 0).await;
        assert_eq!(self.request_otp(token, email).await.status(), 202);
        let after = self
            .emails_containing(email, OTP_MARKER, before.len() + 1)
            .await;
        let new: Vec<&String> = after.iter().filter(|mail| !before.contains(mail)).collect();
        assert_eq!(new.len(), 1, "one new code email to {email}: {new:#?}");
        otp_in(new[0])
    }

    /// Asks for a code for `email`, reads it from the mail and sends it
    /// back: the verify response.
    pub async fn verify_email(&self, token: &str, email: &str) -> Response {
        let code = self.otp_for(token, email).await;
        self.verify_otp(token, email, &code).await
    }

    /// Marks `key` of `username`'s as taken by a request for `contents`
    /// that started `age` ago and has not finished, straight in the
    /// database: a request still running (or one that died).
    pub async fn hold_idempotency_key(
        &self,
        username: &str,
        key: &str,
        contents: &str,
        age: Duration,
    ) {
        use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
        use todos_persistence::entity::{idempotency_key, user};
        let db = todos_persistence::connect(&DatabaseSettings::new(self.database_url.clone()))
            .await
            .unwrap();
        let owner = user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(&db)
            .await
            .unwrap()
            .expect("the user exists");
        let at = todos_domain::micros(SystemTime::now() - age);
        let todo = todos_domain::NewTodo {
            contents: todos_domain::TodoContents::parse(contents).unwrap(),
            is_done: false,
        };
        idempotency_key::ActiveModel {
            user_id: Set(owner.id),
            key_digest: Set(todos_domain::IdempotencyKey::parse(key).unwrap().digest()),
            fingerprint: Set(todos_domain::fingerprint(&todo)),
            created_at: Set(at),
            claimed_at: Set(at),
            claim_token: Set("held-by-the-test".into()),
            todo_id: Set(None),
            todo_contents: Set(None),
            todo_is_done: Set(None),
            todo_created_at: Set(None),
            todo_updated_at: Set(None),
        }
        .insert(&db)
        .await
        .unwrap();
        db.close().await.unwrap();
    }

    /// Removes a user straight from the database, as an operator would.
    pub async fn delete_user_row(&self, username: &str) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        use todos_persistence::entity::user;
        let db = todos_persistence::connect(&DatabaseSettings::new(self.database_url.clone()))
            .await
            .unwrap();
        let deleted = user::Entity::delete_many()
            .filter(user::Column::Username.eq(username))
            .exec(&db)
            .await
            .unwrap();
        assert_eq!(deleted.rows_affected, 1);
        db.close().await.unwrap();
    }
}

/// The response's status and JSON body, for one-line assertions.
/// The claims of an access token the app signed (with [`JWT_SECRET`]).
pub fn claims_of(token: &str) -> Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(JWT_SECRET),
        &validation,
    )
    .expect("a token signed by the app")
    .claims
}

pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, body)
}

/// The `Retry-After` header of a 429, in seconds.
pub fn retry_after_secs(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub const OTP_MARKER: &str = "verification code is ";

/// What precedes the code in a password reset email.
pub const RESET_MARKER: &str = "password reset code is ";

/// The six-digit code in an OTP email.
pub fn otp_in(email: &str) -> String {
    code_after(email, OTP_MARKER)
}

/// The six characters after `marker` in `email`.
pub fn code_after(email: &str, marker: &str) -> String {
    let start = email.find(marker).expect("a code email") + marker.len();
    email[start..start + 6].to_owned()
}
