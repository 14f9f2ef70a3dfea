//! Listing a user's todos costs the same number of SQL statements whatever
//! the count (no N+1), a page is one statement, and SQLite serves a page
//! from an index in id order. Counted on a real SQLite database.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryTrait, Statement};
use serde_json::json;
use todos_domain::{
    LoginName, NewTodo, PageLimit, PasswordHash, SessionClaim, SessionId, SortOrder, TodoContents,
    TodoId, TodoQuery, TodoRepository, UserId, UserRepository, Username,
};
use todos_persistence::{
    DatabaseSettings, SeaTodoRepository, SeaUserRepository, claimed_page_select, page_select,
};
use todos_tests::spawn_app;

#[tokio::test]
async fn listing_1_or_100_todos_sends_the_same_number_of_statements() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("count.db").display()
    );
    let mut db = todos_persistence::connect_migrated(&DatabaseSettings::new(url))
        .await
        .unwrap();
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&statements);
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let users = SeaUserRepository::new(db.clone());
    let todos = SeaTodoRepository::new(db.clone());
    let hash = PasswordHash::new("$argon2id$not-used".into());

    let mut counts = Vec::new();
    for (name, n) in [("one", 1), ("hundred", 100)] {
        let user = users
            .create(&Username::parse(name).unwrap(), &hash)
            .await
            .unwrap();
        for i in 0..n {
            let todo = NewTodo {
                contents: TodoContents::parse(format!("todo {i}")).unwrap(),
                is_done: i % 2 == 0,
            };
            todos
                .create(user.id, todo, std::time::SystemTime::now())
                .await
                .unwrap();
        }
        let before = statements.load(Ordering::SeqCst);
        let listed = todos.list(user.id, SortOrder::Asc).await.unwrap();
        counts.push(statements.load(Ordering::SeqCst) - before);
        assert_eq!(listed.len(), n);
        for query in [
            TodoQuery::default(),
            TodoQuery {
                order: SortOrder::Desc,
                is_done: Some(true),
                limit: PageLimit::parse("10").unwrap(),
                after: TodoId::new(i64::MAX),
            },
        ] {
            let before = statements.load(Ordering::SeqCst);
            let page = todos.page(user.id, &query).await.unwrap();
            assert_eq!(
                statements.load(Ordering::SeqCst) - before,
                1,
                "a page of {} todos is one statement",
                page.todos.len()
            );
        }
    }

    assert!(
        counts[0] >= 1,
        "the callback must see the list query: {counts:?}"
    );
    assert_eq!(
        counts[0], counts[1],
        "statements for 1 vs 100 todos: {counts:?}"
    );
}

/// SQLite's plan for every kind of page, on its own and joined to the
/// bearer check's user and session as `GET /todos` reads it: a search of
/// one of the two todo indexes by user (and state), in id order, with no
/// sort of its own and no scan of other rows.
#[tokio::test]
async fn sqlite_serves_every_page_from_an_index_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("plan.db").display());
    let db = todos_persistence::connect_migrated(&DatabaseSettings::new(url))
        .await
        .unwrap();
    let claim = SessionClaim {
        username: LoginName::parse("alice").unwrap(),
        session: SessionId::generate(),
    };
    for order in [SortOrder::Asc, SortOrder::Desc] {
        // Unfiltered, SQLite may take the older `(user_id)` index: its
        // entries end in the rowid, which is the id, so it is in id order too.
        for (is_done, indexes) in [
            (None, &["ix_todo_user_id_id", "ix_todo_user_id"][..]),
            (Some(true), &["ix_todo_user_id_is_done_id"][..]),
        ] {
            for after in [None, TodoId::new(42)] {
                let query = TodoQuery {
                    order,
                    is_done,
                    after,
                    limit: PageLimit::parse("50").unwrap(),
                };
                for (what, statement) in [
                    (
                        "page",
                        page_select(UserId(7), &query).build(DatabaseBackend::Sqlite),
                    ),
                    (
                        "page with user and session",
                        claimed_page_select(&claim, &query).build(DatabaseBackend::Sqlite),
                    ),
                ] {
                    let explain = Statement {
                        sql: format!("EXPLAIN QUERY PLAN {}", statement.sql),
                        ..statement
                    };
                    let plan: Vec<String> = db
                        .query_all_raw(explain)
                        .await
                        .unwrap()
                        .iter()
                        .map(|row| row.try_get::<String>("", "detail").unwrap())
                        .collect();
                    let plan = plan.join("; ");
                    let searched = |index: &&str| {
                        plan.contains(&format!("SEARCH todo USING INDEX {index} (user_id=?"))
                            || plan.contains(&format!(
                                "SEARCH todo USING COVERING INDEX {index} (user_id=?"
                            ))
                    };
                    assert!(indexes.iter().any(searched), "{what} {query:?}: {plan}");
                    assert!(!plan.contains("TEMP B-TREE"), "{what} {query:?}: {plan}");
                    assert!(!plan.contains("SCAN"), "{what} {query:?}: {plan}");
                }
            }
        }
    }
}

/// A request, what it must cost, and the status it must get.
type Case<'a> = (
    &'a str,
    u64,
    Method,
    String,
    Option<serde_json::Value>,
    Vec<(&'a str, String)>,
    u16,
);

/// What each todo route costs in SQL statements, through the real router:
/// the bearer check shares its statement with the read (GET), and a change
/// is the bearer check plus one statement that checks the `If-Match`
/// versions and writes (RETURNING gives back the row). MySQL and MariaDB
/// have no `UPDATE … RETURNING`: one more read there. Extra reads are only
/// spent on answers that went wrong (412 against 404).
#[tokio::test]
async fn every_todo_route_costs_its_statements() {
    let app = spawn_app().await;
    let token = app.token_for("counted").await;
    let returning = !app.database_url.starts_with("mysql:");
    let read_back = u64::from(!returning);
    let id = app.new_todo(&token, "counted").await;
    let other = app.new_todo(&token, "another").await;
    let path = format!("/todos/{id}");
    let etag =
        |response: &reqwest::Response| response.headers()["etag"].to_str().unwrap().to_owned();
    let current = etag(&app.get_todo(&token, &id.to_string()).await);

    let cases: Vec<Case> = vec![
        (
            "GET /todos",
            1,
            Method::GET,
            "/todos".into(),
            None,
            vec![],
            200,
        ),
        (
            "GET /todos filtered, after",
            1,
            Method::GET,
            format!("/todos?is_done=false&after={id}&limit=5&order=desc"),
            None,
            vec![],
            200,
        ),
        (
            "GET /todos/{id}",
            1,
            Method::GET,
            path.clone(),
            None,
            vec![],
            200,
        ),
        (
            "GET /todos/{id} missing",
            1,
            Method::GET,
            "/todos/999999".into(),
            None,
            vec![],
            404,
        ),
        (
            "GET /todos/{id} If-None-Match",
            1,
            Method::GET,
            path.clone(),
            None,
            vec![("if-none-match", current.clone())],
            304,
        ),
        (
            "POST /todos",
            2 + read_back,
            Method::POST,
            "/todos".into(),
            Some(json!({"contents": "new"})),
            vec![],
            201,
        ),
        (
            "PATCH /todos/{id}",
            2 + read_back,
            Method::PATCH,
            path.clone(),
            Some(json!({"is_done": true})),
            vec![],
            200,
        ),
        (
            "PATCH /todos/{id} missing",
            2,
            Method::PATCH,
            "/todos/999999".into(),
            Some(json!({"is_done": true})),
            vec![],
            404,
        ),
        (
            "PATCH If-Match: *",
            2 + read_back,
            Method::PATCH,
            path.clone(),
            Some(json!({"contents": "starred"})),
            vec![("if-match", "*".into())],
            200,
        ),
        // `current` is stale by now: the write matches nothing, one read says 412.
        (
            "PATCH If-Match stale",
            3,
            Method::PATCH,
            path.clone(),
            Some(json!({"is_done": false})),
            vec![("if-match", current.clone())],
            412,
        ),
        (
            "DELETE If-Match stale",
            3,
            Method::DELETE,
            path.clone(),
            None,
            vec![("if-match", current.clone())],
            412,
        ),
        (
            "DELETE /todos/{id}",
            2,
            Method::DELETE,
            format!("/todos/{other}"),
            None,
            vec![],
            204,
        ),
        (
            "DELETE /todos/{id} missing",
            2,
            Method::DELETE,
            format!("/todos/{other}"),
            None,
            vec![],
            404,
        ),
    ];
    for (name, expected, method, path, body, headers, status) in cases {
        let mut request = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(&token);
        for (header, value) in headers {
            request = request.header(header, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let before = app.statements.get();
        let response = request.send().await.unwrap();
        let sent = app.statements.get() - before;
        assert_eq!(response.status(), status, "{name}");
        assert_eq!(sent, expected, "{name}: {sent} statements");
    }

    // A conditional change with the current tag: the bearer check and the
    // write, nothing read first; then a delete with the tag it answered.
    let current = etag(&app.get_todo(&token, &id.to_string()).await);
    let before = app.statements.get();
    let patched = app
        .client
        .patch(app.url(&format!("/todos/{id}")))
        .bearer_auth(&token)
        .header("if-match", &current)
        .json(&json!({"is_done": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(
        app.statements.get() - before,
        2 + read_back,
        "PATCH If-Match current"
    );
    let before = app.statements.get();
    let deleted = app
        .client
        .delete(app.url(&format!("/todos/{id}")))
        .bearer_auth(&token)
        .header("if-match", etag(&patched))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.statements.get() - before, 2, "DELETE If-Match current");
}
