//! Backups of a SQLite database file while a service serves it, and
//! restores that refuse to replace a database a service is using (README:
//! "Backups"). MariaDB/MySQL and PostgreSQL have their own tools.
//!
//! A backup is SQLite's `VACUUM INTO`: one read transaction, so the copy
//! is the database as of one moment (WAL lets writers go on meanwhile),
//! with every commit before that moment. A serving process holds a shared
//! `flock` on `<database>.lock` (see [`ServingLock`]); a restore takes it
//! exclusively, so the two exclude each other across processes.

use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use rusqlite::OpenFlags;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;

use crate::connect::is_sqlite_file;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backup and restore work on a SQLite file (DATABASE_URL=sqlite://…); for MariaDB/MySQL \
         use mariadb-dump (mysqldump), for PostgreSQL pg_dump and pg_restore"
    )]
    NotASqliteFile,
    #[error("{0} already exists: pick a new file, a backup never overwrites one")]
    BackupExists(PathBuf),
    #[error("{0} exists: pass --replace to replace it with the backup")]
    DatabaseExists(PathBuf),
    #[error("a todos service is serving {0}: stop it before restoring")]
    InUse(PathBuf),
    #[error("a restore into {0} is under way: try again when it has finished")]
    RestoreUnderWay(PathBuf),
    #[error("{path} is not a todos database: {reason}")]
    NotATodosDatabase { path: PathBuf, reason: String },
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{1}: {0}")]
    Io(#[source] io::Error, PathBuf),
}

/// What a backup holds, for the operator to check at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub users: u64,
    pub todos: u64,
    pub bytes: u64,
}

/// The file a `sqlite:` URL names; an error for other databases and for an
/// in-memory SQLite.
pub fn sqlite_file(url: &str) -> Result<PathBuf, BackupError> {
    if !is_sqlite_file(url) {
        return Err(BackupError::NotASqliteFile);
    }
    let options = SqliteConnectOptions::from_str(url).map_err(|_| BackupError::NotASqliteFile)?;
    Ok(options.get_filename().to_path_buf())
}

/// Copies the database at `url` into the new file `to`, consistently, while
/// services keep reading and writing it.
pub fn backup(url: &str, to: &Path) -> Result<BackupSummary, BackupError> {
    let source = sqlite_file(url)?;
    if to.exists() {
        return Err(BackupError::BackupExists(to.to_path_buf()));
    }
    // Not while a restore replaces the file.
    let _reading = ServingLock::take(&source)?;
    let database = open_read_only(&source)?;
    // Readers are not blocked under WAL; the timeout covers a checkpoint.
    database.busy_timeout(Duration::from_secs(5))?;
    // Written beside the target and renamed: a backup that stops half way
    // never looks like a whole one.
    let partial = with_suffix(to, ".partial");
    let summary = copy_database(&database, &partial)?;
    // A link, unlike a rename, never replaces a file that appeared
    // meanwhile.
    let linked = fs::hard_link(&partial, to).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => BackupError::BackupExists(to.to_path_buf()),
        _ => BackupError::Io(e, to.to_path_buf()),
    });
    remove_if_present(&partial)?;
    linked?;
    sync_parent(to)?;
    Ok(summary)
}

/// `VACUUM INTO` from `database` (which reads through its WAL, so every
/// commit is in) into a new file `to`, flushed to disk and checked.
fn copy_database(database: &rusqlite::Connection, to: &Path) -> Result<BackupSummary, BackupError> {
    remove_if_present(to)?;
    let to_text = to.to_str().ok_or_else(|| {
        BackupError::Io(
            io::Error::new(io::ErrorKind::InvalidInput, "the path is not UTF-8"),
            to.to_path_buf(),
        )
    })?;
    database.execute("VACUUM INTO ?1", [to_text])?;
    sync_file(to)?;
    check_todos_database(to)
}

/// Puts the backup `from` where `url` points. Refused while a service
/// serves that database, and over an existing one unless `replace`.
pub fn restore(url: &str, from: &Path, replace: bool) -> Result<BackupSummary, BackupError> {
    let target = sqlite_file(url)?;
    check_todos_database(from)?;
    let lock = lock_file(&target)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(BackupError::InUse(target)),
        Err(TryLockError::Error(e)) => return Err(BackupError::Io(e, lock_path(&target))),
    }
    if target.exists() && !replace {
        return Err(BackupError::DatabaseExists(target));
    }
    // Through SQLite, not a file copy: a backup file with a WAL of its own
    // (copied from a live database, say) comes over whole.
    let restoring = with_suffix(&target, ".restoring");
    let summary = copy_database(&open_read_only(from)?, &restoring)?;
    // The replaced database's log, index and journal would be read as the
    // new one's.
    for stale in ["-wal", "-shm", "-journal"] {
        remove_if_present(&with_suffix(&target, stale))?;
    }
    fs::rename(&restoring, &target).map_err(|e| BackupError::Io(e, target.clone()))?;
    sync_parent(&target)?;
    drop(lock);
    Ok(summary)
}

/// Held by every process serving a SQLite file, shared, until it exits
/// (see [`ServingLock::keep_until_exit`]), and by a backup while it reads:
/// [`restore`] takes the same lock exclusively. (An `flock` on a file of
/// its own: SQLite's own POSIX locks on the database would be released by
/// closing any other descriptor of that file.)
#[derive(Debug)]
pub struct ServingLock {
    _file: File,
}

impl ServingLock {
    pub fn take(database: &Path) -> Result<Self, BackupError> {
        let file = lock_file(database)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => {
                Err(BackupError::RestoreUnderWay(database.to_path_buf()))
            }
            Err(TryLockError::Error(e)) => Err(BackupError::Io(e, lock_path(database))),
        }
    }

    /// Keeps the lock until the process exits. A store's writer and
    /// in-place connections may outlive its close by a moment, and the
    /// last connection to close deletes `-wal` and `-shm` by name: a
    /// restore in that moment would lose them to the old process.
    pub fn keep_until_exit(self) {
        std::mem::forget(self);
    }
}

fn lock_path(database: &Path) -> PathBuf {
    with_suffix(database, ".lock")
}

/// Opened read-only when it exists (flock needs no write access), so a
/// lock file that another user created, `root` running a restore say,
/// does not stop the service from starting.
fn lock_file(database: &Path) -> Result<File, BackupError> {
    let path = lock_path(database);
    let opened = match File::open(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path),
        opened => opened,
    };
    opened.map_err(|e| BackupError::Io(e, path))
}

fn open_read_only(path: &Path) -> Result<rusqlite::Connection, BackupError> {
    if !path.is_file() {
        return Err(BackupError::Io(
            io::Error::new(io::ErrorKind::NotFound, "no such database file"),
            path.to_path_buf(),
        ));
    }
    Ok(rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?)
}

/// A whole SQLite file with this service's tables in it.
fn check_todos_database(path: &Path) -> Result<BackupSummary, BackupError> {
    let not_ours = |reason: String| BackupError::NotATodosDatabase {
        path: path.to_path_buf(),
        reason,
    };
    let database = open_read_only(path)?;
    let check: String = database
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|e| not_ours(e.to_string()))?;
    if check != "ok" {
        return Err(not_ours(format!("integrity check: {check}")));
    }
    let count = |table: &str| -> Result<u64, BackupError> {
        database
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n.unsigned_abs())
            .map_err(|e| not_ours(e.to_string()))
    };
    count("seaql_migrations")?;
    let bytes = fs::metadata(path)
        .map_err(|e| BackupError::Io(e, path.to_path_buf()))?
        .len();
    Ok(BackupSummary {
        users: count("user")?,
        todos: count("todo")?,
        bytes,
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(BackupError::Io(e, path.into())),
        _ => Ok(()),
    }
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|e| BackupError::Io(e, path.to_path_buf()))
}

/// A rename is durable once the directory holding it is on disk.
fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    sync_file(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_databases_and_memory_are_pointed_to_their_own_tools() {
        for url in [
            "mysql://todos:todos@127.0.0.1/todos",
            "postgres://todos@127.0.0.1/todos",
            "sqlite::memory:",
        ] {
            let err = backup(url, Path::new("/tmp/never-written.db")).unwrap_err();
            assert!(matches!(err, BackupError::NotASqliteFile), "{url}: {err}");
            assert!(err.to_string().contains("pg_dump"), "{err}");
        }
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://data/todos.db?mode=rwc").unwrap(),
            PathBuf::from("data/todos.db")
        );
        assert_eq!(
            sqlite_file("sqlite:todos.db").unwrap(),
            PathBuf::from("todos.db")
        );
    }

    #[test]
    fn a_file_that_is_not_a_todos_database_is_never_restored() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        fs::write(&junk, b"not a database").unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let err = restore(&url, &junk, false).unwrap_err();
        assert!(
            matches!(err, BackupError::NotATodosDatabase { .. }),
            "{err}"
        );
        assert!(!dir.path().join("t.db").exists());
    }

    #[test]
    fn a_serving_lock_keeps_restores_out_and_restores_keep_servers_out() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("t.db");
        let first = ServingLock::take(&database).unwrap();
        let _second = ServingLock::take(&database).expect("several servers share a file");
        let exclusive = lock_file(&database).unwrap();
        assert!(matches!(
            exclusive.try_lock(),
            Err(TryLockError::WouldBlock)
        ));
        drop(first);
        drop(_second);
        exclusive.try_lock().expect("free once no one serves");
        assert!(matches!(
            ServingLock::take(&database),
            Err(BackupError::RestoreUnderWay(_))
        ));
    }
}
