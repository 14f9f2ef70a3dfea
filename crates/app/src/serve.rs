//! The HTTP/1 server: hyper's connection builder behind our own accept
//! loop, so that what one client can hold is bounded (README: Connections
//! and limits). At most `max_connections` are open, the rest wait in the
//! listen backlog; a request head must arrive within `head_timeout` and fit
//! in `max_head_bytes` (else 431); a connection with no traffic for
//! `idle_timeout` is closed.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::{Pin, pin},
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo, http::Request};
use hyper::{
    body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::{
    rt::TokioIo,
    server::graceful::{GracefulShutdown, Watcher},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpSocket, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::ConnectionLimits;

/// Pause after a failed `accept()`: errors such as EMFILE last while the
/// process is at its limit, and retrying at once would spin a core.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// At most one log line per this interval for failed accepts.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(1);
/// Clients beyond the connection cap wait here; std and tokio ask for 128,
/// and SYNs beyond the backlog are dropped, costing clients a 1 s retry.
const LISTEN_BACKLOG: u32 = 1024;

/// Binds `addr` with a listen backlog of [`LISTEN_BACKLOG`] (the kernel may
/// lower it to `net.core.somaxconn`).
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As std and tokio do: a restarted server can bind at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `router` on `listener` until `stop` completes; then stops
/// accepting, closes connections that have no request in progress, and
/// returns once the requests in progress have been answered.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let stopping = CancellationToken::new();
    let mut accept_errors = AcceptErrors::default();
    let mut stop = pin!(stop);
    loop {
        let (permit, accepted) = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(serve_connection(
                    stream,
                    peer,
                    router.clone(),
                    limits,
                    graceful.watcher(),
                    stopping.clone(),
                    permit,
                ));
            }
            Err(err) => accept_errors.pause(err).await,
        }
    }
    drop(listener);
    stopping.cancel();
    graceful.shutdown().await;
}

/// The permit comes first: at the cap, clients wait in the listen backlog
/// rather than being accepted and then dropped.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> (OwnedSemaphorePermit, io::Result<(TcpStream, SocketAddr)>) {
    let permit = Arc::clone(permits)
        .acquire_owned()
        .await
        .expect("the connection semaphore is never closed");
    (permit, listener.accept().await)
}

#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    async fn pause(&mut self, err: io::Error) {
        // The client gave up before we took the connection: nothing to fix.
        if matches!(
            err.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionRefused
        ) {
            return;
        }
        let now = Instant::now();
        if self
            .last_logged
            .is_none_or(|at| now - at >= ACCEPT_ERROR_LOG_INTERVAL)
        {
            tracing::error!(error = %err, suppressed = self.suppressed, "accept failed");
            self.last_logged = Some(now);
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    watcher: Watcher,
    stopping: CancellationToken,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Metered {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            // What `into_make_service_with_connect_info` gave handlers.
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_progress = InProgress::start(&activity);
            let router = router.clone();
            async move {
                let Ok(response) = router.oneshot(request).await;
                Ok::<_, Infallible>(response.map(|body| TrackedBody {
                    inner: body,
                    _in_progress: in_progress,
                }))
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(true)
        .max_buf_size(limits.max_head_bytes)
        // The watchdog times heads. hyper's own timer would also start
        // right after each response and so close idle keep-alive
        // connections after the head timeout instead of the idle one.
        .header_read_timeout(Option::<Duration>::None);
    let connection = watcher.watch(builder.serve_connection(io, service));
    tokio::select! {
        result = connection => {
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        }
        reason = activity.watchdog(limits, &stopping) => {
            tracing::debug!(%peer, reason, "connection closed");
        }
    }
}

/// What the watchdog knows of one connection.
struct Activity {
    state: Mutex<State>,
    /// A deadline moved earlier: a head began arriving.
    head_started: Notify,
}

struct State {
    /// When the awaited head began: at acceptance for the first request, at
    /// its first byte for later ones; `None` while a request is in progress
    /// or the connection waits idle for the next one.
    head_since: Option<Instant>,
    in_progress: bool,
    last_io: Instant,
}

impl Activity {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                head_since: Some(now),
                in_progress: false,
                last_io: now,
            }),
            head_started: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn on_read(&self, bytes: usize) {
        let now = Instant::now();
        let mut state = self.state();
        state.last_io = now;
        if bytes > 0 && !state.in_progress && state.head_since.is_none() {
            state.head_since = Some(now);
            drop(state);
            self.head_started.notify_one();
        }
    }

    fn on_write(&self) {
        self.state().last_io = Instant::now();
    }

    /// Resolves with the reason once the connection must be closed.
    async fn watchdog(
        &self,
        limits: ConnectionLimits,
        stopping: &CancellationToken,
    ) -> &'static str {
        let mut stop_seen = false;
        loop {
            let (deadline, reason) = {
                let state = self.state();
                if stop_seen && !state.in_progress {
                    return "shutting down";
                }
                let idle = (state.last_io + limits.idle_timeout, "idle timeout");
                match state.head_since {
                    Some(since) => idle.min((since + limits.head_timeout, "head timeout")),
                    None => idle,
                }
            };
            if deadline <= Instant::now() {
                return reason;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = self.head_started.notified() => {}
                // A request in progress is left to finish: hyper closes the
                // connection after its response.
                () = stopping.cancelled(), if !stop_seen => stop_seen = true,
            }
        }
    }
}

/// Marks a request in progress, from its head until hyper drops the
/// response body (written, or the connection failed).
struct InProgress(Arc<Activity>);

impl InProgress {
    fn start(activity: &Arc<Activity>) -> Self {
        let mut state = activity.state();
        state.in_progress = true;
        state.head_since = None;
        drop(state);
        Self(Arc::clone(activity))
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_progress = false;
        state.last_io = Instant::now();
    }
}

struct TrackedBody {
    inner: Body,
    _in_progress: InProgress,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, telling [`Activity`] about every read and write.
struct Metered {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Metered {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            this.activity.on_read(buf.filled().len() - before);
        }
        poll
    }
}

impl Metered {
    fn note_write(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(_)) = poll {
            self.activity.on_write();
        }
        poll
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.note_write(poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.note_write(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Raises the soft open-file limit to the hard one where the system allows:
/// every connection is a descriptor, and soft limits (often 1,024) sit
/// below the connection cap.
#[cfg(unix)]
pub fn raise_open_file_limit(max_connections: usize) {
    use rlimit::Resource;
    let before = match Resource::NOFILE.get() {
        Ok((soft, _)) => soft,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the open-file limit");
            return;
        }
    };
    let now = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(now) if now > before => {
            tracing::info!(from = before, to = now, "raised the open-file limit");
            now
        }
        Ok(now) => {
            tracing::info!(limit = now, "open-file limit already as high as allowed");
            now
        }
        Err(err) => {
            tracing::warn!(error = %err, limit = before, "cannot raise the open-file limit");
            before
        }
    };
    // Headroom for the listener, the database pool, logs and mail.
    let needed = max_connections as u64 + 64;
    if now < needed {
        tracing::warn!(
            limit = now,
            max_connections,
            "the open-file limit is below the connection cap: accepts will fail when it is reached"
        );
    }
}

/// Off Unix there is no RLIMIT_NOFILE to raise.
#[cfg(not(unix))]
pub fn raise_open_file_limit(_max_connections: usize) {}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn handlers_see_the_peer_address() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router,
            ConnectionLimits::default(),
            async move {
                let _ = stopped.await;
            },
        ));

        let mut client = TcpStream::connect(addr).await.unwrap();
        let me = client.local_addr().unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        client.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with(&format!("\r\n\r\n{me}")), "{response}");

        stop.send(()).unwrap();
        server.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn failed_accepts_pause_and_are_logged_at_most_once_a_second() {
        let mut errors = AcceptErrors::default();
        let start = Instant::now();
        errors.pause(io::ErrorKind::ConnectionAborted.into()).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "a client that gave up");

        for _ in 0..40 {
            errors.pause(io::Error::other("too many open files")).await;
        }
        assert_eq!(start.elapsed(), ACCEPT_ERROR_PAUSE * 40);
        // Logged at 0 s and at 1 s; the 19 since then are only counted.
        assert_eq!(errors.suppressed, 19);
    }
}
