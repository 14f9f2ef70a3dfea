//! Work that runs after the response is sent: today, email delivery.
//! Tasks are tracked so that shutdown can wait for them (bounded).

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use todos_domain::{DomainError, Email, Mailer};
use tokio_util::task::TaskTracker;

use crate::metrics::MailCounters;

/// Delivery attempts per message and transport, the first included.
const MAX_ATTEMPTS: u32 = 4;
/// Backoff before retry n is `FIRST_BACKOFF * 2^(n-1)`: 0.25 s, 0.5 s, 1 s.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Delivery starts this long after a message is queued, so the response
/// that queued it goes out first: rendering and writing an email must not
/// share the CPU with it, or its timing would tell whether an email was
/// sent (say, whether a forgot-password address has an account).
const DELIVERY_DELAY: Duration = Duration::from_millis(10);

/// The set of running background tasks.
#[derive(Clone, Default)]
pub struct BackgroundTasks {
    tracker: TaskTracker,
}

impl BackgroundTasks {
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(task);
    }

    /// Accepts no more tasks and waits up to `grace` for the running ones.
    /// Returns how many were still running when the grace ran out.
    pub async fn drain(&self, grace: Duration) -> usize {
        self.tracker.close();
        match tokio::time::timeout(grace, self.tracker.wait()).await {
            Ok(()) => 0,
            Err(_) => self.tracker.len(),
        }
    }
}

/// The [`Mailer`] the use cases see: it accepts a message at once and
/// delivers it through every configured transport in the background,
/// retrying transient failures with exponential backoff.
pub struct QueuedMailer {
    transports: Vec<Arc<dyn Mailer>>,
    tasks: BackgroundTasks,
    counters: MailCounters,
}

impl QueuedMailer {
    pub fn new(transports: Vec<Arc<dyn Mailer>>, tasks: BackgroundTasks) -> Self {
        Self {
            transports,
            tasks,
            counters: MailCounters::default(),
        }
    }

    /// Counts what becomes of each message in `counters` (the metrics).
    pub(crate) fn with_counters(self, counters: MailCounters) -> Self {
        Self { counters, ..self }
    }
}

#[async_trait]
impl Mailer for QueuedMailer {
    async fn send(&self, email: Email) -> Result<(), DomainError> {
        if self.tasks.tracker.is_closed() {
            return Err(DomainError::unavailable(
                "mail",
                "the service is shutting down",
            ));
        }
        for transport in &self.transports {
            let (transport, email) = (Arc::clone(transport), email.clone());
            self.counters.queued.inc();
            self.tasks
                .spawn(deliver(transport, email, self.counters.clone()));
        }
        Ok(())
    }
}

async fn deliver(transport: Arc<dyn Mailer>, email: Email, counters: MailCounters) {
    tokio::time::sleep(DELIVERY_DELAY).await;
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=MAX_ATTEMPTS {
        match transport.send(email.clone()).await {
            Ok(()) => {
                counters.sent.inc();
                return;
            }
            Err(DomainError::Unavailable { source, .. }) if attempt < MAX_ATTEMPTS => {
                tracing::warn!(to = %email.to, attempt, error = %source, retry_in = ?backoff, "email delivery failed, will retry");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(err) => {
                tracing::error!(to = %email.to, attempt, error = %err, "email delivery failed, giving up");
                counters.failed.inc();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use todos_domain::{EmailAddress, Message, MockMailer};

    use super::*;

    fn email() -> Email {
        Email {
            to: EmailAddress::parse("ann@example.com").unwrap(),
            message: Message::Text {
                subject: "s".into(),
                body: "b".into(),
            },
        }
    }

    /// A transport that fails with `error` for the first `failures` calls.
    fn flaky(failures: u32, calls: Arc<AtomicU32>, transient: bool) -> Arc<dyn Mailer> {
        let mut mock = MockMailer::new();
        mock.expect_send().returning(move |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if n < failures {
                Err(if transient {
                    DomainError::unavailable("mail", "connection refused")
                } else {
                    DomainError::unexpected("550 mailbox unavailable")
                })
            } else {
                Ok(())
            }
        });
        Arc::new(mock)
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_backoff_until_delivered() {
        let calls = Arc::new(AtomicU32::new(0));
        let tasks = BackgroundTasks::default();
        let mailer = QueuedMailer::new(vec![flaky(2, calls.clone(), true)], tasks.clone());

        mailer.send(email()).await.unwrap();
        let started = tokio::time::Instant::now();
        assert_eq!(tasks.drain(Duration::from_secs(60)).await, 0);

        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // The delivery delay, then 0.25 s + 0.5 s of backoff (virtual time).
        assert_eq!(
            started.elapsed(),
            DELIVERY_DELAY + Duration::from_millis(750)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_and_exhausted_retries_stop() {
        let permanent = Arc::new(AtomicU32::new(0));
        let endless = Arc::new(AtomicU32::new(0));
        let tasks = BackgroundTasks::default();
        let mailer = QueuedMailer::new(
            vec![
                flaky(u32::MAX, permanent.clone(), false),
                flaky(u32::MAX, endless.clone(), true),
            ],
            tasks.clone(),
        );

        mailer.send(email()).await.unwrap();
        assert_eq!(tasks.drain(Duration::from_secs(60)).await, 0);

        assert_eq!(permanent.load(Ordering::SeqCst), 1);
        assert_eq!(endless.load(Ordering::SeqCst), MAX_ATTEMPTS);
    }

    #[tokio::test(start_paused = true)]
    async fn each_message_and_transport_is_counted_queued_then_sent_or_failed() {
        let counters = MailCounters::default();
        let tasks = BackgroundTasks::default();
        let mailer = QueuedMailer::new(
            vec![
                flaky(1, Arc::default(), true),
                flaky(u32::MAX, Arc::default(), false),
            ],
            tasks.clone(),
        )
        .with_counters(counters.clone());

        mailer.send(email()).await.unwrap();
        mailer.send(email()).await.unwrap();
        assert_eq!(counters.queued.get(), 4);
        assert_eq!((counters.sent.get(), counters.failed.get()), (0, 0));
        assert_eq!(tasks.drain(Duration::from_secs(60)).await, 0);

        // A retried success counts once; a permanent failure once.
        assert_eq!((counters.sent.get(), counters.failed.get()), (2, 2));
    }

    #[tokio::test]
    async fn after_drain_new_mail_is_refused() {
        let tasks = BackgroundTasks::default();
        let mailer = QueuedMailer::new(vec![flaky(0, Arc::default(), true)], tasks.clone());
        tasks.drain(Duration::from_secs(1)).await;
        assert!(matches!(
            mailer.send(email()).await,
            Err(DomainError::Unavailable { .. })
        ));
    }
}
