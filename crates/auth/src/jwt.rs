use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use todos_domain::{AccessToken, DomainError, TokenCodec};

/// HS256 needs a key at least as long as its output.
const MIN_SECRET_BYTES: usize = 32;

/// Clock skew tolerated on `exp` between instances (the spec allows ≤ 60 s).
const LEEWAY_SECS: u64 = 5;

/// The HS256 signing key. Never printed.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

#[derive(Debug, thiserror::Error)]
pub enum JwtSecretError {
    #[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (got {len})")]
    TooShort { len: usize },
}

impl JwtSecret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, JwtSecretError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(JwtSecretError::TooShort { len: bytes.len() });
        }
        Ok(Self(bytes))
    }

    /// A fresh random key: tokens then die with the process.
    pub fn random() -> Self {
        let mut bytes = vec![0u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    exp: u64,
}

/// HS256 tokens carrying `sub` (the username), `iat` and `exp`. Decoding
/// pins the algorithm, so `alg: none` and every other algorithm are refused.
pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtCodec {
    pub fn new(secret: &JwtSecret, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(&secret.0),
            decoding: DecodingKey::from_secret(&secret.0),
            validation,
            ttl,
        }
    }
}

impl TokenCodec for JwtCodec {
    fn issue(&self, username: &str) -> Result<AccessToken, DomainError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(DomainError::unexpected)?
            .as_secs();
        let claims = Claims {
            sub: username.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(AccessToken::new)
            .map_err(DomainError::unexpected)
    }

    fn subject(&self, token: &str) -> Result<String, DomainError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims.sub)
            .map_err(|e| {
                tracing::debug!(reason = %e, "rejected bearer token");
                DomainError::NotAuthorized
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> JwtSecret {
        JwtSecret::new(vec![byte; 32]).unwrap()
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn forge(claims: &serde_json::Value, key: &JwtSecret) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(&key.0),
        )
        .unwrap()
    }

    #[test]
    fn short_secret_is_refused() {
        assert!(JwtSecret::new(vec![1; 31]).is_err());
        assert!(JwtSecret::new(vec![1; 32]).is_ok());
    }

    #[test]
    fn issued_token_round_trips_with_claims() {
        let codec = JwtCodec::new(&secret(1), Duration::from_secs(86400));
        let token = codec.issue("alice").unwrap();
        assert_eq!(codec.subject(token.expose()).unwrap(), "alice");

        let mut v = Validation::new(Algorithm::HS256);
        v.set_required_spec_claims(&["exp", "sub", "iat"]);
        let data =
            decode::<Claims>(token.expose(), &DecodingKey::from_secret(&[1; 32]), &v).unwrap();
        assert_eq!(data.claims.exp - data.claims.iat, 86400);
    }

    #[test]
    fn rejects_wrong_secret_garbage_none_expired_and_missing_claims() {
        let key = secret(1);
        let codec = JwtCodec::new(&key, Duration::from_secs(60));
        let other = JwtCodec::new(&secret(2), Duration::from_secs(60));
        let foreign = other.issue("alice").unwrap();
        let t = now();
        let unsigned = {
            let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
            let body = forge(
                &serde_json::json!({"sub": "alice", "iat": t, "exp": t + 600}),
                &key,
            );
            let payload = body.split('.').nth(1).unwrap().to_owned();
            format!("{header}.{payload}.")
        };
        let cases = [
            ("wrong secret", foreign.expose().to_owned()),
            ("garbage", "not.a.token".to_owned()),
            ("alg none", unsigned),
            (
                "expired",
                forge(
                    &serde_json::json!({"sub": "alice", "iat": t - 600, "exp": t - 120}),
                    &key,
                ),
            ),
            (
                "no exp",
                forge(&serde_json::json!({"sub": "alice", "iat": t}), &key),
            ),
            (
                "no sub",
                forge(&serde_json::json!({"iat": t, "exp": t + 600}), &key),
            ),
        ];
        for (case, token) in cases {
            assert!(
                matches!(codec.subject(&token), Err(DomainError::NotAuthorized)),
                "{case} must be refused"
            );
        }
    }
}
