use std::{
    str::FromStr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

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
    /// When it was made (whole microseconds).
    pub created_at: SystemTime,
    /// When it last changed (whole microseconds); every change moves it
    /// forward, by a microsecond at least.
    pub updated_at: SystemTime,
}

impl Todo {
    /// What preconditions compare: `updated_at` in microseconds since the
    /// Unix epoch. Every change makes it larger, so equal versions mean
    /// an unchanged todo.
    pub fn version(&self) -> i64 {
        micros(self.updated_at)
    }
}

/// Whole microseconds since the Unix epoch (0 before it; saturating), as
/// stores keep times.
pub fn micros(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
    })
}

/// The time `micros` microseconds after the Unix epoch (as stored).
pub fn from_micros(micros: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros.max(0).unsigned_abs())
}

/// A change to a todo: what is `Some` is set, the rest stays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TodoChange {
    /// New contents.
    pub contents: Option<TodoContents>,
    /// New state.
    pub is_done: Option<bool>,
}

impl TodoChange {
    /// Whether it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.contents.is_none() && self.is_done.is_none()
    }
}

/// How many todos a page holds at most: 1 to [`PageLimit::MAX`], which is
/// also the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u64);

impl PageLimit {
    /// The largest page, and a page's size when none is asked for.
    pub const MAX: u64 = 1000;

    /// Parses a query value: a whole number from 1 to 1000.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        u64::from_str(raw)
            .ok()
            .filter(|limit| (1..=Self::MAX).contains(limit))
            .map(Self)
            .ok_or_else(|| DomainError::invalid("limit", "must be a whole number from 1 to 1000"))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(Self::MAX)
    }
}

/// Which of a user's todos a page shows, in which order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TodoQuery {
    /// By id, ascending or descending.
    pub order: SortOrder,
    /// Only done (`Some(true)`) or only open (`Some(false)`) todos.
    pub is_done: Option<bool>,
    /// Only ids after this one in `order` (above it ascending, below it
    /// descending); it need not exist.
    pub after: Option<TodoId>,
    /// At most this many.
    pub limit: PageLimit,
}

/// One page of todos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodoPage {
    /// At most the query's limit, in its order.
    pub todos: Vec<Todo>,
    /// Whether further todos match the query (after the last one here).
    pub more: bool,
}

impl TodoPage {
    /// The query of the following page, when there is one.
    pub fn next(&self, query: &TodoQuery) -> Option<TodoQuery> {
        let last = self.todos.last().filter(|_| self.more)?;
        Some(TodoQuery {
            after: Some(last.id),
            ..*query
        })
    }
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
    fn page_limits_are_1_to_1000() {
        assert_eq!(PageLimit::default().get(), 1000);
        assert_eq!(PageLimit::parse("1").unwrap().get(), 1);
        assert_eq!(PageLimit::parse("1000").unwrap().get(), 1000);
        for bad in ["0", "1001", "-1", "abc", "", "1.5", " 5"] {
            assert!(PageLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_are_microseconds_of_updated_at() {
        let at = from_micros(1_800_000_000_123_456);
        assert_eq!(micros(at), 1_800_000_000_123_456);
        assert_eq!(micros(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(from_micros(-5), UNIX_EPOCH);
        let todo = Todo {
            id: TodoId::new(1).unwrap(),
            owner: UserId(1),
            contents: TodoContents::parse("x").unwrap(),
            is_done: false,
            created_at: UNIX_EPOCH,
            updated_at: at,
        };
        assert_eq!(todo.version(), 1_800_000_000_123_456);
    }

    #[test]
    fn a_change_is_empty_only_without_both_fields() {
        assert!(TodoChange::default().is_empty());
        assert!(
            !TodoChange {
                is_done: Some(false),
                ..TodoChange::default()
            }
            .is_empty()
        );
        assert!(
            !TodoChange {
                contents: Some(TodoContents::parse("x").unwrap()),
                ..TodoChange::default()
            }
            .is_empty()
        );
    }

    #[test]
    fn order_is_case_insensitive() {
        assert_eq!(SortOrder::parse("asc").unwrap(), SortOrder::Asc);
        assert_eq!(SortOrder::parse("DeSc").unwrap(), SortOrder::Desc);
        assert!(SortOrder::parse("up").is_err());
    }
}
