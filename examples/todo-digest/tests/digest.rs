//! The digest against a real SQLite database written through the same
//! repositories the `todos` service uses, mailing `.eml` files.

use std::sync::Arc;

use todo_digest::{Digest, Report};
use todos_domain::{
    EmailAddress, NewTodo, PasswordHash, TodoContents, TodoRepository, Todos, User, UserRepository,
    Username,
};
use todos_mail::DirMailer;
use todos_persistence::{DatabaseSettings, SeaTodoRepository, SeaUserRepository};

struct Store {
    users: Arc<SeaUserRepository>,
    todos: Arc<SeaTodoRepository>,
}

impl Store {
    async fn user(&self, name: &str, email: Option<&str>) -> User {
        let user = self
            .users
            .create(
                &Username::parse(name).unwrap(),
                &PasswordHash::new("$argon2id$unused".into()),
            )
            .await
            .unwrap();
        match email {
            Some(email) => self
                .users
                .set_verified_email(user.id, &EmailAddress::parse(email).unwrap())
                .await
                .unwrap(),
            None => user,
        }
    }

    async fn todo(&self, owner: &User, contents: &str, is_done: bool) {
        self.todos
            .create(
                owner.id,
                NewTodo {
                    contents: TodoContents::parse(contents).unwrap(),
                    is_done,
                },
                std::time::SystemTime::now(),
            )
            .await
            .unwrap();
    }
}

/// The `.eml` files in `dir`, read.
fn mails(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect()
}

/// A migrated SQLite database in `dir`, and its URL.
async fn open_store(dir: &std::path::Path) -> (Store, String) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("todos.db").display());
    let db = todos_persistence::connect_migrated(&DatabaseSettings::new(&url))
        .await
        .unwrap();
    let store = Store {
        users: Arc::new(SeaUserRepository::new(db.clone())),
        todos: Arc::new(SeaTodoRepository::new(db)),
    };
    (store, url)
}

#[tokio::test]
async fn mails_each_verified_user_their_open_todos_only() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_store(dir.path()).await;
    let alice = store.user("alice", Some("alice@example.com")).await;
    store.todo(&alice, "buy milk", false).await;
    store.todo(&alice, "file taxes", true).await;
    store.todo(&alice, "write README", false).await;
    let bob = store.user("bob", Some("bob@example.com")).await;
    store.todo(&bob, "all done here", true).await;
    let carol = store.user("carol", None).await;
    store.todo(&carol, "unverified, so no mail", false).await;
    // More verified users than one page holds.
    for i in 0..120 {
        let user = store
            .user(&format!("user{i}"), Some(&format!("user{i}@example.com")))
            .await;
        store.todo(&user, &format!("task of user{i}"), false).await;
    }

    let outbox = dir.path().join("outbox");
    let digest = Digest::new(
        store.users.clone(),
        Todos::new(store.todos.clone()),
        Arc::new(DirMailer::new(&outbox, "digest <digest@example.com>").unwrap()),
    );
    let report = digest.run_once().await.unwrap();

    assert_eq!(
        report,
        Report {
            mailed: 121,
            nothing_open: 1
        }
    );
    let mails = mails(&outbox);
    assert_eq!(mails.len(), 121);
    let to_alice: Vec<&String> = mails
        .iter()
        .filter(|mail| mail.contains("To: alice@example.com"))
        .collect();
    assert_eq!(to_alice.len(), 1, "one digest for alice");
    let to_alice = to_alice[0];
    assert!(to_alice.contains("- buy milk\r\n"), "{to_alice}");
    assert!(to_alice.contains("- write README\r\n"), "{to_alice}");
    assert!(!to_alice.contains("file taxes"), "done todos are left out");
    assert!(!mails.iter().any(|mail| mail.contains("bob@example.com")));
    assert!(!mails.iter().any(|mail| mail.contains("unverified")));
    for i in [0, 99, 100, 119] {
        let address = format!("To: user{i}@example.com\r\n");
        let mail = mails
            .iter()
            .find(|mail| mail.contains(&address))
            .unwrap_or_else(|| panic!("no digest for user{i}"));
        assert!(mail.contains(&format!("- task of user{i}\r\n")));
    }
}

#[tokio::test]
async fn the_binary_runs_one_pass_with_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = open_store(dir.path()).await;
    let alice = store.user("alice", Some("alice@example.com")).await;
    store.todo(&alice, "buy milk", false).await;
    let outbox = dir.path().join("outbox");

    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-digest"))
        .arg("--once")
        .env("DATABASE_URL", &url)
        .env("TODOS_MAIL_DIR", &outbox)
        .env_remove("SMTP_URL")
        .status()
        .await
        .unwrap();

    assert!(status.success(), "{status}");
    let mails = mails(&outbox);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: alice@example.com\r\n"));
    assert!(mails[0].contains("- buy milk\r\n"));
}
