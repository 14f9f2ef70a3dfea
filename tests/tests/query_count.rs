//! Listing a user's todos costs the same number of SQL statements whatever
//! the count (no N+1), a page is one statement, and SQLite serves a page
//! from an index in id order. Counted on a real SQLite database.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use sea_orm::{ConnectionTrait, DatabaseBackend, QueryTrait, Statement};
use todos_domain::{
    NewTodo, PageLimit, PasswordHash, SortOrder, TodoContents, TodoId, TodoQuery, TodoRepository,
    UserId, UserRepository, Username,
};
use todos_persistence::{DatabaseSettings, SeaTodoRepository, SeaUserRepository, page_select};

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

/// SQLite's plan for every kind of page: a search of one of the two todo
/// indexes by user (and state), in id order, with no sort of its own and
/// no scan of other rows.
#[tokio::test]
async fn sqlite_serves_every_page_from_an_index_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("plan.db").display());
    let db = todos_persistence::connect_migrated(&DatabaseSettings::new(url))
        .await
        .unwrap();
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
                let statement = page_select(UserId(7), &query).build(DatabaseBackend::Sqlite);
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
                assert!(indexes.iter().any(searched), "{query:?}: {plan}");
                assert!(!plan.contains("TEMP B-TREE"), "{query:?}: {plan}");
                assert!(!plan.contains("SCAN"), "{query:?}: {plan}");
            }
        }
    }
}
