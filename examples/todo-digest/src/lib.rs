//! `todo-digest`: a second service built on the `todos-domain` crate, with
//! the storage of `todos-persistence` and the mail transports of
//! `todos-mail`, and no HTTP at all. Once a day it mails every user with a
//! verified address the list of their open todos (README: "The domain as
//! a library").
//!
//! It reads the database that the `todos` service writes and never
//! migrates it: the service owns the schema.

use std::sync::Arc;

use todos_domain::{
    DomainError, Email, Mailer, Message, SortOrder, Todo, Todos, User, UserRepository,
};

/// Users read per page while walking through them all.
const PAGE: u64 = 100;

/// One pass of the digest: who got an email, who had nothing open.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Users mailed their open todos.
    pub mailed: usize,
    /// Verified users with no open todo: they get no email.
    pub nothing_open: usize,
}

/// Mails each verified user their open todos.
pub struct Digest {
    users: Arc<dyn UserRepository>,
    todos: Todos,
    mailer: Arc<dyn Mailer>,
}

impl Digest {
    /// A digest over these ports; `todos` is the domain's own use case.
    pub fn new(users: Arc<dyn UserRepository>, todos: Todos, mailer: Arc<dyn Mailer>) -> Self {
        Self {
            users,
            todos,
            mailer,
        }
    }

    /// One pass over every verified user. Stops at the first error: the
    /// next pass starts again from the first user.
    pub async fn run_once(&self) -> Result<Report, DomainError> {
        let mut report = Report::default();
        let mut after = None;
        loop {
            let page = self.users.list_verified(after, PAGE).await?;
            for user in &page {
                let open: Vec<Todo> = self
                    .todos
                    .list(user, SortOrder::Asc)
                    .await?
                    .into_iter()
                    .filter(|todo| !todo.is_done)
                    .collect();
                match email(user, &open) {
                    Some(email) => {
                        self.mailer.send(email).await?;
                        report.mailed += 1;
                    }
                    None => report.nothing_open += 1,
                }
            }
            match page.last() {
                Some(last) if page.len() as u64 == PAGE => after = Some(last.id),
                _ => return Ok(report),
            }
        }
    }
}

/// The digest email of `user`, or `None` when there is nothing to say.
fn email(user: &User, open: &[Todo]) -> Option<Email> {
    let to = user.verified_email.clone()?;
    if open.is_empty() {
        return None;
    }
    let mut body = format!(
        "Hello {},\r\n\r\nyour open todos ({}):\r\n\r\n",
        user.username,
        open.len()
    );
    for todo in open {
        body.push_str(&format!("- {}\r\n", todo.contents.as_str()));
    }
    Some(Email {
        to,
        message: Message::Text {
            subject: format!("Your open todos: {}", open.len()),
            body,
        },
    })
}
