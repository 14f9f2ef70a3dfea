//! Listing a user's todos costs the same number of SQL statements whatever
//! the count (no N+1). Counted on a real SQLite database.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use todos_domain::{
    NewTodo, PasswordHash, SortOrder, TodoContents, TodoRepository, UserRepository, Username,
};
use todos_persistence::{DatabaseSettings, SeaTodoRepository, SeaUserRepository};

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
            todos.create(user.id, todo).await.unwrap();
        }
        let before = statements.load(Ordering::SeqCst);
        let listed = todos.list(user.id, SortOrder::Asc).await.unwrap();
        counts.push(statements.load(Ordering::SeqCst) - before);
        assert_eq!(listed.len(), n);
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
