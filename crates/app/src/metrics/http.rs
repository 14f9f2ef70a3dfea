//! Requests by method, route template and status, and their duration: a
//! tower layer put around every route (and the fallback) of the API router.
//!
//! The route label is axum's `MatchedPath` (`/todos/{id}`, never
//! `/todos/42`), so the number of series stays bounded whatever clients
//! send; requests no route matched share the label `unmatched`.

use std::{
    hash::{Hash, Hasher},
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request},
    http::Method,
    response::Response,
};
use pin_project_lite::pin_project;
use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder},
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};
use todos_http::UNMATCHED_ROUTE as UNMATCHED;
use tower::{Layer, Service};

/// Upper bounds of the duration buckets, in seconds: 0.5 ms to 5 s, so
/// that fast reads (under a millisecond) and slow writes both resolve.
const BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The request series, cheap to clone (handles to shared families).
#[derive(Clone, Debug)]
pub(crate) struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl HttpMetrics {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let durations: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(BUCKETS));
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its response head, by method and route template",
            durations.clone(),
        );
        Self {
            requests,
            durations,
        }
    }

    /// Per request: two look-ups under a read lock, no allocation once a
    /// label set has been seen (its route is an `Arc` shared with axum).
    fn observe(&self, route: RouteLabels, status: u16, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        self.durations.get_or_create(&route).observe(seconds);
        let RouteLabels { method, route } = route;
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }
}

impl<S> Layer<S> for HttpMetrics {
    type Service = Recorded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Recorded {
            inner,
            metrics: self.clone(),
        }
    }
}

/// A route's service, recording each of its requests.
#[derive(Clone)]
pub(crate) struct Recorded<S> {
    inner: S,
    metrics: HttpMetrics,
}

impl<S> Service<Request> for Recorded<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Recording<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let labels = RouteLabels {
            method: MethodLabel::of(request.method()),
            route: RouteLabel(request.extensions().get::<MatchedPath>().cloned()),
        };
        Recording {
            inner: self.inner.call(request),
            record: Some((self.metrics.clone(), labels, Instant::now())),
        }
    }
}

pin_project! {
    /// The inner response future; records once, when it is ready.
    pub(crate) struct Recording<F> {
        #[pin]
        inner: F,
        record: Option<(HttpMetrics, RouteLabels, Instant)>,
    }
}

impl<F, E> Future for Recording<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some((metrics, labels, started))) = (&output, this.record.take()) {
            metrics.observe(labels, response.status().as_u16(), started);
        }
        Poll::Ready(output)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: MethodLabel,
    route: RouteLabel,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: MethodLabel,
    route: RouteLabel,
}

/// The standard methods by name; any other shares `OTHER`, so that made-up
/// methods cannot add series.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct MethodLabel(&'static str);

impl MethodLabel {
    fn of(method: &Method) -> Self {
        Self(match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            _ => "OTHER",
        })
    }
}

impl EncodeLabelValue for MethodLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }
}

/// The matched route's template, or none.
#[derive(Clone, Debug)]
struct RouteLabel(Option<MatchedPath>);

impl RouteLabel {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or(UNMATCHED, MatchedPath::as_str)
    }
}

impl PartialEq for RouteLabel {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RouteLabel {}

impl Hash for RouteLabel {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        self.as_str().encode(encoder)
    }
}
