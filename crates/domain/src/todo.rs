use std::str::FromStr;

use crate::{DomainError, UserId};

const MAX_CONTENTS_CHARS: usize = 256;

/// Id of a todo: a positive 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TodoId(i64);

impl TodoId {
    /// Parses a path segment. `abc`, `1.5`, `0`, `-1` and values beyond
    /// `i64::MAX` are all invalid.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = || DomainError::invalid("todo_id", "must be a positive 64-bit integer");
        let value = i64::from_str(raw).map_err(|_| invalid())?;
        Self::new(value).ok_or_else(invalid)
    }

    /// An id from a store: `None` unless positive.
    pub fn new(value: i64) -> Option<Self> {
        (value > 0).then_some(Self(value))
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// What a todo says: 1–256 characters, stored verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodoContents(String);

impl TodoContents {
    /// Parses contents as a client sent them, by the rules above.
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        let chars = raw.chars().count();
        if chars == 0 || chars > MAX_CONTENTS_CHARS {
            return Err(DomainError::invalid(
                "contents",
                format!("must be 1 to {MAX_CONTENTS_CHARS} characters"),
            ));
        }
        // PostgreSQL cannot store U+0000 in text; refuse it everywhere alike.
        if raw.contains('\0') {
            return Err(DomainError::invalid(
                "contents",
                "must not contain NUL characters",
            ));
        }
        Ok(Self(raw))
    }

    /// Contents read back from a store: valid when stored, not checked
    /// again (todos of the old service may break today's rules).
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Listing order of todos, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    /// Lowest id first.
    Asc,
    /// Highest id first.
    Desc,
}

impl SortOrder {
    /// `ASC` or `DESC`, in any letter case.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.eq_ignore_ascii_case("asc") {
            Ok(Self::Asc)
        } else if raw.eq_ignore_ascii_case("desc") {
            Ok(Self::Desc)
        } else {
            Err(DomainError::invalid("order", "must be ASC or DESC"))
        }
    }
}

/// A stored todo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Todo {
    /// The store's id.
    pub id: TodoId,
    /// Whose it is.
    pub owner: UserId,
    /// What it says.
    pub contents: TodoContents,
    /// Whether it is done.
    pub is_done: bool,
}

/// A todo to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTodo {
    /// What it says.
    pub contents: TodoContents,
    /// Whether it is done already.
    pub is_done: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn todo_id_rules() {
        assert_eq!(TodoId::parse("1").unwrap().get(), 1);
        assert_eq!(
            TodoId::parse("9223372036854775807").unwrap().get(),
            i64::MAX
        );
        for bad in ["abc", "1.5", "0", "-1", "", "9223372036854775808", "1e3"] {
            assert!(TodoId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contents_rules() {
        assert!(TodoContents::parse("").is_err());
        assert!(TodoContents::parse("é".repeat(256)).is_ok());
        assert!(TodoContents::parse("x".repeat(257)).is_err());
        assert!(TodoContents::parse("a\0b").is_err());
        assert!(TodoContents::parse("tab\tand\nnewline").is_ok());
        assert_eq!(
            TodoContents::parse("'; DROP TABLE todo; --")
                .unwrap()
                .as_str(),
            "'; DROP TABLE todo; --"
        );
        assert_eq!(
            TodoContents::parse(" buy milk\n").unwrap().into_inner(),
            " buy milk\n",
            "stored verbatim"
        );
    }

    #[test]
    fn order_is_case_insensitive() {
        assert_eq!(SortOrder::parse("asc").unwrap(), SortOrder::Asc);
        assert_eq!(SortOrder::parse("DeSc").unwrap(), SortOrder::Desc);
        assert!(SortOrder::parse("up").is_err());
    }
}
