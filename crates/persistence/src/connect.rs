use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use todos_migration::{Migrator, MigratorTrait};

/// Where the database is and how the pool behaves. The backend follows from
/// the URL scheme: `sqlite:`, `mysql:` or `postgres:`.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// Upper bound on waiting for a connection: with the database down,
    /// requests fail (503) after this long instead of hanging.
    pub acquire_timeout: Duration,
    pub idle_timeout: Duration,
    /// Counts the statements sent through the pools opened with these
    /// settings (clones share the count).
    pub statements: StatementCounter,
}

/// How many SQL statements have been sent, shared by its clones: the
/// statement-count tests read it per request. Each statement is also
/// logged at `trace` under the target `todos::sql`, with its SQL text
/// (placeholders, never values) and duration, for `bench/run.sh` and for
/// anyone asking what a request costs.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Statements sent so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts and logs one statement, whichever connection ran it.
    pub(crate) fn record(&self, sql: &str, elapsed: Duration, failed: bool) {
        self.0.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(
            target: "todos::sql",
            micros = elapsed.as_micros() as u64,
            failed,
            sql,
        );
    }
}

impl DatabaseSettings {
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        // SQLite has one writer at a time; a few connections serve parallel
        // readers under WAL, more only add lock contention: with 8, writers
        // spun in SQLite's busy handler (POST /todos p99 740 ms; with 4:
        // tens of ms, see BENCHMARKS.md). Server databases are shared with
        // other instances, so each takes a modest share.
        let max_connections = if is_sqlite(&url) { 4 } else { 16 };
        Self {
            url,
            max_connections,
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(600),
            statements: StatementCounter::default(),
        }
    }
}

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// A SQLite database in a file, which a second connection can open.
pub(crate) fn is_sqlite_file(url: &str) -> bool {
    is_sqlite(url) && !is_memory(url)
}

/// Opens the pool. SQLite runs in WAL mode (readers do not block the writer)
/// with a busy timeout, so concurrent writers wait instead of failing.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(settings.max_connections)
        .min_connections(1)
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        .idle_timeout(settings.idle_timeout)
        // Request tracing covers what matters; statement logs would be noise.
        .sqlx_logging(false);
    if is_sqlite(&settings.url) {
        // A file on this machine cannot hang up: pinging a connection
        // before each use only cost a round trip to its worker thread
        // (BENCHMARKS.md). Server databases keep the ping, which finds
        // connections a restart has broken.
        options.test_before_acquire(false);
        options.map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                // FULL: a todo acknowledged with 201 survives power loss too.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    }
    let mut db = Database::connect(options).await?;
    let counter = settings.statements.clone();
    db.set_metric_callback(move |info| {
        counter.record(&info.statement.sql, info.elapsed, info.failed)
    });
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Applies pending migrations, then opens the pool that serves requests.
///
/// Migrations run on a pool of their own that is closed first: a SQLite
/// connection that was open during an `ALTER TABLE` elsewhere can keep the
/// old schema, and an insert on it then came back without the new columns
/// (`Missing value for column 'email_verified'`, a 500 on sign-up).
pub async fn connect_migrated(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    // An in-memory SQLite database dies with its last connection: migrate
    // the serving pool itself.
    if is_memory(&settings.url) {
        let db = connect(settings).await?;
        migrate(&db).await?;
        return Ok(db);
    }
    let migrations = connect(&DatabaseSettings {
        max_connections: 1,
        ..settings.clone()
    })
    .await?;
    migrate(&migrations).await?;
    migrations.close().await?;
    connect(settings).await
}
