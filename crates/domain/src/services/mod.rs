//! Use cases. Each service holds the ports it needs and nothing else.

pub mod accounts;
pub mod email_verification;
pub mod login_throttle;
pub mod todos;
