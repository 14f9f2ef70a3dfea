//! The signed-in user's todos: every operation is scoped to its owner.

use std::sync::Arc;

use crate::{DomainError, NewTodo, SortOrder, Todo, TodoId, TodoRepository, User};

/// A user's own todos. Another user's todo answers exactly like a missing
/// one ([`DomainError::TodoNotFound`]), so ids reveal nothing about other
/// accounts.
#[derive(Clone)]
pub struct Todos {
    repo: Arc<dyn TodoRepository>,
}

impl Todos {
    /// Todos kept in `repo`.
    pub fn new(repo: Arc<dyn TodoRepository>) -> Self {
        Self { repo }
    }

    /// All of the owner's todos, by id in `order`.
    pub async fn list(&self, owner: &User, order: SortOrder) -> Result<Vec<Todo>, DomainError> {
        self.repo.list(owner.id, order).await
    }

    /// The owner's todo `id`, or [`DomainError::TodoNotFound`].
    pub async fn get(&self, owner: &User, id: TodoId) -> Result<Todo, DomainError> {
        self.repo
            .get(owner.id, id)
            .await?
            .ok_or(DomainError::TodoNotFound)
    }

    /// Stores a new todo of the owner's.
    pub async fn create(&self, owner: &User, todo: NewTodo) -> Result<Todo, DomainError> {
        self.repo.create(owner.id, todo).await
    }

    /// Marks the owner's todo `id` done or not done, or [`DomainError::TodoNotFound`].
    pub async fn set_done(
        &self,
        owner: &User,
        id: TodoId,
        is_done: bool,
    ) -> Result<Todo, DomainError> {
        self.repo
            .set_done(owner.id, id, is_done)
            .await?
            .ok_or(DomainError::TodoNotFound)
    }

    /// Deletes the owner's todo `id`, or [`DomainError::TodoNotFound`].
    pub async fn delete(&self, owner: &User, id: TodoId) -> Result<(), DomainError> {
        if self.repo.delete(owner.id, id).await? {
            Ok(())
        } else {
            Err(DomainError::TodoNotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::{MockTodoRepository, TodoContents, UserId};

    fn owner() -> User {
        User {
            id: UserId(1),
            username: "alice".into(),
            verified_email: None,
        }
    }

    fn todo(id: i64) -> Todo {
        Todo {
            id: TodoId::new(id).unwrap(),
            owner: UserId(1),
            contents: TodoContents::parse(format!("todo {id}")).unwrap(),
            is_done: false,
        }
    }

    #[tokio::test]
    async fn list_passes_owner_and_order_and_returns_the_repository_rows() {
        for (order, ids) in [
            (SortOrder::Asc, vec![1, 2, 3]),
            (SortOrder::Desc, vec![3, 2, 1]),
        ] {
            let mut repo = MockTodoRepository::new();
            let rows: Vec<Todo> = ids.iter().copied().map(todo).collect();
            repo.expect_list()
                .with(eq(UserId(1)), eq(order))
                .times(1)
                .returning(move |_, _| Ok(rows.clone()));

            let listed = Todos::new(Arc::new(repo))
                .list(&owner(), order)
                .await
                .unwrap();

            let listed_ids: Vec<i64> = listed.iter().map(|t| t.id.get()).collect();
            assert_eq!(listed_ids, ids);
        }
    }

    #[tokio::test]
    async fn get_of_missing_or_foreign_todo_is_not_found() {
        let mut repo = MockTodoRepository::new();
        repo.expect_get().returning(|_, _| Ok(None));

        let err = Todos::new(Arc::new(repo))
            .get(&owner(), TodoId::new(99).unwrap())
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::TodoNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn create_stores_for_the_owner() {
        let mut repo = MockTodoRepository::new();
        repo.expect_create()
            .withf(|owner, new| {
                *owner == UserId(1) && new.contents.as_str() == "milk" && !new.is_done
            })
            .times(1)
            .returning(|_, _| Ok(todo(5)));

        let created = Todos::new(Arc::new(repo))
            .create(
                &owner(),
                NewTodo {
                    contents: TodoContents::parse("milk").unwrap(),
                    is_done: false,
                },
            )
            .await
            .unwrap();

        assert_eq!(created.id.get(), 5);
    }

    #[tokio::test]
    async fn set_done_and_delete_of_missing_todo_are_not_found() {
        let mut repo = MockTodoRepository::new();
        repo.expect_set_done().returning(|_, _, _| Ok(None));
        repo.expect_delete().returning(|_, _| Ok(false));
        let todos = Todos::new(Arc::new(repo));
        let id = TodoId::new(3).unwrap();

        assert!(matches!(
            todos.set_done(&owner(), id, true).await,
            Err(DomainError::TodoNotFound)
        ));
        assert!(matches!(
            todos.delete(&owner(), id).await,
            Err(DomainError::TodoNotFound)
        ));
    }
}
