//! The [`Cache`](todos_domain::Cache) port of `todos`: [`RedisCache`] for
//! several instances sharing state, [`MemoryCache`] for one process.

mod memory;
mod redis;

pub use memory::MemoryCache;
pub use redis::{RedisCache, RedisConfigError, RedisSettings};
