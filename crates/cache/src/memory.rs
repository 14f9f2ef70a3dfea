use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::{Expiry, future::Cache as MokaCache, ops::compute::Op};
use todos_domain::{Cache, DomainError, Hit};

/// Entries past this many are evicted (least recently used first), so a
/// flood of keys cannot exhaust memory.
const MAX_ENTRIES: u64 = 1_000_000;

#[derive(Clone, Debug)]
enum Value {
    Text(String),
    Counter(u64),
}

#[derive(Clone, Debug)]
struct Slot {
    value: Value,
    expires_at: Instant,
}

/// Each slot carries its own deadline; moka evicts it then.
struct SlotExpiry;

impl Expiry<String, Slot> for SlotExpiry {
    fn expire_after_create(&self, _: &String, slot: &Slot, now: Instant) -> Option<Duration> {
        Some(slot.expires_at.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &String,
        slot: &Slot,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(slot.expires_at.saturating_duration_since(now))
    }
}

/// The cache inside this process (moka), with per-key expiry. State is lost
/// on restart and not shared between instances: use Redis for that.
#[derive(Clone)]
pub struct MemoryCache {
    inner: MokaCache<String, Slot>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self {
            inner: MokaCache::builder()
                .max_capacity(MAX_ENTRIES)
                .expire_after(SlotExpiry)
                .build(),
        }
    }
}

/// moka may hand back an entry in the instant between its deadline and its
/// eviction; treat it as gone.
fn live(slot: Slot) -> Option<Slot> {
    (slot.expires_at > Instant::now()).then_some(slot)
}

fn text(slot: Option<Slot>) -> Option<String> {
    match slot.and_then(live)?.value {
        Value::Text(text) => Some(text),
        Value::Counter(n) => Some(n.to_string()),
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), DomainError> {
        let slot = Slot {
            value: Value::Text(value.to_owned()),
            expires_at: Instant::now() + ttl,
        };
        self.inner.insert(key.to_owned(), slot).await;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<String>, DomainError> {
        Ok(text(self.inner.get(key).await))
    }

    async fn take(&self, key: &str) -> Result<Option<String>, DomainError> {
        Ok(text(self.inner.remove(key).await))
    }

    async fn delete(&self, key: &str) -> Result<(), DomainError> {
        self.inner.invalidate(key).await;
        Ok(())
    }

    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<Hit, DomainError> {
        let mut outcome = Hit::Counted(1);
        // and_compute_with runs exclusively per key: the read-modify-write is atomic.
        self.inner
            .entry_by_ref(key)
            .and_compute_with(|current| {
                let now = Instant::now();
                let current = current.map(|entry| entry.into_value()).and_then(live);
                let op = match current {
                    Some(Slot {
                        value: Value::Counter(n),
                        expires_at,
                    }) if n >= limit => {
                        outcome = Hit::Refused {
                            retry_after: expires_at.saturating_duration_since(now),
                        };
                        Op::Nop
                    }
                    Some(Slot {
                        value: Value::Counter(n),
                        expires_at,
                    }) => {
                        outcome = Hit::Counted(n + 1);
                        Op::Put(Slot {
                            value: Value::Counter(n + 1),
                            expires_at,
                        })
                    }
                    // Absent, expired, or not a counter: a fresh window.
                    _ if limit == 0 => {
                        outcome = Hit::Refused {
                            retry_after: window,
                        };
                        Op::Nop
                    }
                    _ => Op::Put(Slot {
                        value: Value::Counter(1),
                        expires_at: now + window,
                    }),
                };
                std::future::ready(op)
            })
            .await;
        Ok(outcome)
    }

    async fn release(&self, key: &str) -> Result<(), DomainError> {
        self.inner
            .entry_by_ref(key)
            .and_compute_with(|current| {
                let op = match current.map(|entry| entry.into_value()).and_then(live) {
                    Some(Slot {
                        value: Value::Counter(n),
                        expires_at,
                    }) if n > 0 => Op::Put(Slot {
                        value: Value::Counter(n - 1),
                        expires_at,
                    }),
                    _ => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
        Ok(())
    }

    async fn ping(&self) -> Result<(), DomainError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// moka itself sees entries expire, and so evicts them, rather than
    /// only our reads hiding them: a flood of short-lived codes and
    /// counters must not pile up until the capacity bound.
    #[tokio::test]
    async fn entries_expire_in_moka_too() {
        let cache = MemoryCache::default();
        let ttl = Duration::from_millis(100);
        cache.put("created", "x", ttl).await.unwrap();
        cache
            .put("updated", "x", Duration::from_secs(60))
            .await
            .unwrap();
        cache.put("updated", "y", ttl).await.unwrap();
        let keys = ["created", "updated"];
        assert!(keys.iter().all(|key| cache.inner.contains_key(*key)));

        tokio::time::sleep(Duration::from_millis(200)).await;
        for key in keys {
            assert!(!cache.inner.contains_key(key), "{key}");
        }
    }
}
