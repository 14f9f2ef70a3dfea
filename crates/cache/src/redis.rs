use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{
    Builder, ClientLike, Config, Expiration, KeysInterface, LuaInterface, Pool, ReconnectPolicy,
};
use todos_domain::{Cache, DomainError, Hit};

/// Counts a hit unless the counter is at its limit, in one atomic step.
/// Returns `{count, ms_left}`, or `{-1, ms_left}` when refused. A counter
/// that somehow lost its expiry gets one again rather than living forever.
const HIT_SCRIPT: &str = r#"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  if redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return {-1, redis.call('PTTL', KEYS[1])}
end
count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {count, redis.call('PTTL', KEYS[1])}
"#;

/// Takes back one hit; DECR keeps the key's expiry, so the window stays.
const RELEASE_SCRIPT: &str = r#"
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
"#;

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://host:port/db`
    pub url: String,
    pub pool_size: usize,
    /// Upper bound on any one command, reconnection waits included: with
    /// Redis down, callers get `Unavailable` after this long, not a hang.
    pub command_timeout: Duration,
    /// Prepended to every key, to share one Redis database between
    /// applications (or test runs) without collisions.
    pub key_prefix: String,
}

impl RedisSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 4,
            command_timeout: Duration::from_secs(1),
            key_prefix: String::new(),
        }
    }
}

/// Redis settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RedisConfigError {
    /// `REDIS_URL` is malformed.
    #[error("invalid REDIS_URL")]
    Url(#[source] fred::error::Error),
    /// The pool cannot be built with these settings.
    #[error("invalid Redis settings")]
    Pool(#[source] fred::error::Error),
}

/// Redis through a fred connection pool. It connects in the background and
/// reconnects forever with capped exponential backoff, so the service
/// starts, and keeps serving what does not need the cache, while Redis is
/// unreachable.
#[derive(Clone)]
pub struct RedisCache {
    pool: Pool,
    prefix: String,
}

impl RedisCache {
    /// Fails only on a malformed URL; never waits for the server.
    pub fn connect(settings: &RedisSettings) -> Result<Self, RedisConfigError> {
        let mut config = Config::from_url(&settings.url).map_err(RedisConfigError::Url)?;
        config.fail_fast = false;
        let timeout = settings.command_timeout;
        let pool = Builder::from_config(config)
            .with_connection_config(|connection| {
                connection.connection_timeout = timeout;
                connection.internal_command_timeout = timeout;
                // One attempt: a command resent after a dropped reply could
                // run twice (a second INCR, an empty second GETDEL).
                connection.max_command_attempts = 1;
            })
            .with_performance_config(|performance| {
                performance.default_command_timeout = timeout;
            })
            // Unlimited attempts, 100 ms doubling up to 2 s between them.
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build_pool(settings.pool_size)
            .map_err(RedisConfigError::Pool)?;
        // The returned handles end only when the pool quits.
        let _connection_tasks = pool.connect_pool();
        Ok(Self {
            pool,
            prefix: settings.key_prefix.clone(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn unavailable(err: fred::error::Error) -> DomainError {
    DomainError::unavailable("cache", err)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

#[async_trait]
impl Cache for RedisCache {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), DomainError> {
        self.pool
            .set::<(), _, _>(
                self.key(key),
                value,
                Some(Expiration::PX(millis(ttl))),
                None,
                false,
            )
            .await
            .map_err(unavailable)
    }

    async fn get(&self, key: &str) -> Result<Option<String>, DomainError> {
        self.pool.get(self.key(key)).await.map_err(unavailable)
    }

    async fn take(&self, key: &str) -> Result<Option<String>, DomainError> {
        self.pool.getdel(self.key(key)).await.map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), DomainError> {
        self.pool
            .del::<i64, _>(self.key(key))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<Hit, DomainError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (count, ms_left): (i64, i64) = self
            .pool
            .eval(HIT_SCRIPT, vec![self.key(key)], vec![limit, millis(window)])
            .await
            .map_err(unavailable)?;
        let retry_after = Duration::from_millis(u64::try_from(ms_left).unwrap_or(0));
        Ok(match u64::try_from(count) {
            Ok(count) => Hit::Counted(count),
            Err(_) => Hit::Refused { retry_after },
        })
    }

    async fn release(&self, key: &str) -> Result<(), DomainError> {
        self.pool
            .eval::<i64, _, _, _>(RELEASE_SCRIPT, vec![self.key(key)], Vec::<i64>::new())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), DomainError> {
        self.pool.ping::<()>(None).await.map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// Nothing listens on port 1 of loopback.
    fn unreachable(prefix: &str) -> RedisCache {
        let mut settings = RedisSettings::new("redis://127.0.0.1:1/0");
        settings.command_timeout = Duration::from_millis(200);
        settings.key_prefix = prefix.into();
        RedisCache::connect(&settings).unwrap()
    }

    /// What the rate limits' failing open relies on: with Redis down every
    /// operation answers `Unavailable` within the command timeout.
    #[tokio::test]
    async fn every_operation_on_an_unreachable_redis_is_unavailable_soon() {
        let cache = unreachable("");
        let ttl = Duration::from_secs(60);
        let started = Instant::now();
        let (put, get, take, delete, hit, release, ping) = tokio::join!(
            cache.put("k", "v", ttl),
            cache.get("k"),
            cache.take("k"),
            cache.delete("k"),
            cache.hit("k", 1, ttl),
            cache.release("k"),
            cache.ping(),
        );
        for (operation, outcome) in [
            ("put", put),
            ("get", get.map(drop)),
            ("take", take.map(drop)),
            ("delete", delete),
            ("hit", hit.map(drop)),
            ("release", release),
            ("ping", ping),
        ] {
            assert!(
                matches!(
                    outcome,
                    Err(DomainError::Unavailable {
                        component: "cache",
                        ..
                    })
                ),
                "{operation}: {outcome:?}"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn keys_carry_the_prefix() {
        let cache = unreachable("run-1:");
        assert_eq!(cache.key("todos:otp:code:7"), "run-1:todos:otp:code:7");
    }

    #[test]
    fn expiries_are_whole_milliseconds_and_never_zero() {
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        // Redis refuses `PX 0`: less than a millisecond rounds up to one.
        assert_eq!(millis(Duration::from_micros(10)), 1);
        assert_eq!(millis(Duration::MAX), i64::MAX);
    }
}
