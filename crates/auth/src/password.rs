use std::sync::{Arc, Mutex, mpsc};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc},
};
use async_trait::async_trait;
use todos_domain::{
    DomainError, NewPassword, Password, PasswordCheck, PasswordHash, PasswordHasher,
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
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
    pool: HashingPool,
}

impl Default for Argon2Hasher {
    /// OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(Params::default(), (cpus / 2).max(1))
    }
}

impl Argon2Hasher {
    pub fn new(params: Params, threads: usize) -> Self {
        Self {
            params,
            pool: HashingPool::new(threads),
        }
    }

    /// Runs `work` on a hashing thread and waits for it without blocking.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> Result<T, DomainError> + Send + 'static,
    ) -> Result<T, DomainError> {
        let this = self.clone();
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.pool.submit(Box::new(move || {
            let _ = reply.send(work(&this));
        }))?;
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

/// Long-lived threads that take hashing jobs from one queue.
#[derive(Clone, Debug)]
struct HashingPool {
    jobs: mpsc::Sender<Job>,
}

impl HashingPool {
    fn new(threads: usize) -> Self {
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
        Self { jobs }
    }

    fn submit(&self, job: Job) -> Result<(), DomainError> {
        self.jobs
            .send(job)
            .map_err(|_| DomainError::unexpected("the hashing threads are gone"))
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
        self.run(move |this| this.hash_blocking(password.expose()))
            .await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, DomainError> {
        let (password, hash) = (password.clone(), hash.clone());
        self.run(move |this| this.verify_blocking(password.expose(), hash.expose()))
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
        let weak = Argon2Hasher::new(Params::new(8, 1, 1, None).unwrap(), 1);
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
    async fn work_runs_on_the_hashing_threads_and_queues_beyond_them() {
        let hasher = Argon2Hasher::new(Params::new(8, 1, 1, None).unwrap(), 1);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let hasher = hasher.clone();
            tasks.spawn(async move {
                hasher
                    .run(|_| Ok(std::thread::current().name().map(str::to_owned)))
                    .await
                    .unwrap()
            });
        }
        let threads = tasks.join_all().await;
        assert_eq!(threads.len(), 8);
        assert!(
            threads
                .iter()
                .all(|name| name.as_deref() == Some("password-hash-0")),
            "{threads:?}"
        );
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
