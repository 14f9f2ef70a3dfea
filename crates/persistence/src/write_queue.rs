//! Group commit for SQLite.
//!
//! SQLite has one writer, and with `synchronous=FULL` every COMMIT is an
//! fsync. Writers on a pool of several connections queue for the write lock
//! inside SQLite's busy handler, each paying its own fsync. Here one
//! connection writes: whatever is waiting goes into one transaction (one
//! fsync), each job in a SAVEPOINT of its own so that one job's failure
//! undoes only that job. Callers hear back only after the COMMIT that holds
//! their write has returned: an acknowledged write is on disk.

use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::{Context, Poll},
};

use sea_orm::{
    DatabaseConnection, DatabaseConnectionType, DatabaseTransaction, DbErr, RuntimeErr, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::{mpsc, oneshot};

/// Jobs that may wait for the writer: beyond this, `run` waits for room
/// (back-pressure) instead of queueing without bound.
const CAPACITY: usize = 1024;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Serialises writes through one connection and commits whatever is waiting
/// as one transaction.
#[derive(Clone)]
pub struct WriteQueue {
    jobs: mpsc::Sender<Box<dyn Job>>,
    #[cfg(test)]
    batches: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
}

impl WriteQueue {
    /// Spawns the writer task (`tokio::spawn`) over `writer`, a connection
    /// (pool of exactly one) that only this queue uses. `max_batch` bounds
    /// how many jobs one transaction takes (at least one).
    ///
    /// The writer ends once every clone of the queue is dropped and the jobs
    /// already queued are done.
    pub fn start(writer: DatabaseConnection, max_batch: usize) -> Self {
        let (jobs, queued) = mpsc::channel(CAPACITY);
        let queue = Self {
            jobs,
            #[cfg(test)]
            batches: Default::default(),
        };
        let writer = Writer {
            conn: writer,
            queued,
            max_batch: max_batch.max(1),
            #[cfg(test)]
            batches: std::sync::Arc::clone(&queue.batches),
        };
        tokio::spawn(writer.run());
        queue
    }

    /// Runs `job` inside the next batch's transaction, in a savepoint of its
    /// own, and answers once that transaction has committed.
    ///
    /// `Ok` means the job's writes are committed; an error means none of them
    /// are: the job's own error, the batch's (its COMMIT failed, so no job of
    /// it was written), or `DbErr::Conn` when the writer is gone. If the
    /// caller stops waiting before its job's turn, the job is skipped; once
    /// it has started, it is committed or not with its batch.
    ///
    /// The job must only use the transaction it is given: the writer's
    /// connection is busy with the batch, and any other connection waits for
    /// the write lock that this batch holds.
    pub async fn run<T, F>(&self, job: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<T, DbErr>>
            + Send
            + 'static,
    {
        self.send(job, true).await
    }

    /// Like [`WriteQueue::run`], for a job that sends exactly one
    /// statement: it runs without a savepoint, which saves two round trips
    /// to the writer's thread. SQLite undoes a statement that breaks a
    /// constraint on its own and keeps the transaction; any other failure
    /// of such a job fails its whole batch, since SQLite may have rolled
    /// the transaction back.
    pub async fn run_statement<T, F>(&self, job: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<T, DbErr>>
            + Send
            + 'static,
    {
        self.send(job, false).await
    }

    async fn send<T, F>(&self, job: F, savepoint: bool) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<T, DbErr>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(Request {
                job,
                reply,
                savepoint,
            }))
            .await
            .map_err(|_| gone("the write queue is closed"))?;
        answer
            .await
            .map_err(|_| gone("the writer stopped before answering"))?
    }

    /// Sizes of the batches run so far, in jobs run (skipped ones left out).
    #[cfg(test)]
    fn batch_sizes(&self) -> Vec<usize> {
        self.batches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Jobs waiting in the channel, not yet taken by the writer.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }
}

/// `DbErr::Conn`, which callers already treat as "the database is
/// unavailable, nothing was written".
fn gone(why: &str) -> DbErr {
    DbErr::Conn(RuntimeErr::Internal(why.to_owned()))
}

/// A caller's job with its result type erased, so that one channel carries
/// them all.
trait Job: Send {
    /// The caller stopped waiting: nobody would hear the answer.
    fn abandoned(&self) -> bool;

    /// Whether the job runs in a savepoint of its own (else it is one
    /// statement, run on the batch's transaction).
    fn wants_savepoint(&self) -> bool;

    /// Runs the job in `savepoint`. Its result is held, not sent: the caller
    /// may only hear it once the batch's COMMIT has returned.
    fn run<'c>(self: Box<Self>, savepoint: &'c DatabaseTransaction) -> BoxFuture<'c, Box<dyn Ran>>;

    /// Answers a job that was not run because its batch failed first.
    fn fail(self: Box<Self>, err: DbErr);
}

/// A job that has run, waiting for its batch's outcome.
trait Ran: Send {
    /// Whether its savepoint is kept (released) or rolled back.
    fn succeeded(&self) -> bool;

    /// Its error, if it failed.
    fn error(&self) -> Option<&DbErr>;

    /// Answers the caller: the job's own result if the batch committed,
    /// otherwise the batch's error.
    fn answer(self: Box<Self>, batch: Result<(), DbErr>);
}

struct Request<T, F> {
    job: F,
    reply: oneshot::Sender<Result<T, DbErr>>,
    savepoint: bool,
}

impl<T, F> Job for Request<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<T, DbErr>> + Send + 'static,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn wants_savepoint(&self) -> bool {
        self.savepoint
    }

    fn run<'c>(self: Box<Self>, savepoint: &'c DatabaseTransaction) -> BoxFuture<'c, Box<dyn Ran>> {
        let Request { job, reply, .. } = *self;
        Box::pin(async move {
            // A panic fails this job only; uncaught, it would end the
            // writer task, and with it every later write.
            let result = match catch_unwind(AssertUnwindSafe(|| job(savepoint))) {
                Ok(future) => CatchUnwind(future).await,
                Err(_) => Err(panicked()),
            };
            Box::new(Done { result, reply }) as Box<dyn Ran>
        })
    }

    fn fail(self: Box<Self>, err: DbErr) {
        // A caller that has gone away needs no answer.
        let _ = self.reply.send(Err(err));
    }
}

struct Done<T> {
    result: Result<T, DbErr>,
    reply: oneshot::Sender<Result<T, DbErr>>,
}

impl<T: Send> Ran for Done<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn error(&self) -> Option<&DbErr> {
        self.result.as_ref().err()
    }

    fn answer(self: Box<Self>, batch: Result<(), DbErr>) {
        let _ = self.reply.send(batch.and(self.result));
    }
}

/// Whether SQLite undid the failed statement alone and kept the
/// transaction: a constraint it broke (SQLite's default ABORT resolution).
fn undone_alone(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::UniqueConstraintViolation(_) | SqlErr::ForeignKeyConstraintViolation(_))
    )
}

fn panicked() -> DbErr {
    DbErr::Custom("the write job panicked".to_owned())
}

/// Polls a job's future, turning a panic into an error.
struct CatchUnwind<'c, T>(BoxFuture<'c, Result<T, DbErr>>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T, DbErr>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.0;
        catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)))
            .unwrap_or_else(|_| Poll::Ready(Err(panicked())))
    }
}

/// The writer task's state.
struct Writer {
    conn: DatabaseConnection,
    queued: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    #[cfg(test)]
    batches: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
}

impl Writer {
    async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        // Waits for one job, then takes whatever else is already queued: a
        // lone write is not delayed, and a crowd shares one COMMIT.
        while self.queued.recv_many(&mut batch, self.max_batch).await > 0 {
            let outcome = self.commit_batch(batch.drain(..)).await;
            if let Err(err) = outcome {
                tracing::warn!(error = %err, "write batch failed; its writes were not committed");
                self.discard_connection().await;
            }
        }
    }

    /// Runs `jobs` in one transaction, each in its own savepoint, commits,
    /// then answers every caller with the COMMIT's outcome in hand.
    async fn commit_batch(
        &self,
        mut jobs: impl Iterator<Item = Box<dyn Job>>,
    ) -> Result<(), DbErr> {
        // IMMEDIATE takes the write lock at BEGIN, waiting in the busy
        // handler if another connection holds it. A deferred transaction
        // that read first could fail its first write with SQLITE_BUSY
        // instead, which no busy handler waits out. Other backends ignore
        // it.
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        let txn = match self.conn.begin_with_options(options).await {
            Ok(txn) => txn,
            Err(err) => {
                for job in jobs {
                    job.fail(err.clone());
                }
                return Err(err);
            }
        };
        let mut ran = Vec::new();
        let mut broken = None;
        for job in jobs.by_ref() {
            if job.abandoned() {
                continue;
            }
            if !job.wants_savepoint() {
                let done = job.run(&txn).await;
                let failed = done.error().filter(|err| !undone_alone(err)).cloned();
                ran.push(done);
                if let Some(err) = failed {
                    broken = Some(err);
                    break;
                }
                continue;
            }
            // SeaORM turns a nested begin into SAVEPOINT, its commit into
            // RELEASE and its rollback into ROLLBACK TO.
            let savepoint = match txn.begin().await {
                Ok(savepoint) => savepoint,
                Err(err) => {
                    job.fail(err.clone());
                    broken = Some(err);
                    break;
                }
            };
            let done = job.run(&savepoint).await;
            let closed = if done.succeeded() {
                savepoint.commit().await
            } else {
                savepoint.rollback().await
            };
            ran.push(done);
            // A savepoint that cannot be released or rolled back means the
            // transaction is not what the jobs before this one left: SQLite
            // may have rolled it back (I/O error, disk full). Nothing of this
            // batch can be vouched for.
            if let Err(err) = closed {
                broken = Some(err);
                break;
            }
        }
        #[cfg(test)]
        self.batches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(ran.len());
        let outcome = match broken {
            None => txn.commit().await,
            Some(err) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::debug!(error = %rollback, "rollback of a broken write batch failed");
                }
                Err(err)
            }
        };
        for done in ran {
            done.answer(outcome.clone());
        }
        if let Err(err) = &outcome {
            for job in jobs {
                job.fail(err.clone());
            }
        }
        outcome
    }

    /// Replaces the writer's connection after a failed batch. When SQLite
    /// ended the transaction itself (I/O error, full disk), sqlx's ROLLBACK
    /// fails and its count of open transactions on the connection stays up.
    /// SeaORM then opens the next batch with a SAVEPOINT instead of BEGIN,
    /// and after a failed COMMIT "rolls back" with ROLLBACK TO, which leaves
    /// the transaction open: later batches would be answered Ok and never
    /// reach the disk. A fresh connection is the only state that is sure;
    /// failed batches are rare and reconnecting to SQLite is cheap.
    async fn discard_connection(&self) {
        // Only the SQLite pool can be reached without risking SeaORM's
        // panicking accessors; this queue is meant for SQLite.
        if !matches!(
            self.conn.inner,
            DatabaseConnectionType::SqlxSqlitePoolConnection(_)
        ) {
            return;
        }
        let closed = match self.conn.get_sqlite_connection_pool().acquire().await {
            Ok(conn) => conn.close().await,
            Err(err) => Err(err),
        };
        if let Err(err) = closed {
            tracing::warn!(error = %err, "could not replace the writer's connection");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
        time::Duration,
    };

    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use tempfile::TempDir;
    use tokio::time::timeout;

    use super::*;

    const PATIENCE: Duration = Duration::from_secs(10);

    struct Db {
        _dir: TempDir,
        url: String,
    }

    impl Db {
        /// A fresh SQLite file with table `t`, and `child` whose foreign key
        /// is checked at COMMIT only: a dangling child fails the COMMIT.
        async fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
            let db = Self { _dir: dir, url };
            db.open()
                .await
                .execute_unprepared(
                    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE);
                     CREATE TABLE parent (id INTEGER PRIMARY KEY);
                     CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL
                         REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
                )
                .await
                .unwrap();
            db
        }

        /// A pool of one connection, WAL and synchronous=FULL, as served.
        async fn open(&self) -> DatabaseConnection {
            crate::connect(&crate::DatabaseSettings {
                max_connections: 1,
                ..crate::DatabaseSettings::new(self.url.clone())
            })
            .await
            .unwrap()
        }

        /// The values in `t`, read on a connection of its own.
        async fn values(&self) -> Vec<String> {
            let rows = self
                .open()
                .await
                .query_all_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT v FROM t ORDER BY v",
                ))
                .await
                .unwrap();
            rows.iter().map(|r| r.try_get("", "v").unwrap()).collect()
        }
    }

    fn insert_statement(v: &str) -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO t (v) VALUES (?)",
            [v.into()],
        )
    }

    /// Inserts `v` into `t` through the queue; answers the row id.
    async fn insert(queue: WriteQueue, v: &'static str) -> Result<u64, DbErr> {
        queue
            .run(move |txn| {
                Box::pin(async move {
                    let done = txn.execute_raw(insert_statement(v)).await?;
                    Ok(done.last_insert_id())
                })
            })
            .await
    }

    /// Inserts a child without a parent: the job succeeds, its batch's
    /// COMMIT fails.
    async fn insert_dangling(queue: WriteQueue) -> Result<(), DbErr> {
        queue
            .run(|txn| {
                Box::pin(async move {
                    txn.execute_unprepared("INSERT INTO child (parent) VALUES (42)")
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    /// A job that holds the writer inside the first batch until `release`
    /// fires, so that jobs queued meanwhile share the next batch.
    async fn hold_writer(queue: &WriteQueue) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let (started, is_started) = oneshot::channel();
        let (release, released) = oneshot::channel::<()>();
        let queue2 = queue.clone();
        let holder = tokio::spawn(async move {
            queue2
                .run(move |_| {
                    Box::pin(async move {
                        started.send(()).unwrap();
                        released.await.unwrap();
                        Ok(())
                    })
                })
                .await
                .unwrap();
        });
        timeout(PATIENCE, is_started).await.unwrap().unwrap();
        (release, holder)
    }

    /// Waits until `n` jobs sit in the channel.
    async fn until_waiting(queue: &WriteQueue, n: usize) {
        timeout(PATIENCE, async {
            while queue.waiting() < n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_all_commit_in_fewer_transactions() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 64);
        let values: Vec<&'static str> = (0..200)
            .map(|i| &*Box::leak(format!("v{i:03}").into_boxed_str()))
            .collect();
        let tasks: Vec<_> = values
            .iter()
            .map(|v| tokio::spawn(insert(queue.clone(), v)))
            .collect();
        for task in tasks {
            timeout(PATIENCE, task).await.unwrap().unwrap().unwrap();
        }

        let mut expected: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        expected.sort();
        assert_eq!(db.values().await, expected);
        let batches = queue.batch_sizes();
        assert_eq!(batches.iter().sum::<usize>(), 200);
        assert!(batches.len() < 200, "no batching: {batches:?}");
        assert!(
            batches.iter().all(|&n| n <= 64),
            "max_batch exceeded: {batches:?}"
        );
    }

    /// Queues "first", a duplicate of "taken" and "last" into one batch
    /// with `insert`: the duplicate fails alone, the others commit.
    async fn a_duplicate_fails_alone_in_its_batch<F, Fut>(insert_with: F)
    where
        F: Fn(WriteQueue, &'static str) -> Fut,
        Fut: Future<Output = Result<u64, DbErr>> + Send + 'static,
    {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);
        insert(queue.clone(), "taken").await.unwrap();

        let (release, holder) = hold_writer(&queue).await;
        let first = tokio::spawn(insert_with(queue.clone(), "first"));
        until_waiting(&queue, 1).await;
        let duplicate = tokio::spawn(insert_with(queue.clone(), "taken"));
        until_waiting(&queue, 2).await;
        let last = tokio::spawn(insert_with(queue.clone(), "last"));
        until_waiting(&queue, 3).await;
        release.send(()).unwrap();

        holder.await.unwrap();
        first.await.unwrap().unwrap();
        let err = duplicate.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ),
            "{err:?}"
        );
        last.await.unwrap().unwrap();
        assert_eq!(queue.batch_sizes(), [1, 1, 3]);
        assert_eq!(db.values().await, ["first", "last", "taken"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_fails_alone_in_its_batch() {
        a_duplicate_fails_alone_in_its_batch(insert).await;
    }

    /// Inserts `v` as a one-statement job, without a savepoint.
    async fn insert_statement_job(queue: WriteQueue, v: &'static str) -> Result<u64, DbErr> {
        queue
            .run_statement(move |txn| {
                Box::pin(async move {
                    let done = txn.execute_raw(insert_statement(v)).await?;
                    Ok(done.last_insert_id())
                })
            })
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_statement_breaking_a_constraint_fails_alone_without_a_savepoint() {
        a_duplicate_fails_alone_in_its_batch(insert_statement_job).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn any_other_failure_of_a_statement_job_fails_its_batch() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);

        let (release, holder) = hold_writer(&queue).await;
        let before = tokio::spawn(insert_statement_job(queue.clone(), "before"));
        until_waiting(&queue, 1).await;
        let queue2 = queue.clone();
        let broken = tokio::spawn(async move {
            queue2
                .run_statement(|txn| {
                    Box::pin(async move {
                        txn.execute_unprepared("INSERT INTO no_such_table VALUES (1)")
                            .await?;
                        Ok(())
                    })
                })
                .await
        });
        until_waiting(&queue, 2).await;
        let after = tokio::spawn(insert_statement_job(queue.clone(), "after"));
        until_waiting(&queue, 3).await;
        release.send(()).unwrap();

        holder.await.unwrap();
        assert!(before.await.unwrap().is_err());
        assert!(broken.await.unwrap().is_err());
        assert!(after.await.unwrap().is_err());
        assert!(db.values().await.is_empty());
        // The writer goes on with a fresh connection.
        insert_statement_job(queue.clone(), "later").await.unwrap();
        assert_eq!(db.values().await, ["later"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_returns_its_value() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);
        assert_eq!(insert(queue.clone(), "a").await.unwrap(), 1);
        assert_eq!(insert(queue.clone(), "b").await.unwrap(), 2);
        let (v, n) = queue
            .run(|txn| {
                Box::pin(async move {
                    let row = txn
                        .query_one_raw(Statement::from_string(
                            DbBackend::Sqlite,
                            "SELECT max(v) AS v, count(*) AS n FROM t",
                        ))
                        .await?
                        .ok_or_else(|| DbErr::Custom("no row".into()))?;
                    Ok((
                        row.try_get::<String>("", "v")?,
                        row.try_get::<i64>("", "n")?,
                    ))
                })
            })
            .await
            .unwrap();
        assert_eq!((v.as_str(), n), ("b", 2));
    }

    /// A job that inserts `keep`, then fails on a second insert.
    async fn insert_then_fail(queue: WriteQueue, keep: &'static str) -> Result<(), DbErr> {
        queue
            .run(move |txn| {
                Box::pin(async move {
                    txn.execute_raw(insert_statement(keep)).await?;
                    txn.execute_raw(insert_statement("taken")).await?;
                    Ok(())
                })
            })
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_job_leaves_none_of_its_writes() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);
        insert(queue.clone(), "taken").await.unwrap();

        // Failed and successful jobs interleaved in one batch: each
        // ROLLBACK TO must undo its own job only, and a RELEASE after it
        // must not take an earlier job's savepoint along.
        let (release, holder) = hold_writer(&queue).await;
        let mut tasks = Vec::new();
        for (i, v) in ["undone 1", "kept 1", "undone 2", "kept 2", "undone 3"]
            .into_iter()
            .enumerate()
        {
            let q = queue.clone();
            tasks.push(tokio::spawn(async move {
                if v.starts_with("kept") {
                    insert(q, v).await.map(drop)
                } else {
                    insert_then_fail(q, v).await
                }
            }));
            // One at a time, so that they queue in this order.
            until_waiting(&queue, i + 1).await;
        }
        release.send(()).unwrap();
        holder.await.unwrap();
        let mut succeeded = Vec::new();
        for task in tasks {
            succeeded.push(task.await.unwrap().is_ok());
        }
        assert_eq!(succeeded, [false, true, false, true, false]);
        assert_eq!(queue.batch_sizes(), [1, 1, 5]);
        assert_eq!(db.values().await, ["kept 1", "kept 2", "taken"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn run_fails_without_hanging_once_the_writer_is_gone() {
        let db = Db::new().await;
        let writer = db.open().await;
        // The writer task lives on a runtime of its own, shut down below.
        let doomed = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let queue = {
            let _on = doomed.enter();
            WriteQueue::start(writer, 16)
        };
        // One job in flight that never ends, one waiting behind it.
        let (started, is_started) = oneshot::channel();
        let in_flight = tokio::spawn({
            let queue = queue.clone();
            async move {
                queue
                    .run(move |_| {
                        Box::pin(async move {
                            started.send(()).unwrap();
                            std::future::pending::<Result<(), DbErr>>().await
                        })
                    })
                    .await
            }
        });
        timeout(PATIENCE, is_started).await.unwrap().unwrap();
        let waiting = tokio::spawn(insert(queue.clone(), "waiting"));
        until_waiting(&queue, 1).await;

        doomed.shutdown_background();

        let err = timeout(PATIENCE, in_flight)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, DbErr::Conn(_)), "{err:?}");
        let err = timeout(PATIENCE, waiting)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, DbErr::Conn(_)), "{err:?}");
        let err = timeout(PATIENCE, insert(queue.clone(), "late"))
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, DbErr::Conn(_)), "{err:?}");
        assert!(db.values().await.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_drains_its_queue_after_the_last_handle_is_dropped() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);
        let (release, holder) = hold_writer(&queue).await;
        let late = tokio::spawn(insert(queue.clone(), "late"));
        until_waiting(&queue, 1).await;
        drop(queue);
        release.send(()).unwrap();
        holder.await.unwrap();
        timeout(PATIENCE, late).await.unwrap().unwrap().unwrap();
        assert_eq!(db.values().await, ["late"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_fails_every_job_of_the_batch() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);

        let (release, holder) = hold_writer(&queue).await;
        let good = tokio::spawn(insert(queue.clone(), "good"));
        until_waiting(&queue, 1).await;
        let dangling = tokio::spawn(insert_dangling(queue.clone()));
        until_waiting(&queue, 2).await;
        release.send(()).unwrap();
        holder.await.unwrap();

        let err = good.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err.sql_err(),
                Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
            ),
            "{err:?}"
        );
        dangling.await.unwrap().unwrap_err();
        assert_eq!(queue.batch_sizes(), [1, 2]);
        assert!(db.values().await.is_empty());
        // The writer goes on.
        insert(queue.clone(), "after").await.unwrap();
        assert_eq!(db.values().await, ["after"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_whose_transaction_vanished_fails_and_the_writer_recovers() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);

        // A job ends the batch's transaction behind SeaORM's back, as SQLite
        // does itself on an I/O error or a full disk.
        let (release, holder) = hold_writer(&queue).await;
        let before = tokio::spawn(insert(queue.clone(), "before"));
        until_waiting(&queue, 1).await;
        let rogue = tokio::spawn({
            let queue = queue.clone();
            async move {
                queue
                    .run(|txn| {
                        Box::pin(async move {
                            txn.execute_unprepared("ROLLBACK").await?;
                            Ok(())
                        })
                    })
                    .await
            }
        });
        until_waiting(&queue, 2).await;
        let after = tokio::spawn(insert(queue.clone(), "after"));
        until_waiting(&queue, 3).await;
        release.send(()).unwrap();
        holder.await.unwrap();

        before.await.unwrap().unwrap_err();
        rogue.await.unwrap().unwrap_err();
        after.await.unwrap().unwrap_err();
        assert!(db.values().await.is_empty());

        // sqlx still counts the vanished transaction and its savepoint on
        // that connection: SeaORM would then open the next batch with a
        // SAVEPOINT instead of BEGIN, and after a failed COMMIT leave it open
        // (ROLLBACK TO does not end it), so that later batches, answered Ok,
        // never reach the disk. The writer must have replaced the connection.
        insert_dangling(queue.clone()).await.unwrap_err();
        let later = timeout(PATIENCE, insert(queue.clone(), "later"))
            .await
            .unwrap();
        assert_eq!(later.unwrap(), 1);
        assert_eq!(db.values().await, ["later"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_fails_alone() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);

        let (release, holder) = hold_writer(&queue).await;
        let panics = tokio::spawn({
            let queue = queue.clone();
            async move {
                queue
                    .run::<(), _>(|txn| {
                        Box::pin(async move {
                            txn.execute_raw(insert_statement("half")).await?;
                            panic!("job bug");
                        })
                    })
                    .await
            }
        });
        until_waiting(&queue, 1).await;
        let fine = tokio::spawn(insert(queue.clone(), "fine"));
        until_waiting(&queue, 2).await;
        release.send(()).unwrap();
        holder.await.unwrap();

        let err: DbErr = panics.await.unwrap().unwrap_err();
        assert!(matches!(err, DbErr::Custom(_)), "{err:?}");
        fine.await.unwrap().unwrap();
        insert(queue.clone(), "after").await.unwrap();
        assert_eq!(db.values().await, ["after", "fine"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_whose_caller_left_is_skipped() {
        let db = Db::new().await;
        let queue = WriteQueue::start(db.open().await, 16);

        let (release, holder) = hold_writer(&queue).await;
        let ran = Arc::new(AtomicBool::new(false));
        let left = tokio::spawn({
            let (queue, ran) = (queue.clone(), Arc::clone(&ran));
            async move {
                queue
                    .run(move |txn| {
                        Box::pin(async move {
                            ran.store(true, Ordering::SeqCst);
                            txn.execute_raw(insert_statement("left")).await?;
                            Ok(())
                        })
                    })
                    .await
            }
        });
        until_waiting(&queue, 1).await;
        left.abort();
        assert!(left.await.unwrap_err().is_cancelled());
        let stayed = tokio::spawn(insert(queue.clone(), "stayed"));
        until_waiting(&queue, 2).await;
        release.send(()).unwrap();
        holder.await.unwrap();

        stayed.await.unwrap().unwrap();
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(queue.batch_sizes(), [1, 1]);
        assert_eq!(db.values().await, ["stayed"]);
    }
}
