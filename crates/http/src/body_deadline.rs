//! One deadline for the whole request body, counted from when the request
//! reached the router (right after its head was read). A total, not a
//! per-read timeout: a client dripping a byte just inside a per-read limit
//! would otherwise hold the request open for ever.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    BoxError,
    body::{Body, Bytes, HttpBody},
    extract::Request,
};
use http_body::{Frame, SizeHint};
use tokio::time::{Sleep, sleep};
use tower::util::MapRequestLayer;

/// Reading the body failed because it was not complete in time.
#[derive(Debug)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body not received in time")
    }
}

impl std::error::Error for BodyTimeout {}

impl BodyTimeout {
    /// Whether `err` or one of its causes is a [`BodyTimeout`]; extractors
    /// see it wrapped in their own rejection types.
    pub fn caused(err: &(dyn std::error::Error + 'static)) -> bool {
        std::iter::successors(Some(err), |e| e.source()).any(|e| e.is::<Self>())
    }
}

/// Gives every request body `timeout` to arrive in full.
pub fn layer(timeout: Duration) -> MapRequestLayer<impl Fn(Request) -> Request + Clone> {
    MapRequestLayer::new(move |request: Request| {
        request.map(|body| {
            // Bodiless requests (most GETs) need no timer.
            if body.is_end_stream() {
                body
            } else {
                Body::new(DeadlineBody::new(body, timeout))
            }
        })
    })
}

struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Body, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(sleep(timeout)),
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        // Data already there wins: a handler that is slow to read must not
        // turn the client's timely body into a timeout.
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        match this.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
