//! Use cases. Each service holds the ports it needs and nothing else.

pub mod accounts;
pub mod email_verification;
pub mod limits;
pub mod login_throttle;
pub mod sign_up_limit;
pub mod todos;
