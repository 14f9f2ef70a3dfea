//! `detail` texts that more than one place answers with.

/// 503 when there is no capacity left: every request slot is busy (load
/// shedding) or the password-hashing queue is full.
pub(crate) const OVERLOADED: &str = "The service is overloaded, try again later";

/// 413: the body is over the size limit.
pub(crate) const BODY_TOO_LARGE: &str = "Request body too large";

/// 500: the service's own fault; the cause goes to the log only.
pub(crate) const INTERNAL_ERROR: &str = "Internal Server Error";
