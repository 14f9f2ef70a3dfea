//! Credentials for `todos`: password hashing ([`Argon2Hasher`], verifying
//! legacy bcrypt too) and HS256 access tokens ([`JwtCodec`]).

mod jwt;
mod password;

pub use jwt::{JwtCodec, JwtSecret, JwtSecretError};
pub use password::Argon2Hasher;
