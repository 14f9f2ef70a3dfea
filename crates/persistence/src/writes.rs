//! Where the repositories' writes go: straight to the pool, or, on a
//! SQLite file, through the group-commit [`WriteQueue`].

use std::{future::Future, pin::Pin, sync::Arc};

use sea_orm::{DatabaseConnection, DatabaseExecutor, DbErr};

use crate::{
    DatabaseSettings, InPlaceReads, ServingLock, WriteQueue,
    backup::sqlite_file,
    connect::{connect, connect_migrated, is_sqlite_file},
};

/// What a write job returns: a future borrowing the executor it was given.
pub(crate) type WriteFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 'c>>;

/// Transactions a writer batch may hold: enough to spread one fsync over a
/// burst, small enough that a batch never holds the write lock for long.
const MAX_BATCH: usize = 256;

/// How writes reach the database.
#[derive(Clone)]
pub enum Writes {
    /// Each write on a pooled connection of its own (MySQL/MariaDB,
    /// PostgreSQL, in-memory SQLite).
    Pool(DatabaseConnection),
    /// Through SQLite's one writer connection, which commits whatever is
    /// waiting as one transaction (README: "Storage notes").
    Queue(WriteQueue),
}

impl Writes {
    /// Runs `job`; with the queue, in a savepoint of the next batch,
    /// answering once that batch has committed. A job that needs several
    /// statements to be atomic opens a transaction on the executor (a
    /// savepoint inside the batch).
    pub(crate) async fn run<T, F>(&self, job: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(DatabaseExecutor<'c>) -> WriteFuture<'c, T> + Send + 'static,
    {
        self.dispatch(job, true).await
    }

    /// Like [`Writes::run`], for a job that sends exactly one statement
    /// (on SQLite, where `RETURNING` makes an insert or update one): in
    /// the queue it runs without a savepoint of its own
    /// ([`WriteQueue::run_statement`]).
    pub(crate) async fn run_statement<T, F>(&self, job: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(DatabaseExecutor<'c>) -> WriteFuture<'c, T> + Send + 'static,
    {
        self.dispatch(job, false).await
    }

    async fn dispatch<T, F>(&self, job: F, savepoint: bool) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(DatabaseExecutor<'c>) -> WriteFuture<'c, T> + Send + 'static,
    {
        match self {
            Self::Pool(db) => job(DatabaseExecutor::Connection(db)).await,
            Self::Queue(queue) if savepoint => {
                queue
                    .run(move |txn| job(DatabaseExecutor::Transaction(txn)))
                    .await
            }
            Self::Queue(queue) => {
                queue
                    .run_statement(move |txn| job(DatabaseExecutor::Transaction(txn)))
                    .await
            }
        }
    }
}

/// The database as the repositories use it: reads on the pool, writes as
/// [`Writes`] says.
#[derive(Clone)]
pub struct Store {
    pub reads: DatabaseConnection,
    pub writes: Writes,
    /// On a SQLite file, the hot todo reads run in place (see
    /// [`InPlaceReads`]); the pool still serves every other read.
    pub in_place: Option<InPlaceReads>,
    /// On a SQLite file: a restore must wait until this store is gone.
    serving: Option<Arc<ServingLock>>,
}

impl Store {
    /// Applies pending migrations and opens the pool; on a SQLite file,
    /// also the writer connection behind the group-commit queue, and takes
    /// the [`ServingLock`] that keeps restores out until the process exits.
    pub async fn open(settings: &DatabaseSettings) -> Result<Self, DbErr> {
        if !is_sqlite_file(&settings.url) {
            let reads = connect_migrated(settings).await?;
            return Ok(Self {
                writes: Writes::Pool(reads.clone()),
                reads,
                in_place: None,
                serving: None,
            });
        }
        // Before anything opens the file: a restore may be replacing it.
        let file = sqlite_file(&settings.url).map_err(|e| DbErr::Custom(e.to_string()))?;
        let serving = ServingLock::take(&file).map_err(|e| DbErr::Custom(e.to_string()))?;
        let reads = connect_migrated(settings).await?;
        let writer = connect(&DatabaseSettings {
            max_connections: 1,
            ..settings.clone()
        })
        .await?;
        let in_place = Some(InPlaceReads::at(file, settings.statements.clone()));
        Ok(Self {
            reads,
            writes: Writes::Queue(WriteQueue::start(writer, MAX_BATCH)),
            in_place,
            serving: Some(Arc::new(serving)),
        })
    }

    /// Closes the pool. The writer connection closes when the last
    /// repository holding the queue is dropped, after its last batch; the
    /// serving lock stays until the process exits (restores wait for it).
    pub async fn close(self) -> Result<(), DbErr> {
        if let Some(serving) = self.serving.and_then(Arc::into_inner) {
            serving.keep_until_exit();
        }
        self.reads.close().await
    }
}
