//! Values the use cases' unit tests share.

use crate::{ClientAddress, User, UserId};

/// User 7, `alice`, without a verified address.
pub(crate) fn alice() -> User {
    User {
        id: UserId(7),
        username: "alice".into(),
        verified_email: None,
    }
}

/// A client address from the documentation range.
pub(crate) fn client() -> ClientAddress {
    ClientAddress::new("192.0.2.1".parse().unwrap())
}
