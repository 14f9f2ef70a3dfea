use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc},
};
use async_trait::async_trait;
use todos_domain::{
    DomainError, NewPassword, OncePerSecond, Password, PasswordCheck, PasswordHash, PasswordHasher,
};

/// argon2id (PHC strings) for every new hash; bcrypt `$2…$` hashes from the
/// old service still verify and are reported as needing a rehash.
///
/// Both are CPU-bound for tens of milliseconds, so they never run on the
/// async executor: they queue for a small pool of dedicated threads (half
/// the CPUs, at least one). A burst of log-ins then waits its turn instead
/// of taking every core from other requests, and memory stays bounded:
/// each hash needs 19 MiB, which a long-lived thread reuses, where tokio's
/// ever-changing blocking threads each kept their own copy (measured: 2.7
/// GiB RSS after a log-in burst on the blocking pool; see BENCHMARKS.md).
///
/// The queue is bounded: when it is full, work is refused at once with
/// [`DomainError::Overloaded`] (503 and `Retry-After`) instead of waiting
/// behind everyone else, so an admitted request waits at most a few
/// hundred milliseconds. New hashes (sign-ups) may fill only half of it,
/// so a flood of sign-ups cannot keep users from logging in.
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
    pool: HashingPool,
}

impl Default for Argon2Hasher {
    /// OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let threads = (cpus / 2).max(1);
        Self::new(Params::default(), threads, threads * QUEUE_PER_THREAD)
    }
}

/// Jobs admitted per hashing thread, running ones included: at ~25 ms a
/// hash (release build, OWASP parameters), the last one waits ~0.4 s.
const QUEUE_PER_THREAD: usize = 16;

/// What a refused caller is told to wait before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Which share of the queue a job may use.
#[derive(Debug, Clone, Copy)]
enum Priority {
    /// Checking a password (log-in): the whole queue.
    Verify,
    /// Making a new hash (sign-up, rehash): half of it.
    Hash,
}

impl Argon2Hasher {
    /// `threads` dedicated hashing threads; at most `queue` jobs admitted
    /// at once (waiting or running), the rest refused.
    pub fn new(params: Params, threads: usize, queue: usize) -> Self {
        Self {
            params,
            pool: HashingPool::new(threads, queue),
        }
    }

    /// Jobs admitted and not yet finished (waiting or running).
    pub fn queued(&self) -> usize {
        self.pool.queued.load(Ordering::Relaxed)
    }

    /// Jobs on a hashing thread now: at most the number of threads.
    pub fn running(&self) -> usize {
        self.pool.running.load(Ordering::Relaxed)
    }

    /// Jobs admitted and waiting for a thread. Read from two counters, so
    /// only a snapshot: good for a gauge, not for a decision.
    pub fn waiting(&self) -> usize {
        self.queued().saturating_sub(self.running())
    }

    /// Jobs refused because the queue was full, since start.
    pub fn refused(&self) -> u64 {
        self.pool.refused.load(Ordering::Relaxed)
    }

    /// Runs `work` on a hashing thread and waits for it without blocking.
    async fn run<T: Send + 'static>(
        &self,
        priority: Priority,
        work: impl FnOnce(&Self) -> Result<T, DomainError> + Send + 'static,
    ) -> Result<T, DomainError> {
        let this = self.clone();
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.pool.submit(priority, move || {
            let _ = reply.send(work(&this));
        })?;
        answer
            .await
            .map_err(|_| DomainError::unexpected("a hashing thread died"))?
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_blocking(&self, password: &str) -> Result<PasswordHash, DomainError> {
        let hash = self
            .argon2()
            .hash_password(password.as_bytes())
            .map_err(|e| DomainError::unexpected(format!("argon2 hashing failed: {e}")))?;
        Ok(PasswordHash::new(hash.to_string()))
    }

    fn verify_blocking(&self, password: &str, stored: &str) -> Result<PasswordCheck, DomainError> {
        if is_bcrypt(stored) {
            return match bcrypt::verify(password, stored) {
                Ok(true) => Ok(PasswordCheck::MatchNeedsRehash),
                Ok(false) => Ok(PasswordCheck::Mismatch),
                Err(e) => Err(DomainError::unexpected(format!(
                    "unreadable bcrypt hash: {e}"
                ))),
            };
        }
        let parsed = phc::PasswordHash::new(stored)
            .map_err(|e| DomainError::unexpected(format!("unreadable password hash: {e}")))?;
        match self.argon2().verify_password(password.as_bytes(), &parsed) {
            Ok(()) if self.is_current(&parsed) => Ok(PasswordCheck::Match),
            Ok(()) => Ok(PasswordCheck::MatchNeedsRehash),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(PasswordCheck::Mismatch),
            Err(e) => Err(DomainError::unexpected(format!(
                "argon2 verification failed: {e}"
            ))),
        }
    }

    /// A hash made with another variant or weaker parameters than ours is
    /// upgraded at the next successful log-in.
    fn is_current(&self, hash: &phc::PasswordHash) -> bool {
        let ours = self.params.clone();
        hash.algorithm.as_str() == "argon2id"
            && Params::try_from(hash).is_ok_and(|p| {
                p.m_cost() >= ours.m_cost()
                    && p.t_cost() >= ours.t_cost()
                    && p.p_cost() >= ours.p_cost()
            })
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Long-lived threads that take hashing jobs from one bounded queue.
#[derive(Clone, Debug)]
struct HashingPool {
    jobs: mpsc::Sender<Job>,
    capacity: usize,
    queued: Arc<AtomicUsize>,
    /// Of `queued`, those on a thread now.
    running: Arc<AtomicUsize>,
    refused: Arc<AtomicU64>,
}

static REFUSALS: OncePerSecond = OncePerSecond::new();

impl HashingPool {
    fn new(threads: usize, capacity: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every sender is gone
                        }
                    }
                })
                .expect("spawn a password hashing thread");
        }
        Self {
            jobs,
            capacity: capacity.max(2),
            queued: Arc::default(),
            running: Arc::default(),
            refused: Arc::default(),
        }
    }

    /// Admits `job` if its share of the queue has room, else refuses at once.
    fn submit(
        &self,
        priority: Priority,
        job: impl FnOnce() + Send + 'static,
    ) -> Result<(), DomainError> {
        let limit = match priority {
            Priority::Verify => self.capacity,
            Priority::Hash => self.capacity / 2,
        };
        let admitted = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            });
        if admitted.is_err() {
            let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
            // Counted, not logged one by one: a flood must not flood the log.
            if let Some(held_back) = REFUSALS.admit() {
                tracing::warn!(
                    refused,
                    held_back,
                    "password hashing queue full, refusing work"
                );
            }
            return Err(DomainError::Overloaded {
                retry_after: RETRY_AFTER,
            });
        }
        let (queued, running) = (Arc::clone(&self.queued), Arc::clone(&self.running));
        let job: Job = Box::new(move || {
            running.fetch_add(1, Ordering::AcqRel);
            job();
            running.fetch_sub(1, Ordering::AcqRel);
            queued.fetch_sub(1, Ordering::AcqRel);
        });
        self.jobs.send(job).map_err(|_| {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            DomainError::unexpected("the hashing threads are gone")
        })
    }
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2x$", "$2y$"]
        .iter()
        .any(|prefix| stored.starts_with(prefix))
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &NewPassword) -> Result<PasswordHash, DomainError> {
        let password = password.as_password().clone();
        self.run(Priority::Hash, move |this| {
            this.hash_blocking(password.expose())
        })
        .await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, DomainError> {
        let (password, hash) = (password.clone(), hash.clone());
        self.run(Priority::Verify, move |this| {
            this.verify_blocking(password.expose(), hash.expose())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_password(s: &str) -> NewPassword {
        NewPassword::parse(s.into()).unwrap()
    }

    fn password(s: &str) -> Password {
        Password::parse(s.into()).unwrap()
    }

    /// How long a test waits for the pool before failing: a broken queue
    /// must fail the test, not hang it.
    const PATIENCE: Duration = Duration::from_secs(2);

    async fn soon<T>(work: impl Future<Output = T>) -> T {
        tokio::time::timeout(PATIENCE, work)
            .await
            .expect("the hashing pool did not answer")
    }

    /// What is logged on this thread while the returned guard lives.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Logs {
        fn capture(&self) -> tracing::subscriber::DefaultGuard {
            let logs = self.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || logs.clone())
                .finish();
            tracing::subscriber::set_default(subscriber)
        }

        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + PATIENCE;
        while !done() {
            assert!(std::time::Instant::now() < deadline, "never: {what}");
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn new_hashes_are_argon2id_phc_and_verify() {
        let hasher = Argon2Hasher::default();
        let hash = hasher.hash(&new_password("correct horse")).await.unwrap();

        assert!(
            hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.expose()
        );
        assert_eq!(
            hasher
                .verify(&password("correct horse"), &hash)
                .await
                .unwrap(),
            PasswordCheck::Match
        );
        assert_eq!(
            hasher
                .verify(&password("wrong horse"), &hash)
                .await
                .unwrap(),
            PasswordCheck::Mismatch
        );
    }

    #[tokio::test]
    async fn salts_differ_between_hashes() {
        let hasher = Argon2Hasher::default();
        let a = hasher.hash(&new_password("same password")).await.unwrap();
        let b = hasher.hash(&new_password("same password")).await.unwrap();
        assert_ne!(a.expose(), b.expose());
    }

    #[tokio::test]
    async fn legacy_bcrypt_verifies_and_asks_for_rehash() {
        let hasher = Argon2Hasher::default();
        let legacy = PasswordHash::new(bcrypt::hash("password", 4).unwrap());
        assert!(legacy.expose().starts_with("$2b$"));

        assert_eq!(
            hasher.verify(&password("password"), &legacy).await.unwrap(),
            PasswordCheck::MatchNeedsRehash
        );
        assert_eq!(
            hasher.verify(&password("Password"), &legacy).await.unwrap(),
            PasswordCheck::Mismatch
        );
    }

    #[tokio::test]
    async fn weaker_argon2_parameters_ask_for_rehash() {
        let weak = Argon2Hasher::new(Params::new(8, 1, 1, None).unwrap(), 1, 16);
        let hash = weak.hash(&new_password("correct horse")).await.unwrap();

        assert_eq!(
            Argon2Hasher::default()
                .verify(&password("correct horse"), &hash)
                .await
                .unwrap(),
            PasswordCheck::MatchNeedsRehash
        );
    }

    #[tokio::test]
    async fn a_hash_weaker_in_any_one_parameter_or_of_another_variant_asks_for_rehash() {
        use PasswordCheck::{Match, MatchNeedsRehash};
        // Small parameters keep the test fast; the rule is the same.
        let ours = Params::new(32, 2, 2, None).unwrap();
        let hasher = Argon2Hasher::new(ours.clone(), 1, 16);
        let correct = password("correct horse");
        for ((m, t, p), expected) in [
            ((16, 2, 2), MatchNeedsRehash),
            ((32, 1, 2), MatchNeedsRehash),
            ((32, 2, 1), MatchNeedsRehash),
            ((32, 2, 2), Match),
            ((64, 3, 3), Match),
        ] {
            let theirs = Argon2Hasher::new(Params::new(m, t, p, None).unwrap(), 1, 16);
            let hash = theirs.hash(&new_password("correct horse")).await.unwrap();
            assert_eq!(
                hasher.verify(&correct, &hash).await.unwrap(),
                expected,
                "m={m} t={t} p={p}"
            );
        }
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, ours)
            .hash_password(b"correct horse")
            .unwrap();
        assert_eq!(
            hasher
                .verify(&correct, &PasswordHash::new(argon2i.to_string()))
                .await
                .unwrap(),
            MatchNeedsRehash
        );
    }

    #[tokio::test]
    async fn work_runs_on_the_hashing_threads_and_queues_beyond_them() {
        let hasher = Argon2Hasher::new(Params::new(8, 1, 1, None).unwrap(), 1, 16);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let hasher = hasher.clone();
            tasks.spawn(async move {
                hasher
                    .run(Priority::Verify, |_| {
                        Ok(std::thread::current().name().map(str::to_owned))
                    })
                    .await
                    .unwrap()
            });
        }
        let threads = soon(tasks.join_all()).await;
        assert_eq!(threads.len(), 8);
        assert!(
            threads
                .iter()
                .all(|name| name.as_deref() == Some("password-hash-0")),
            "{threads:?}"
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_new_hashes_get_half_of_it() {
        let logs = Logs::default();
        let _capture = logs.capture();
        let hasher = Argon2Hasher::new(Params::new(8, 1, 1, None).unwrap(), 1, 4);
        let (open, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let mut admitted = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (job_hasher, gate) = (hasher.clone(), Arc::clone(&gate));
            admitted.spawn(async move {
                job_hasher
                    .run(Priority::Verify, move |_| {
                        let _ = gate.lock().unwrap().recv();
                        Ok(())
                    })
                    .await
            });
            // Admission is in order: the hash below finds exactly this many.
            until("the job is admitted", || hasher.queued() == admitted.len()).await;
            if admitted.len() == 2 {
                let refused = soon(hasher.hash(&new_password("correct horse"))).await;
                assert!(
                    matches!(refused, Err(DomainError::Overloaded { retry_after }) if retry_after.as_secs() == 1),
                    "a new hash may use only half the queue: {refused:?}"
                );
            }
        }
        // The gate holds every admitted job: an answer now means no waiting.
        let refused =
            soon(hasher.verify(&password("anything"), &PasswordHash::new("plain".into()))).await;
        assert!(
            matches!(refused, Err(DomainError::Overloaded { .. })),
            "{refused:?}"
        );
        assert_eq!(hasher.refused(), 2);
        // One thread: one job runs (blocked on the gate), three wait.
        until("the first job runs", || hasher.running() == 1).await;
        assert_eq!((hasher.running(), hasher.waiting()), (1, 3));
        // Only this test refuses work: the first refusal is logged, the
        // second (within the same second) held back.
        let logged = logs.text();
        assert_eq!(logged.matches("queue full").count(), 1, "{logged}");
        assert!(logged.contains("refused=1 held_back=0"), "{logged}");

        for _ in 0..4 {
            open.send(()).unwrap();
        }
        for outcome in soon(admitted.join_all()).await {
            outcome.unwrap();
        }
        until("finished jobs leave the queue", || hasher.queued() == 0).await;
        assert_eq!((hasher.running(), hasher.waiting()), (0, 0));
        soon(hasher.hash(&new_password("correct horse")))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn garbage_hash_is_an_error_not_a_match() {
        let hasher = Argon2Hasher::default();
        let result = hasher
            .verify(&password("anything"), &PasswordHash::new("plain".into()))
            .await;
        assert!(result.is_err());
    }
}
