//! Use cases. Each service holds the ports it needs and nothing else.

pub mod account;
pub mod authentication;
pub mod email_verification;
pub mod limits;
pub mod log_in;
pub mod login_throttle;
pub mod password_reset;
pub mod sessions;
pub mod sign_up;
pub mod sign_up_limit;
pub mod todos;

#[cfg(test)]
mod fixtures;
