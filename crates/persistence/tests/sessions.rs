//! `SeaSessionRepository`, and the parts of `SeaUserRepository` that reach
//! sessions (deleting an account), on real databases: always on SQLite, and also on
//! the MySQL/MariaDB or PostgreSQL server that `DATABASE_URL` names (each
//! test creates its own database there; the URL's user needs the right to
//! create databases).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use tempfile::TempDir;
use todos_domain::{
    EmailAddress, LoginName, NewTodo, PasswordHash, RefreshDigest, RefreshToken, Rotation, Session,
    SessionId, SessionRepository, SortOrder, TodoContents, TodoRepository, User, UserRepository,
    Username,
};
use todos_persistence::{
    DatabaseSettings, SeaSessionRepository, SeaTodoRepository, SeaUserRepository,
    entity::{session, session_spent_token, todo},
};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// One database under test, with the repositories on its pool.
struct Store {
    backend: &'static str,
    db: DatabaseConnection,
    sessions: SeaSessionRepository,
    users: SeaUserRepository,
    _dir: TempDir,
}

impl Store {
    async fn open(backend: &'static str, url: String, dir: TempDir) -> Self {
        let db = todos_persistence::connect_migrated(&DatabaseSettings::new(url))
            .await
            .unwrap_or_else(|e| panic!("{backend}: migrate: {e}"));
        Self {
            backend,
            sessions: SeaSessionRepository::new(db.clone()),
            users: SeaUserRepository::new(db.clone()),
            db,
            _dir: dir,
        }
    }

    async fn user(&self, name: &str) -> User {
        self.users
            .create(
                &Username::parse(name).unwrap(),
                &PasswordHash::new("$argon2id$not-used".into()),
            )
            .await
            .unwrap()
    }

    /// A new session of `user` created at `created_at`, lasting `lifetime`,
    /// with the refresh token it returns.
    async fn session(
        &self,
        user: &User,
        created_at: SystemTime,
        lifetime: Duration,
    ) -> (Session, RefreshToken) {
        let session = Session {
            id: SessionId::generate(),
            user: user.id,
            created_at,
            expires_at: created_at + lifetime,
            ended_at: None,
        };
        let token = RefreshToken::generate();
        self.sessions
            .create(&session, &token.digest())
            .await
            .unwrap();
        (session, token)
    }

    async fn find(&self, user: &User, id: &SessionId) -> Option<Session> {
        let name = LoginName::parse(user.username.clone()).unwrap();
        let (found, session) = self
            .sessions
            .find_user_and_session(&name, id)
            .await
            .unwrap()
            .expect("the user exists");
        assert_eq!(&found, user, "{}", self.backend);
        session
    }

    async fn spent_tokens(&self) -> u64 {
        session_spent_token::Entity::find()
            .count(&self.db)
            .await
            .unwrap()
    }
}

/// SQLite, then the `DATABASE_URL` server if there is one.
async fn stores() -> Vec<Store> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let mut stores = vec![Store::open("sqlite", sqlite, dir).await];
    if let Some((backend, url)) = server_database().await {
        stores.push(Store::open(backend, url, tempfile::tempdir().unwrap()).await);
    }
    stores
}

/// A new database on the `DATABASE_URL` server, if it names one.
async fn server_database() -> Option<(&'static str, String)> {
    let server = std::env::var("DATABASE_URL").ok()?;
    let backend = if server.starts_with("mysql:") || server.starts_with("mariadb:") {
        "mysql"
    } else if server.starts_with("postgres") {
        "postgres"
    } else {
        return None;
    };
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!(
        "todos_sessions_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = sea_orm::Database::connect(&server).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.unwrap();
    // scheme://user:password@host:port/database?options: swap the database.
    let (base, options) = server.split_once('?').unwrap_or((&server, ""));
    let authority_end = base.find("://").unwrap() + 3;
    let host_end = base[authority_end..]
        .find('/')
        .map_or(base.len(), |i| authority_end + i);
    let mut url = format!("{}/{name}", &base[..host_end]);
    if !options.is_empty() {
        url = format!("{url}?{options}");
    }
    Some((backend, url))
}

/// A whole second, as stored: sub-second parts are dropped.
fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

const T0: u64 = 1_800_000_000;

#[tokio::test]
async fn find_user_and_session_reads_the_user_and_only_their_session() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let bob = store.user("bob").await;
        let (mine, _) = store.session(&alice, at(T0), DAY).await;
        let (theirs, _) = store.session(&bob, at(T0), DAY).await;

        let nobody = store
            .sessions
            .find_user_and_session(&LoginName::parse("carol").unwrap(), &mine.id)
            .await
            .unwrap();
        assert_eq!(nobody, None, "{backend}: no such user");
        assert_eq!(store.find(&alice, &mine.id).await, Some(mine.clone()));
        assert_eq!(store.find(&alice, &theirs.id).await, None, "{backend}");
        assert_eq!(store.find(&alice, &SessionId::generate()).await, None);

        assert!(
            store
                .sessions
                .end(alice.id, &mine.id, at(T0 + 60))
                .await
                .unwrap()
        );
        let ended = store.find(&alice, &mine.id).await;
        assert_eq!(
            ended.map(|s| s.ended_at),
            Some(Some(at(T0 + 60))),
            "{backend}: an ended session is still found, with its end"
        );
    }
}

#[tokio::test]
async fn times_are_stored_as_whole_seconds() {
    for store in stores().await {
        let alice = store.user("alice").await;
        let created = at(T0) + Duration::from_millis(999);
        let (session, _) = store.session(&alice, created, DAY).await;
        let found = store.find(&alice, &session.id).await.unwrap();
        assert_eq!(found.created_at, at(T0), "{}", store.backend);
        assert_eq!(found.expires_at, at(T0) + DAY, "{}", store.backend);
    }
}

#[tokio::test]
async fn list_live_is_newest_first_without_ended_expired_or_foreign_sessions() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let bob = store.user("bob").await;
        let now = at(T0 + 100);
        let (old, _) = store.session(&alice, at(T0), DAY).await;
        let (new_a, _) = store.session(&alice, at(T0 + 50), DAY).await;
        let (new_b, _) = store.session(&alice, at(T0 + 50), DAY).await;
        // Expires exactly now: no longer live, as with Session::is_live.
        let (expired, _) = store
            .session(&alice, at(T0), Duration::from_secs(100))
            .await;
        assert!(!expired.is_live(now));
        let (ended, _) = store.session(&alice, at(T0 + 60), DAY).await;
        store
            .sessions
            .end(alice.id, &ended.id, at(T0 + 70))
            .await
            .unwrap();
        store.session(&bob, at(T0 + 80), DAY).await;

        let listed = store.sessions.list_live(alice.id, now).await.unwrap();
        // Same creation second: the larger id first.
        let (first, second) = if new_a.id.as_str() > new_b.id.as_str() {
            (new_a, new_b)
        } else {
            (new_b, new_a)
        };
        assert_eq!(listed, vec![first, second, old], "{backend}");
        assert!(listed.iter().all(|s| s.is_live(now)));
    }
}

#[tokio::test]
async fn end_ends_only_a_live_session_of_the_user() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let bob = store.user("bob").await;
        let now = at(T0 + 100);
        let (mine, _) = store.session(&alice, at(T0), DAY).await;
        let (theirs, _) = store.session(&bob, at(T0), DAY).await;
        let (expired, _) = store.session(&alice, at(T0), Duration::from_secs(50)).await;

        let end = |id: SessionId, user: &User| {
            let user = user.id;
            let sessions = &store.sessions;
            async move { sessions.end(user, &id, now).await.unwrap() }
        };
        assert!(!end(theirs.id.clone(), &alice).await, "{backend}: foreign");
        assert!(!end(expired.id.clone(), &alice).await, "{backend}: expired");
        assert!(
            !end(SessionId::generate(), &alice).await,
            "{backend}: missing"
        );
        assert!(end(mine.id.clone(), &alice).await, "{backend}: live");
        assert!(!end(mine.id.clone(), &alice).await, "{backend}: ended");

        assert_eq!(store.find(&bob, &theirs.id).await, Some(theirs));
        assert_eq!(
            store.find(&alice, &expired.id).await.unwrap().ended_at,
            None,
            "{backend}: an expired session is left as it is"
        );
        assert_eq!(
            store.find(&alice, &mine.id).await.unwrap().ended_at,
            Some(now)
        );
    }
}

#[tokio::test]
async fn end_all_ends_every_live_session_of_the_user_and_no_other() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let bob = store.user("bob").await;
        let now = at(T0 + 100);
        let (one, _) = store.session(&alice, at(T0), DAY).await;
        let (two, _) = store.session(&alice, at(T0 + 10), DAY).await;
        let (earlier, _) = store.session(&alice, at(T0), DAY).await;
        store
            .sessions
            .end(alice.id, &earlier.id, at(T0 + 20))
            .await
            .unwrap();
        let (theirs, _) = store.session(&bob, at(T0), DAY).await;

        store.sessions.end_all(alice.id, now).await.unwrap();

        assert_eq!(store.sessions.list_live(alice.id, now).await.unwrap(), []);
        for id in [&one.id, &two.id] {
            let ended_at = store.find(&alice, id).await.unwrap().ended_at;
            assert_eq!(ended_at, Some(now), "{backend}");
        }
        let ended_at = store.find(&alice, &earlier.id).await.unwrap().ended_at;
        assert_eq!(ended_at, Some(at(T0 + 20)), "{backend}: keeps its end");
        assert_eq!(
            store.sessions.list_live(bob.id, now).await.unwrap(),
            vec![theirs],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn end_all_except_ends_every_other_live_session_of_the_user_only() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let bob = store.user("bob").await;
        let now = at(T0 + 100);
        let (kept, _) = store.session(&alice, at(T0), DAY).await;
        let (other, _) = store.session(&alice, at(T0 + 10), DAY).await;
        let (theirs, _) = store.session(&bob, at(T0), DAY).await;

        store
            .sessions
            .end_all_except(alice.id, &kept.id, now)
            .await
            .unwrap();

        assert_eq!(
            store.sessions.list_live(alice.id, now).await.unwrap(),
            vec![kept],
            "{backend}"
        );
        let ended_at = store.find(&alice, &other.id).await.unwrap().ended_at;
        assert_eq!(ended_at, Some(now), "{backend}");
        // Keeping another user's session id ends all of alice's, none of bob's.
        store
            .sessions
            .end_all_except(alice.id, &theirs.id, now)
            .await
            .unwrap();
        assert_eq!(store.sessions.list_live(alice.id, now).await.unwrap(), []);
        assert_eq!(
            store.sessions.list_live(bob.id, now).await.unwrap(),
            vec![theirs],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn deleting_a_user_takes_their_todos_sessions_and_spent_tokens_and_frees_the_name() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let bob = store.user("bob").await;
        let todos = SeaTodoRepository::new(store.db.clone());
        for user in [&alice, &bob] {
            for contents in ["one", "two"] {
                todos
                    .create(
                        user.id,
                        NewTodo {
                            contents: TodoContents::parse(contents).unwrap(),
                            is_done: false,
                        },
                        SystemTime::now(),
                    )
                    .await
                    .unwrap();
            }
        }
        let (mine, token) = store.session(&alice, at(T0), DAY).await;
        let rotated = store
            .sessions
            .rotate(
                &token.digest(),
                &RefreshToken::generate().digest(),
                at(T0 + 1),
            )
            .await
            .unwrap();
        assert!(matches!(rotated, Rotation::Rotated { .. }), "{backend}");
        let (theirs, _) = store.session(&bob, at(T0), DAY).await;
        assert_eq!(store.spent_tokens().await, 1);

        assert!(store.users.delete(alice.id).await.unwrap(), "{backend}");

        let name = LoginName::parse("alice").unwrap();
        assert_eq!(store.users.find_by_username(&name).await.unwrap(), None);
        assert_eq!(todos.list(alice.id, SortOrder::Asc).await.unwrap(), []);
        assert_eq!(todos.list(bob.id, SortOrder::Asc).await.unwrap().len(), 2);
        assert_eq!(store.spent_tokens().await, 0, "{backend}");
        let left: Vec<String> = session::Entity::find()
            .all(&store.db)
            .await
            .unwrap()
            .into_iter()
            .map(|model| model.id)
            .collect();
        assert_eq!(
            left,
            [theirs.id.as_str().to_owned()],
            "{backend}: {mine:?} gone"
        );
        assert!(
            !store.users.delete(alice.id).await.unwrap(),
            "{backend}: twice"
        );

        let again = store.user("alice").await;
        assert_ne!(again.id, alice.id, "{backend}");
        assert_eq!(store.find(&again, &mine.id).await, None, "{backend}");
    }
}

#[tokio::test]
async fn a_verified_address_finds_its_user_in_any_letter_case() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        store.user("bob").await;
        let address = |raw: &str| EmailAddress::parse(raw).unwrap();
        assert_eq!(
            store
                .users
                .find_by_verified_email(&address("ann@example.com"))
                .await
                .unwrap(),
            None,
            "{backend}: not verified yet"
        );
        let verified = store
            .users
            .set_verified_email(alice.id, &address("Ann@Example.com"))
            .await
            .unwrap();

        for typed in ["ann@example.com", "ANN@EXAMPLE.COM", "Ann@Example.com"] {
            assert_eq!(
                store
                    .users
                    .find_by_verified_email(&address(typed))
                    .await
                    .unwrap(),
                Some(verified.clone()),
                "{backend}: {typed}"
            );
        }
        assert_eq!(
            store
                .users
                .find_by_verified_email(&address("bob@example.com"))
                .await
                .unwrap(),
            None,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn rotate_spends_the_token_and_a_reused_one_ends_the_session() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let bob = store.user("bob").await;
        let now = at(T0 + 100);
        let (session, first) = store.session(&alice, at(T0), DAY).await;
        let (theirs, _) = store.session(&bob, at(T0), DAY).await;
        let rotate = |presented: &RefreshToken, next: &RefreshToken| {
            let (presented, next) = (presented.digest(), next.digest());
            let sessions = &store.sessions;
            async move { sessions.rotate(&presented, &next, now).await.unwrap() }
        };

        let second = RefreshToken::generate();
        let rotated = Rotation::Rotated {
            session: session.clone(),
            username: "alice".into(),
        };
        assert_eq!(rotate(&first, &second).await, rotated, "{backend}");
        let third = RefreshToken::generate();
        assert_eq!(rotate(&second, &third).await, rotated, "{backend}");
        assert_eq!(store.spent_tokens().await, 2, "{backend}");

        let never_issued = RefreshToken::generate();
        let unknown = rotate(&never_issued, &RefreshToken::generate()).await;
        assert_eq!(unknown, Rotation::Unknown, "{backend}");
        assert!(store.find(&alice, &session.id).await.unwrap().is_live(now));

        let reused = rotate(&first, &RefreshToken::generate()).await;
        assert_eq!(reused, Rotation::Reused, "{backend}");
        let ended = store.find(&alice, &session.id).await.unwrap();
        assert_eq!(ended.ended_at, Some(now), "{backend}: reuse ends it");
        let current = rotate(&third, &RefreshToken::generate()).await;
        assert_eq!(current, Rotation::Unknown, "{backend}: ended with it");
        assert_eq!(
            store.find(&bob, &theirs.id).await,
            Some(theirs),
            "{backend}: other sessions live on"
        );
    }
}

#[tokio::test]
async fn an_expired_session_does_not_rotate() {
    for store in stores().await {
        let alice = store.user("alice").await;
        let (session, token) = store.session(&alice, at(T0), DAY).await;
        let next = RefreshToken::generate().digest();
        let outcome = store
            .sessions
            .rotate(&token.digest(), &next, session.expires_at)
            .await
            .unwrap();
        assert_eq!(outcome, Rotation::Unknown, "{}", store.backend);
        assert_eq!(store.spent_tokens().await, 0, "{}", store.backend);
    }
}

/// Of 8 rotations of one token at once, on a pool of several connections,
/// exactly one wins; the others fail without an error, and the session's
/// token is then the winner's. Several rounds, since a race may not show
/// in one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_rotations_with_one_token_exactly_one_wins() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let now = SystemTime::now();
        let store = Arc::new(store);
        for round in 0..10 {
            let (session, token) = store.session(&alice, now, DAY).await;
            let presented = token.digest();
            let winners = Arc::new(Mutex::new(Vec::new()));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (store, presented, winners) =
                        (store.clone(), presented.clone(), winners.clone());
                    tokio::spawn(async move {
                        let next = RefreshToken::generate().digest();
                        let outcome = store.sessions.rotate(&presented, &next, now).await;
                        let outcome = outcome.unwrap_or_else(|e| panic!("{backend}: {e:?}"));
                        if matches!(outcome, Rotation::Rotated { .. }) {
                            winners.lock().unwrap().push(next);
                        }
                        outcome
                    })
                })
                .collect();
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.unwrap());
            }
            let winners = winners.lock().unwrap().clone();
            assert_eq!(winners.len(), 1, "{backend} round {round}: {outcomes:?}");
            let stored = session::Entity::find_by_id(session.id.as_str())
                .one(&store.db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                RefreshDigest::from_stored(stored.refresh_digest),
                winners[0],
                "{backend} round {round}"
            );
            // A loser that saw the token spent treats it as reuse.
            let reused = outcomes.contains(&Rotation::Reused);
            assert_eq!(stored.ended_at.is_some(), reused, "{backend}: {outcomes:?}");
        }
    }
}

#[tokio::test]
async fn purge_deletes_ended_and_expired_sessions_with_their_spent_tokens() {
    for store in stores().await {
        let backend = store.backend;
        let alice = store.user("alice").await;
        let now = at(T0 + 100);
        let (live, live_token) = store.session(&alice, at(T0), DAY).await;
        let (ended, ended_token) = store.session(&alice, at(T0), DAY).await;
        let (expired, _) = store
            .session(&alice, at(T0), Duration::from_secs(100))
            .await;
        for token in [&live_token, &ended_token] {
            let next = RefreshToken::generate().digest();
            let rotated = store
                .sessions
                .rotate(&token.digest(), &next, at(T0 + 10))
                .await
                .unwrap();
            assert!(matches!(rotated, Rotation::Rotated { .. }), "{backend}");
        }
        store
            .sessions
            .end(alice.id, &ended.id, at(T0 + 20))
            .await
            .unwrap();

        assert_eq!(store.sessions.purge(now).await.unwrap(), 2, "{backend}");

        assert_eq!(store.find(&alice, &ended.id).await, None, "{backend}");
        assert_eq!(store.find(&alice, &expired.id).await, None, "{backend}");
        assert_eq!(store.find(&alice, &live.id).await, Some(live.clone()));
        let spent = session_spent_token::Entity::find()
            .all(&store.db)
            .await
            .unwrap();
        assert_eq!(spent.len(), 1, "{backend}: the ended session's went too");
        assert_eq!(spent[0].session_id, live.id.as_str(), "{backend}");
        assert_eq!(store.sessions.purge(now).await.unwrap(), 0, "{backend}");
    }
}

/// The bearer check reads the user and the session in one statement.
#[tokio::test]
async fn find_user_and_session_is_one_statement() {
    for store in stores().await {
        let alice = store.user("alice").await;
        let (session, _) = store.session(&alice, at(T0), DAY).await;
        let mut db = store.db.clone();
        let statements = Arc::new(Mutex::new(Vec::new()));
        let seen = statements.clone();
        db.set_metric_callback(move |info| {
            seen.lock().unwrap().push(info.statement.to_string());
        });
        let counted = SeaSessionRepository::new(db);

        let found = counted
            .find_user_and_session(&LoginName::parse("alice").unwrap(), &session.id)
            .await
            .unwrap();

        assert_eq!(found, Some((alice, Some(session))), "{}", store.backend);
        let statements = statements.lock().unwrap();
        assert_eq!(statements.len(), 1, "{}: {statements:#?}", store.backend);
        println!("{}: {}", store.backend, statements[0]);
    }
}

/// The old service's MySQL schema has an INT `user.id`, and MySQL wants
/// the same type on both sides of a foreign key: sessions must work on a
/// database upgraded from it (and from its SQLite twin).
#[tokio::test]
async fn sessions_work_on_a_database_upgraded_from_the_legacy_schema() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("l.db").display());
    let mut urls = vec![sqlite];
    if let Some((_, url)) = server_database().await {
        urls.push(url);
    }
    for url in urls {
        let admin = sea_orm::Database::connect(&url).await.unwrap();
        let dialect = match admin.get_database_backend() {
            DatabaseBackend::Sqlite => "sqlite",
            DatabaseBackend::MySql => "mysql",
            // PostgreSQL never had the legacy schema.
            _ => continue,
        };
        let fixture = format!(
            "{}/../../tests/fixtures/legacy/{dialect}.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        let sql = std::fs::read_to_string(&fixture).unwrap();
        for statement in sql.split(';') {
            let statement: Vec<_> = statement
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect();
            let statement = statement.join("\n");
            if !statement.trim().is_empty() {
                admin.execute_unprepared(&statement).await.unwrap();
            }
        }
        admin.close().await.unwrap();
        let store = Store::open(dialect, url, tempfile::tempdir().unwrap()).await;
        let admin_user = store
            .users
            .find_by_username(&LoginName::parse("admin").unwrap())
            .await
            .unwrap()
            .unwrap();
        let (session, token) = store.session(&admin_user, at(T0), DAY).await;
        let next = RefreshToken::generate().digest();
        let outcome = store
            .sessions
            .rotate(&token.digest(), &next, at(T0 + 1))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Rotation::Rotated {
                session,
                username: "admin".into()
            },
            "{dialect}"
        );

        // The upgraded todo table has no foreign key on SQLite: deleting
        // the account must still take the tutorial's todos with it.
        let todos = || {
            todo::Entity::find()
                .filter(todo::Column::UserId.eq(admin_user.id.0))
                .count(&store.db)
        };
        assert_eq!(todos().await.unwrap(), 3, "{dialect}");
        assert!(store.users.delete(admin_user.id).await.unwrap());
        assert_eq!(todos().await.unwrap(), 0, "{dialect}");
        assert_eq!(todo::Entity::find().count(&store.db).await.unwrap(), 0);
    }
}

/// The latest migrations can be rolled back and applied again: `down`
/// drops the idempotency keys, the todo timestamps and indexes, and both
/// session tables (spent tokens first, for the foreign key); `up`
/// recreates them.
#[tokio::test]
async fn the_session_migration_rolls_back_and_reapplies() {
    use todos_migration::{Migrator, MigratorTrait, SchemaManager};
    for store in stores().await {
        let backend = store.backend;
        let manager = SchemaManager::new(&store.db);
        // The idempotency keys, the todo timestamps, then the sessions.
        Migrator::down(&store.db, Some(3)).await.unwrap();
        for table in ["session", "session_spent_token", "idempotency_key"] {
            let exists = manager.has_table(table).await.unwrap();
            assert!(!exists, "{backend}: {table} dropped");
        }
        for column in ["created_at", "updated_at"] {
            let exists = manager.has_column("todo", column).await.unwrap();
            assert!(!exists, "{backend}: todo.{column} dropped");
        }
        Migrator::up(&store.db, None).await.unwrap();
        let alice = store.user("alice").await;
        let (session, _) = store.session(&alice, at(T0), DAY).await;
        assert_eq!(store.find(&alice, &session.id).await, Some(session));
    }
}
