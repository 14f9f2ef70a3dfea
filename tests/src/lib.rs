//! `spawn_app()` starts the real application (the same `Application::build`
//! that `main` uses) on a fresh SQLite file and a free port, and returns a
//! [`TestApp`] with one method per endpoint, so tests read like user stories.
//! Set `TEST_LOG=1` to see the application's logs.

use std::{sync::Once, time::Duration};

use reqwest::{Client, Response};
use serde_json::{Value, json};
use tempfile::TempDir;
use todos_app::{Application, Settings};
use todos_persistence::DatabaseSettings;

/// Tests sign their own tokens (forged, expired, …) with this key.
pub const JWT_SECRET: &[u8] = b"test-secret-that-is-at-least-32-bytes-long";

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub database_url: String,
    _dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    init_test_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("todos.db").display()
    );
    let settings = Settings {
        addr: "127.0.0.1:0".parse().unwrap(),
        database: DatabaseSettings::new(database_url.clone()),
        jwt_secret: Some(todos_auth_secret()),
        jwt_ttl: Duration::from_secs(3600),
    };
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        address,
        client: Client::builder().no_proxy().build().unwrap(),
        database_url,
        _dir: dir,
    }
}

fn todos_auth_secret() -> todos_app::config::JwtSecret {
    todos_app::config::JwtSecret::new(JWT_SECRET).unwrap()
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
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
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
        assert_eq!(self.sign_up(username, password).await.status(), 201);
        let body: Value = self.log_in(username, password).await.json().await.unwrap();
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn me(&self, token: &str) -> Response {
        self.client
            .get(self.url("/users/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn create_todo(&self, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url("/todos"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
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
        self.client
            .get(self.url(&format!("/todos{query}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_todo(&self, token: &str, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/todos/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn update_todo(&self, token: &str, id: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(&format!("/todos/{id}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete_todo(&self, token: &str, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/todos/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
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
pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, body)
}
