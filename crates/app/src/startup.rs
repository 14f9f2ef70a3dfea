use std::{future::Future, io, net::SocketAddr, time::Duration};

use axum::Router;
use todos_auth::Argon2Hasher;
use todos_persistence::{DatabaseConnection, DatabaseSettings, Store};
use tokio::net::TcpListener;

use crate::{
    Settings, background::BackgroundTasks, config::ConnectionLimits, metrics::Metrics, serve,
    sweep, wiring,
};

/// How long in-flight requests get to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long queued background work (email) gets after the server stopped.
const BACKGROUND_GRACE: Duration = Duration::from_secs(10);
/// Connections the metrics listener takes at once: a few scrapers, nothing
/// like the API.
const METRICS_CONNECTIONS: usize = 32;

/// A wired, bound, not yet serving application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    connections: ConnectionLimits,
    store: Store,
    tasks: BackgroundTasks,
    purges: tokio::task::JoinHandle<()>,
    /// `GET /metrics` on a listener of its own (`TODOS_METRICS_ADDR`).
    metrics: Option<(TcpListener, Router)>,
}

impl Application {
    /// Opens and migrates the database, wires the ports, binds the address.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = Store::open(&settings.database).await?;
        let tasks = BackgroundTasks::default();
        let hasher = Argon2Hasher::default();
        let metrics = settings
            .metrics_addr
            .map(|_| Metrics::new(store.reads.clone(), hasher.clone()));
        let state = wiring::app_state(&settings, &store, &tasks, hasher, metrics.as_ref())?;
        let purges = sweep::spawn(state.sessions.clone(), state.todos.clone(), sweep::EVERY);
        let mut router = todos_http::router(state);
        if let Some(metrics) = &metrics {
            // Around each route and the fallback, outside every other
            // layer: refusals (503, 413, …) are counted too.
            router = router.layer(metrics.http.clone());
        }
        let listener = serve::bind(settings.addr)?;
        let metrics = match (settings.metrics_addr, metrics) {
            (Some(addr), Some(metrics)) => Some((serve::bind(addr)?, metrics.into_router())),
            _ => None,
        };
        Ok(Self {
            listener,
            router,
            connections: settings.connections,
            store,
            tasks,
            purges,
            metrics,
        })
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound metrics address, when metrics are on.
    pub fn metrics_addr(&self) -> io::Result<Option<SocketAddr>> {
        self.metrics
            .as_ref()
            .map(|(listener, _)| listener.local_addr())
            .transpose()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets
    /// in-flight requests finish, then queued background tasks (each
    /// bounded by a grace period), and closes the database pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = serve::serve(self.listener, self.router, self.connections, async move {
            let _ = stop_rx.await;
        });
        let mut server = tokio::spawn(server);
        // Stopped after the API: the last requests still count.
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_server = self.metrics.map(|(listener, router)| {
            let limits = ConnectionLimits {
                max_connections: METRICS_CONNECTIONS,
                ..ConnectionLimits::default()
            };
            tokio::spawn(serve::serve(listener, router, limits, async {
                let _ = metrics_stopped.await;
            }))
        });
        tokio::select! {
            finished = &mut server => return Ok(finished?),
            () = shutdown => {}
        }
        tracing::info!("stop signal received, finishing in-flight requests");
        let _ = stop_tx.send(());
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
            Ok(finished) => finished?,
            Err(_) => {
                tracing::warn!(?SHUTDOWN_GRACE, "in-flight requests did not finish in time");
                server.abort();
            }
        }
        let _ = stop_metrics.send(());
        if let Some(metrics_server) = metrics_server {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, metrics_server).await;
        }
        self.purges.abort();
        let unfinished = self.tasks.drain(BACKGROUND_GRACE).await;
        if unfinished > 0 {
            tracing::warn!(
                unfinished,
                "background tasks still running at exit were dropped"
            );
        }
        self.store.close().await?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// `todos migrate`: applies pending migrations (also upgrading the old
/// service's schema) and closes the connection.
pub async fn migrate(settings: &DatabaseSettings) -> anyhow::Result<()> {
    open_database(settings).await?.close().await?;
    Ok(())
}

/// Connects and applies pending migrations, as `todos serve` does on start.
pub(crate) async fn open_database(
    settings: &DatabaseSettings,
) -> anyhow::Result<DatabaseConnection> {
    Ok(todos_persistence::connect_migrated(settings).await?)
}
