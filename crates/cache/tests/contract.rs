//! One behavioural contract for every `Cache` adapter: it runs against the
//! in-process cache always, and against a real Redis when `REDIS_URL` is set
//! (`.ci/run` starts a `redis-server` for it).

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use todos_cache::{MemoryCache, RedisCache, RedisSettings};
use todos_domain::{Cache, Hit};

/// Keys unique to this run, so runs sharing a Redis do not collide.
fn namespace(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("contract:{}:{nanos}:{test}", std::process::id())
}

async fn values_put_get_take_delete(cache: Arc<dyn Cache>) {
    let key = namespace("values");
    assert_eq!(cache.get(&key).await.unwrap(), None);
    cache
        .put(&key, "one", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.get(&key).await.unwrap().as_deref(), Some("one"));
    cache
        .put(&key, "two", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        cache.get(&key).await.unwrap().as_deref(),
        Some("two"),
        "put replaces"
    );

    assert_eq!(cache.take(&key).await.unwrap().as_deref(), Some("two"));
    assert_eq!(cache.take(&key).await.unwrap(), None, "take removes");
    assert_eq!(cache.get(&key).await.unwrap(), None);

    cache
        .put(&key, "three", Duration::from_secs(60))
        .await
        .unwrap();
    cache.delete(&key).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), None);
    cache.delete(&key).await.unwrap();
}

async fn values_expire(cache: Arc<dyn Cache>) {
    let key = namespace("expire");
    cache
        .put(&key, "soon gone", Duration::from_millis(300))
        .await
        .unwrap();
    assert!(cache.get(&key).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(cache.get(&key).await.unwrap(), None);
    assert_eq!(cache.take(&key).await.unwrap(), None);
}

async fn hits_count_to_the_limit_then_refuse_until_the_window_ends(cache: Arc<dyn Cache>) {
    let key = namespace("hits");
    let window = Duration::from_millis(800);
    for n in 1..=3 {
        assert_eq!(cache.hit(&key, 3, window).await.unwrap(), Hit::Counted(n));
    }
    // Refusals late in the window must not extend it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        match cache.hit(&key, 3, window).await.unwrap() {
            Hit::Refused { retry_after } => {
                assert!(
                    retry_after <= Duration::from_millis(300) && retry_after > Duration::ZERO,
                    "{retry_after:?}"
                )
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // 900 ms after the first hit, 400 ms after the refusals: a new window.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.hit(&key, 3, window).await.unwrap(), Hit::Counted(1));
}

async fn a_limit_of_zero_refuses_every_hit(cache: Arc<dyn Cache>) {
    let key = namespace("zero");
    for _ in 0..2 {
        assert!(matches!(
            cache.hit(&key, 0, Duration::from_secs(60)).await.unwrap(),
            Hit::Refused { .. }
        ));
    }
}

async fn concurrent_hits_never_exceed_the_limit(cache: Arc<dyn Cache>) {
    let key = namespace("racing-hits");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (cache, key) = (Arc::clone(&cache), key.clone());
        tasks.spawn(async move { cache.hit(&key, 5, Duration::from_secs(60)).await.unwrap() });
    }
    let outcomes = tasks.join_all().await;
    let counted: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| match o {
            Hit::Counted(n) => Some(*n),
            Hit::Refused { .. } => None,
        })
        .collect();
    let mut sorted = counted.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![1, 2, 3, 4, 5], "{outcomes:?}");
}

async fn a_release_gives_back_one_hit_and_keeps_the_window(cache: Arc<dyn Cache>) {
    let key = namespace("release");
    let window = Duration::from_millis(800);
    cache.release(&key).await.unwrap();
    assert_eq!(
        cache.hit(&key, 2, window).await.unwrap(),
        Hit::Counted(1),
        "releasing an absent counter leaves nothing behind"
    );
    assert_eq!(cache.hit(&key, 2, window).await.unwrap(), Hit::Counted(2));
    cache.release(&key).await.unwrap();
    assert_eq!(cache.hit(&key, 2, window).await.unwrap(), Hit::Counted(2));
    assert!(matches!(
        cache.hit(&key, 2, window).await.unwrap(),
        Hit::Refused { .. }
    ));
    for _ in 0..3 {
        cache.release(&key).await.unwrap();
    }
    assert_eq!(
        cache.hit(&key, 2, window).await.unwrap(),
        Hit::Counted(1),
        "never below zero"
    );
    // The window still ends 800 ms after the first hit, not after the release.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(cache.hit(&key, 1, window).await.unwrap(), Hit::Counted(1));
    assert!(matches!(
        cache.hit(&key, 1, window).await.unwrap(),
        Hit::Refused { .. }
    ));
}

async fn concurrent_reservations_and_releases_stay_within_the_limit(cache: Arc<dyn Cache>) {
    let key = namespace("reserve-release");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (cache, key) = (Arc::clone(&cache), key.clone());
        tasks.spawn(async move {
            let hit = cache.hit(&key, 3, Duration::from_secs(60)).await.unwrap();
            if matches!(hit, Hit::Counted(_)) {
                cache.release(&key).await.unwrap();
            }
            hit
        });
    }
    let outcomes = tasks.join_all().await;
    assert!(
        outcomes
            .iter()
            .all(|o| !matches!(o, Hit::Counted(n) if *n > 3)),
        "{outcomes:?}"
    );
    // Every reservation was released: a full window is free again.
    for n in 1..=3 {
        assert_eq!(
            cache.hit(&key, 3, Duration::from_secs(60)).await.unwrap(),
            Hit::Counted(n)
        );
    }
}

async fn concurrent_takes_give_the_value_once(cache: Arc<dyn Cache>) {
    let key = namespace("racing-takes");
    cache
        .put(&key, "only once", Duration::from_secs(60))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (cache, key) = (Arc::clone(&cache), key.clone());
        tasks.spawn(async move { cache.take(&key).await.unwrap() });
    }
    let winners = tasks.join_all().await.into_iter().flatten().count();
    assert_eq!(winners, 1);
}

async fn keys_are_independent(cache: Arc<dyn Cache>) {
    let (a, b) = (namespace("a"), namespace("b"));
    cache.put(&a, "A", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get(&b).await.unwrap(), None);
    assert_eq!(
        cache.hit(&b, 1, Duration::from_secs(60)).await.unwrap(),
        Hit::Counted(1)
    );
    assert!(matches!(
        cache.hit(&b, 1, Duration::from_secs(60)).await.unwrap(),
        Hit::Refused { .. }
    ));
    assert_eq!(
        cache
            .hit(&a.replace(":a", ":c"), 1, Duration::from_secs(60))
            .await
            .unwrap(),
        Hit::Counted(1)
    );
    cache.ping().await.unwrap();
}

/// Every contract case, against one adapter.
async fn contract(cache: Arc<dyn Cache>) {
    values_put_get_take_delete(Arc::clone(&cache)).await;
    values_expire(Arc::clone(&cache)).await;
    hits_count_to_the_limit_then_refuse_until_the_window_ends(Arc::clone(&cache)).await;
    a_limit_of_zero_refuses_every_hit(Arc::clone(&cache)).await;
    concurrent_hits_never_exceed_the_limit(Arc::clone(&cache)).await;
    a_release_gives_back_one_hit_and_keeps_the_window(Arc::clone(&cache)).await;
    concurrent_reservations_and_releases_stay_within_the_limit(Arc::clone(&cache)).await;
    concurrent_takes_give_the_value_once(Arc::clone(&cache)).await;
    keys_are_independent(cache).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_cache_keeps_the_contract() {
    contract(Arc::new(MemoryCache::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cache_keeps_the_contract() {
    let Ok(url) = std::env::var("REDIS_URL") else {
        eprintln!("REDIS_URL is not set: the Redis half of the cache contract did not run");
        return;
    };
    let cache = RedisCache::connect(&RedisSettings::new(url)).unwrap();
    contract(Arc::new(cache)).await;
}
