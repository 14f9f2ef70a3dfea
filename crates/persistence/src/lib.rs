//! Storage for `todos` on SQLite, MySQL/MariaDB or PostgreSQL through
//! SeaORM: entities, repository implementations and the connection pool.

mod backup;
mod connect;
pub mod entity;
mod error;
mod health;
mod in_place_reads;
mod pool;
mod sessions;
mod todos;
mod users;
mod write_queue;
mod writes;

pub use backup::{BackupError, BackupSummary, ServingLock, backup, restore, sqlite_file};
pub use connect::{DatabaseSettings, StatementCounter, connect, connect_migrated, migrate};
pub use health::DatabaseProbe;
pub use in_place_reads::InPlaceReads;
pub use pool::{PoolStats, pool_stats};
pub use sea_orm::DatabaseConnection;
pub use sessions::SeaSessionRepository;
pub use todos::{SeaTodoRepository, claimed_page_select, page_select};
pub use users::SeaUserRepository;
pub use write_queue::WriteQueue;
pub use writes::{Store, Writes};
