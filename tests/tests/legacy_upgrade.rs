//! `todos migrate` on the old service's database: no row lost, `admin` logs
//! in with its bcrypt password, sees its 3 todos, and its hash is upgraded
//! to argon2id. On SQLite always; on MariaDB/MySQL when DATABASE_URL names
//! one (the legacy schema was MySQL's, so PostgreSQL has no legacy variant).

use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait};
use serde_json::{Value, json};
use todos_app::config::RedisSettings;
use todos_domain::UsernameSkeleton;
use todos_persistence::{DatabaseSettings, entity::user};
use todos_tests::{
    LEGACY_PASSWORD, database_before, fresh_database, insert_user_row, spawn_app_on,
    spawn_app_with, status_and_json,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/legacy");

async fn load_fixture(url: &str, with_user_id: bool) -> Option<()> {
    let db = sea_orm::Database::connect(url).await.unwrap();
    let dialect = match db.get_database_backend() {
        DatabaseBackend::Sqlite => "sqlite",
        DatabaseBackend::MySql => "mysql",
        _ => {
            eprintln!("no legacy schema for this backend: only SQLite and MySQL had one");
            return None;
        }
    };
    let mut files = vec![format!("{FIXTURES}/{dialect}.sql")];
    if with_user_id {
        files.push(format!("{FIXTURES}/{dialect}_add_user_id.sql"));
    }
    for file in files {
        let sql = std::fs::read_to_string(&file).unwrap();
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let statement: String = statement
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            if !statement.trim().is_empty() {
                db.execute_unprepared(&statement)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
        }
    }
    db.close().await.unwrap();
    Some(())
}

async fn upgrade_and_log_in(with_user_id: bool) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir).await;
    if load_fixture(&url, with_user_id).await.is_none() {
        return;
    }

    todos_app::migrate(&DatabaseSettings::new(url.clone()))
        .await
        .expect("todos migrate");

    let database = url.clone();
    let app = spawn_app_with(move |settings| {
        settings.database = DatabaseSettings::new(database);
        settings.redis = None::<RedisSettings>;
    })
    .await;
    let (status, body) = status_and_json(app.log_in("admin", "password").await).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();

    let (status, list) = status_and_json(app.list_todos(&token, "").await).await;
    assert_eq!(status, 200);
    let column = |field: &str| -> Vec<Value> {
        list["todos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[field].clone())
            .collect()
    };
    assert_eq!(
        column("contents"),
        vec![
            json!("FastAPI Section 0"),
            json!("FastAPI Section 1"),
            json!("FastAPI Section 2")
        ]
    );
    assert_eq!(
        column("is_done"),
        vec![json!(true), json!(true), json!(false)]
    );

    let db = sea_orm::Database::connect(&url).await.unwrap();
    let admin = user::Entity::find().one(&db).await.unwrap().unwrap();
    assert!(
        admin.password_hash.starts_with("$argon2id$"),
        "hash upgraded on log-in"
    );
    assert_eq!(
        admin.username_skeleton.as_deref(),
        Some(UsernameSkeleton::of("admin").as_str())
    );
    assert_eq!(admin.email_key, None, "no address, no key");
    db.close().await.unwrap();

    // The upgraded account keeps working, and the schema takes new rows.
    assert_eq!(app.log_in("admin", "password").await.status(), 200);
    assert_eq!(app.log_in("admin", "wrong-password").await.status(), 401);
    app.new_todo(&token, "written after the upgrade").await;
    assert_eq!(app.sign_up("newcomer", "password123").await.status(), 201);
    assert_eq!(
        app.sign_up("admin", "password123").await.status(),
        409,
        "the unique index exists"
    );
}

#[tokio::test]
async fn legacy_schema_without_todo_user_id() {
    upgrade_and_log_in(false).await;
}

#[tokio::test]
async fn legacy_schema_with_nullable_todo_user_id() {
    upgrade_and_log_in(true).await;
}

/// A database of the release before usernames got skeletons and emails
/// keys (on every backend): the upgrade fills both for existing accounts,
/// and sign-up and verification then rely on them.
#[tokio::test]
async fn previous_release_gets_skeletons_and_email_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_before(&dir, "m20261201_000003_user_no_pad_collation").await;
    // U+0430 CYRILLIC SMALL LETTER A: `аlice` looks like `alice`.
    let id = insert_user_row(&url, "\u{430}lice", Some("Alice@Example.COM")).await;

    todos_app::migrate(&DatabaseSettings::new(url.clone()))
        .await
        .expect("todos migrate");

    let db = sea_orm::Database::connect(&url).await.unwrap();
    let row = user::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.username_skeleton.as_deref(),
        Some(UsernameSkeleton::of("alice").as_str())
    );
    assert_eq!(row.email.as_deref(), Some("Alice@Example.COM"), "as given");
    assert_eq!(row.email_key.as_deref(), Some("alice@example.com"));
    db.close().await.unwrap();

    let app = spawn_app_on(&url).await;
    assert_eq!(
        app.log_in("\u{430}lice", LEGACY_PASSWORD).await.status(),
        200
    );
    assert_eq!(app.sign_up("alice", "password123").await.status(), 409);
    let bob = app.token_for("bob").await;
    assert_eq!(
        status_and_json(app.verify_email(&bob, "alice@example.com").await).await,
        (409, json!({ "detail": "Email Already In Use" }))
    );
}
