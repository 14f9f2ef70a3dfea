//! SeaORM entities: `user` has_many `todo` and `session`; `session` has_many
//! `session_spent_token`; `user` has_many `idempotency_key`. Each child
//! belongs_to its parent.

pub mod idempotency_key;
pub mod session;
pub mod session_spent_token;
pub mod todo;
pub mod user;
