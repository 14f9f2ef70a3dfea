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
/// Both are CPU-bound for tens of milliseconds, so every call runs on
/// tokio's blocking pool rather than an executor thread.
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
}

impl Default for Argon2Hasher {
    /// OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self {
            params: Params::default(),
        }
    }
}

impl Argon2Hasher {
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

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2x$", "$2y$"]
        .iter()
        .any(|prefix| stored.starts_with(prefix))
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &NewPassword) -> Result<PasswordHash, DomainError> {
        let this = self.clone();
        let password = password.as_password().clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(password.expose()))
            .await
            .map_err(DomainError::unexpected)?
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<PasswordCheck, DomainError> {
        let this = self.clone();
        let (password, hash) = (password.clone(), hash.clone());
        tokio::task::spawn_blocking(move || this.verify_blocking(password.expose(), hash.expose()))
            .await
            .map_err(DomainError::unexpected)?
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
        let weak = Argon2Hasher {
            params: Params::new(8, 1, 1, None).unwrap(),
        };
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
    async fn garbage_hash_is_an_error_not_a_match() {
        let hasher = Argon2Hasher::default();
        let result = hasher
            .verify(&password("anything"), &PasswordHash::new("plain".into()))
            .await;
        assert!(result.is_err());
    }
}
