//! Prometheus metrics (README: "Running with metrics"), with
//! prometheus-client: one registry per [`Application`](crate::Application),
//! no global recorder, so that instances in one process (the black-box
//! tests run many) keep their own series.
//!
//! Recording lives here, at the edges: a layer around the API router, a
//! decorator around the cache port, counters in the background mailer,
//! and collectors that read the database pool and the hashing queue at
//! each scrape. The domain crate knows nothing of metrics.

mod cache;
mod http;
#[cfg(target_os = "linux")]
mod process;

use std::{fmt, sync::Arc};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric, prometheus_text},
    metrics::{
        MetricType,
        counter::{ConstCounter, Counter},
        gauge::ConstGauge,
    },
    registry::Registry,
};
use todos_auth::Argon2Hasher;
use todos_persistence::{DatabaseConnection, pool_stats};

pub(crate) use cache::{CacheErrors, MeteredCache};
pub(crate) use http::HttpMetrics;

/// Where Prometheus scrapes, on the metrics listener.
pub const METRICS_PATH: &str = "/metrics";

/// The series of one application, and the registry that serves them.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) http: HttpMetrics,
    pub(crate) cache_errors: CacheErrors,
    pub(crate) mail: MailCounters,
}

impl Metrics {
    /// Registers every series; `pool` and `hasher` are read at each scrape.
    pub(crate) fn new(pool: DatabaseConnection, hasher: Argon2Hasher) -> Self {
        let mut root = Registry::default();
        #[cfg(target_os = "linux")]
        root.register_collector(Box::new(process::ProcessCollector));
        let registry = root.sub_registry_with_prefix("todos");
        let http = HttpMetrics::register(registry);
        let cache_errors = CacheErrors::register(registry);
        let mail = MailCounters::register(registry);
        registry.register_collector(Box::new(PoolCollector(pool)));
        registry.register_collector(Box::new(HashingCollector(hasher)));
        Self {
            registry: root,
            http,
            cache_errors,
            mail,
        }
    }

    /// `GET /metrics` in the Prometheus text format, for the metrics
    /// listener (never the API's).
    pub(crate) fn into_router(self) -> Router {
        Router::new()
            .route(METRICS_PATH, get(scrape))
            .with_state(Arc::new(self.registry))
    }
}

async fn scrape(State(registry): State<Arc<Registry>>) -> Response {
    // The collectors read files under /proc: off the async threads.
    let encoded = tokio::task::spawn_blocking(move || {
        let mut body = String::with_capacity(16 * 1024);
        prometheus_text::encode(&mut body, &registry).map(|()| body)
    })
    .await;
    match encoded {
        Ok(Ok(body)) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Ok(Err(_)) | Err(_) => {
            tracing::error!("cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Emails by what became of them. One count per message and transport:
/// `queued` when accepted, then `sent` or `failed` (after the retries)
/// once; queued minus sent minus failed is what is still on its way.
/// Unregistered (the [`Default`]), they count for no one.
#[derive(Clone, Debug, Default)]
pub(crate) struct MailCounters {
    pub(crate) queued: Counter,
    pub(crate) sent: Counter,
    pub(crate) failed: Counter,
}

impl MailCounters {
    fn register(registry: &mut Registry) -> Self {
        let counters = Self::default();
        for (name, help, counter) in [
            (
                "emails_queued",
                "Emails accepted for delivery, one per transport",
                &counters.queued,
            ),
            ("emails_sent", "Emails a transport took", &counters.sent),
            (
                "emails_failed",
                "Emails given up on after their retries",
                &counters.failed,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        counters
    }
}

/// The database pool that serves requests, read at each scrape.
#[derive(Debug)]
struct PoolCollector(DatabaseConnection);

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let Some(stats) = pool_stats(&self.0) else {
            return Ok(());
        };
        let mut connections = encoder.encode_descriptor(
            "db_pool_connections",
            "Connections of the database pool, by state: in_use (lent to a query) or idle.",
            None,
            MetricType::Gauge,
        )?;
        for (state, value) in [("in_use", stats.in_use), ("idle", stats.idle)] {
            ConstGauge::new(value).encode(connections.encode_family(&[("state", state)])?)?;
        }
        write_one(
            &mut encoder,
            "db_pool_max_connections",
            "The most connections the database pool opens.",
            ConstGauge::new(stats.max),
        )
    }
}

/// The password hashing queue, read at each scrape.
#[derive(Debug)]
struct HashingCollector(Argon2Hasher);

impl Collector for HashingCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let hasher = &self.0;
        write_one(
            &mut encoder,
            "password_hashes_waiting",
            "Password hashes and checks admitted and waiting for a hashing thread.",
            ConstGauge::new(hasher.waiting()),
        )?;
        write_one(
            &mut encoder,
            "password_hashes_running",
            "Password hashes and checks on a hashing thread now.",
            ConstGauge::new(hasher.running()),
        )?;
        write_one(
            &mut encoder,
            "password_hashes_refused",
            "Password hashes and checks refused (503) because the queue was full.",
            ConstCounter::new(hasher.refused()),
        )
    }
}

/// Writes `metric`, with no labels, as `name`. `help` ends with its full
/// stop: for collectors the encoder does not add one, as it does for
/// registered metrics. A counter's name gets `_total` from the encoder.
fn write_one(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: impl EncodeMetric,
) -> Result<(), fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}
