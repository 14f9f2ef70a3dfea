//! `detail` texts that more than one place answers with.

/// 503 when there is no capacity left: every request slot is busy (load
/// shedding) or the password-hashing queue is full.
pub(crate) const OVERLOADED: &str = "The service is overloaded, try again later";
