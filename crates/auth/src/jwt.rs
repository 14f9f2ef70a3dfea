use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use todos_domain::{AccessToken, DomainError, IssuedToken, SessionId, TokenCodec, TokenSubject};

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
    /// The session; absent in tokens issued before sessions existed,
    /// which authentication then refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// A unique id per token (128 random bits, hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// Required: a token must say when it was issued.
    iat: u64,
    exp: u64,
    /// Never issued by us; enforced when a token carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
}

/// HS256 tokens carrying `sub` (the username), `sid` (the session),
/// `jti`, `iat` and `exp`. Decoding
/// pins the algorithm, so `alg: none` and every other algorithm are refused.
/// Beyond the signature, a token is refused when it is expired, not yet
/// valid (`nbf`), issued in the future (`iat`), or valid for longer than
/// this codec's lifetime (`exp - iat`): a token re-signed with a leaked
/// key cannot grant itself a longer life. The same leeway applies to
/// every clock comparison.
pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtCodec {
    /// Signs with `secret`; tokens live `ttl` unless their session ends first.
    pub fn new(secret: &JwtSecret, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
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
    fn issue(
        &self,
        username: &str,
        session: &SessionId,
        until: SystemTime,
    ) -> Result<IssuedToken, DomainError> {
        let now = unix_seconds(SystemTime::now())?;
        // An access token never outlives its session.
        let exp = (now + self.ttl.as_secs()).min(unix_seconds(until)?.max(now));
        let mut jti = [0u8; 16];
        rand::rng().fill_bytes(&mut jti);
        let claims = Claims {
            sub: username.to_owned(),
            sid: Some(session.as_str().to_owned()),
            jti: Some(jti.iter().map(|byte| format!("{byte:02x}")).collect()),
            iat: now,
            exp,
            nbf: None,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(AccessToken::new)
            .map_err(DomainError::unexpected)?;
        Ok(IssuedToken {
            token,
            expires_in: Duration::from_secs(exp - now),
        })
    }

    fn subject(&self, token: &str) -> Result<TokenSubject, DomainError> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                tracing::debug!(reason = %e, "rejected bearer token");
                DomainError::NotAuthenticated
            })?
            .claims;
        let now = unix_seconds(SystemTime::now())?;
        if claims.iat > now.saturating_add(LEEWAY_SECS) {
            tracing::debug!("rejected bearer token: issued in the future");
            return Err(DomainError::NotAuthenticated);
        }
        if claims.exp.saturating_sub(claims.iat) > self.ttl.as_secs() {
            tracing::debug!("rejected bearer token: valid for longer than the configured lifetime");
            return Err(DomainError::NotAuthenticated);
        }
        // A `sid` that cannot be a session id names no session: refused
        // like a missing one, after the user check.
        Ok(TokenSubject {
            username: claims.sub,
            session: claims.sid.as_deref().and_then(SessionId::parse),
        })
    }
}

fn unix_seconds(time: SystemTime) -> Result<u64, DomainError> {
    Ok(time
        .duration_since(UNIX_EPOCH)
        .map_err(DomainError::unexpected)?
        .as_secs())
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

    fn far_future() -> SystemTime {
        SystemTime::now() + Duration::from_secs(365 * 86400)
    }

    fn issue(codec: &JwtCodec, username: &str) -> AccessToken {
        codec
            .issue(username, &SessionId::generate(), far_future())
            .unwrap()
            .token
    }

    fn claims_of(token: &AccessToken) -> Claims {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_required_spec_claims(&["exp", "sub", "iat"]);
        decode::<Claims>(token.expose(), &DecodingKey::from_secret(&[1; 32]), &v)
            .unwrap()
            .claims
    }

    #[test]
    fn issued_token_round_trips_with_claims() {
        let codec = JwtCodec::new(&secret(1), Duration::from_secs(86400));
        let session = SessionId::generate();
        let issued = codec.issue("alice", &session, far_future()).unwrap();
        assert_eq!(
            codec.subject(issued.token.expose()).unwrap(),
            TokenSubject {
                username: "alice".into(),
                session: Some(session.clone()),
            }
        );
        assert_eq!(issued.expires_in, Duration::from_secs(86400));
        let claims = claims_of(&issued.token);
        assert_eq!(claims.exp - claims.iat, 86400);
        assert_eq!(claims.sid.as_deref(), Some(session.as_str()));
        let jti = claims.jti.unwrap();
        assert_eq!(jti.len(), 32);
        assert_ne!(Some(jti), claims_of(&issue(&codec, "alice")).jti, "unique");
    }

    #[test]
    fn a_token_never_outlives_its_session() {
        let codec = JwtCodec::new(&secret(1), Duration::from_secs(86400));
        let until = SystemTime::now() + Duration::from_secs(100);
        let issued = codec.issue("alice", &SessionId::generate(), until).unwrap();
        let claims = claims_of(&issued.token);
        assert!(
            (99..=100).contains(&(claims.exp - claims.iat)),
            "{claims:?}"
        );
        assert_eq!(issued.expires_in.as_secs(), claims.exp - claims.iat);
    }

    #[test]
    fn a_token_without_a_session_names_none() {
        let key = secret(1);
        let codec = JwtCodec::new(&key, Duration::from_secs(60));
        let t = now();
        for claims in [
            serde_json::json!({"sub": "alice", "iat": t, "exp": t + 60}),
            serde_json::json!({"sub": "alice", "iat": t, "exp": t + 60, "sid": "../etc"}),
        ] {
            assert_eq!(
                codec.subject(&forge(&claims, &key)).unwrap(),
                TokenSubject {
                    username: "alice".into(),
                    session: None
                }
            );
        }
    }

    #[test]
    fn accepts_claims_within_the_leeway_and_a_past_nbf() {
        let key = secret(1);
        let codec = JwtCodec::new(&key, Duration::from_secs(60));
        let t = now();
        for claims in [
            serde_json::json!({"sub": "alice", "iat": t, "exp": t + 60, "nbf": t - 10}),
            // 5 s leeway (README): an `iat` that far ahead is still accepted.
            serde_json::json!({"sub": "alice", "iat": t + 5, "exp": t + 30}),
            serde_json::json!({"sub": "alice", "iat": t + LEEWAY_SECS - 1, "exp": t + 30}),
            serde_json::json!({"sub": "alice", "iat": t, "exp": t + 30, "nbf": t + LEEWAY_SECS - 1}),
        ] {
            assert_eq!(
                codec.subject(&forge(&claims, &key)).unwrap().username,
                "alice",
                "{claims}"
            );
        }
    }

    #[test]
    fn rejects_wrong_secret_garbage_none_expired_and_missing_claims() {
        let key = secret(1);
        let codec = JwtCodec::new(&key, Duration::from_secs(60));
        let other = JwtCodec::new(&secret(2), Duration::from_secs(60));
        let foreign = issue(&other, "alice");
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
            (
                "no iat",
                forge(&serde_json::json!({"sub": "alice", "exp": t + 30}), &key),
            ),
            (
                "nbf in the future",
                forge(
                    &serde_json::json!({"sub": "alice", "iat": t, "exp": t + 60, "nbf": t + 30}),
                    &key,
                ),
            ),
            (
                "iat in the future",
                forge(
                    &serde_json::json!({"sub": "alice", "iat": t + 30, "exp": t + 60}),
                    &key,
                ),
            ),
            (
                "exp further from iat than the lifetime",
                forge(
                    &serde_json::json!({"sub": "alice", "iat": t, "exp": t + 61}),
                    &key,
                ),
            ),
            (
                "exp of u64::MAX",
                forge(
                    &serde_json::json!({"sub": "alice", "iat": t, "exp": u64::MAX}),
                    &key,
                ),
            ),
        ];
        for (case, token) in cases {
            assert!(
                matches!(codec.subject(&token), Err(DomainError::NotAuthenticated)),
                "{case} must be refused"
            );
        }
    }
}
