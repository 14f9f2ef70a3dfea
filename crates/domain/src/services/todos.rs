//! The signed-in user's todos: every operation is scoped to its owner
//! (README: "HTTP surface" and "For client authors").

use std::{sync::Arc, time::SystemTime};

use crate::{
    Authenticated, CreateOnce, DomainError, IdempotencyKey, IdempotencyPolicy, NewTodo, Policies,
    SessionClaim, SortOrder, Todo, TodoChange, TodoId, TodoPage, TodoQuery, TodoRepository, User,
    fingerprint,
};

/// What a conditional change requires of the todo as it is now (an HTTP
/// `If-Match`, say). The write checks it itself, in the statement that
/// makes the change, so nothing can change in between.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Any version will do.
    #[default]
    Any,
    /// One of these versions ([`Todo::version`]); an empty list matches
    /// no version at all.
    VersionIn(Vec<i64>),
}

impl Precondition {
    /// The versions a write must find, if it must find one of some.
    pub fn versions(&self) -> Option<&[i64]> {
        match self {
            Self::Any => None,
            Self::VersionIn(versions) => Some(versions),
        }
    }
}

/// A user's own todos. Another user's todo answers exactly like a missing
/// one ([`DomainError::TodoNotFound`]), so ids reveal nothing about other
/// accounts.
#[derive(Clone)]
pub struct Todos {
    repo: Arc<dyn TodoRepository>,
    idempotency: IdempotencyPolicy,
}

impl Todos {
    /// Todos kept in `repo`, with the default [`Policies`].
    pub fn new(repo: Arc<dyn TodoRepository>) -> Self {
        Self::with_policies(repo, &Policies::default())
    }

    /// Todos kept in `repo`, idempotency keys under `policies.idempotency`.
    pub fn with_policies(repo: Arc<dyn TodoRepository>, policies: &Policies) -> Self {
        Self {
            repo,
            idempotency: policies.idempotency,
        }
    }

    /// All of the owner's todos, by id in `order`.
    pub async fn list(&self, owner: &User, order: SortOrder) -> Result<Vec<Todo>, DomainError> {
        self.repo.list(owner.id, order).await
    }

    /// A page of the owner's todos; [`TodoPage::next`] gives the query of
    /// the page after it.
    pub async fn page(&self, owner: &User, query: &TodoQuery) -> Result<TodoPage, DomainError> {
        self.repo.page(owner.id, query).await
    }

    /// A page of the todos of the user `claim` names, read in one
    /// statement together with that user and the claimed session, which
    /// are admitted as [`crate::Authentication::authenticate`] admits them
    /// ([`SessionClaim::admit`]).
    pub async fn page_as(
        &self,
        claim: &SessionClaim,
        query: &TodoQuery,
    ) -> Result<(Authenticated, TodoPage), DomainError> {
        claim.admit(self.repo.page_as(claim, query).await?)
    }

    /// The todo `id` of the user `claim` names, read in one statement
    /// with that user and session as [`Todos::page_as`] reads a page;
    /// [`DomainError::TodoNotFound`] once the claim is admitted.
    pub async fn get_as(
        &self,
        claim: &SessionClaim,
        id: TodoId,
    ) -> Result<(Authenticated, Todo), DomainError> {
        let (who, todo) = claim.admit(self.repo.get_as(claim, id).await?)?;
        Ok((who, todo.ok_or(DomainError::TodoNotFound)?))
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
        self.repo.create(owner.id, todo, SystemTime::now()).await
    }

    /// Stores a new todo of the owner's unless `key` already made one, in
    /// which case that one comes back as it was then. The same key with
    /// another todo is [`DomainError::IdempotencyKeyReused`]; while its
    /// first request runs, [`DomainError::RequestInProgress`].
    pub async fn create_once(
        &self,
        owner: &User,
        todo: NewTodo,
        key: &IdempotencyKey,
    ) -> Result<Todo, DomainError> {
        let fingerprint = fingerprint(&todo);
        match self
            .repo
            .create_once(
                owner.id,
                todo,
                key,
                &fingerprint,
                SystemTime::now(),
                self.idempotency.lease,
            )
            .await?
        {
            CreateOnce::Created(todo) | CreateOnce::Replayed(todo) => Ok(todo),
            CreateOnce::InProgress => Err(DomainError::RequestInProgress),
            CreateOnce::Reused => Err(DomainError::IdempotencyKeyReused),
        }
    }

    /// Applies `change` to the owner's todo `id` if it passes
    /// `precondition` ([`DomainError::PreconditionFailed`] if not), in
    /// one statement that checks and changes. [`DomainError::TodoNotFound`]
    /// before all else.
    pub async fn update(
        &self,
        owner: &User,
        id: TodoId,
        change: &TodoChange,
        precondition: &Precondition,
    ) -> Result<Todo, DomainError> {
        if precondition.versions().is_some_and(<[i64]>::is_empty) {
            return Err(self.why_unchanged(owner, id, precondition).await);
        }
        match self
            .repo
            .update(owner.id, id, change, precondition, SystemTime::now())
            .await?
        {
            Some(todo) => Ok(todo),
            None => Err(self.why_unchanged(owner, id, precondition).await),
        }
    }

    /// Deletes the owner's todo `id` if it passes `precondition`, as
    /// [`Todos::update`] changes it.
    pub async fn delete(
        &self,
        owner: &User,
        id: TodoId,
        precondition: &Precondition,
    ) -> Result<(), DomainError> {
        if !precondition.versions().is_some_and(<[i64]>::is_empty)
            && self.repo.delete(owner.id, id, precondition).await?
        {
            return Ok(());
        }
        Err(self.why_unchanged(owner, id, precondition).await)
    }

    /// Deletes the idempotency keys past their retention; how many.
    pub async fn purge_idempotency_keys(&self) -> Result<u64, DomainError> {
        let before = SystemTime::now()
            .checked_sub(self.idempotency.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.repo.purge_idempotency_keys(before).await
    }

    /// Why a write that matched nothing did not apply: the todo is gone,
    /// or it is not at a version the precondition accepts. Only a failed
    /// conditional write reads again.
    async fn why_unchanged(
        &self,
        owner: &User,
        id: TodoId,
        precondition: &Precondition,
    ) -> DomainError {
        if precondition.versions().is_none() {
            return DomainError::TodoNotFound;
        }
        match self.repo.get(owner.id, id).await {
            Ok(Some(_)) => DomainError::PreconditionFailed,
            Ok(None) => DomainError::TodoNotFound,
            Err(err) => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use mockall::predicate::{always, eq};

    use super::*;
    use crate::{MockTodoRepository, PageLimit, TodoContents, UserId, from_micros};

    fn owner() -> User {
        User {
            id: UserId(1),
            username: "alice".into(),
            verified_email: None,
        }
    }

    /// Todo `id`, at version `id * 1000`.
    fn todo(id: i64) -> Todo {
        Todo {
            id: TodoId::new(id).unwrap(),
            owner: UserId(1),
            contents: TodoContents::parse(format!("todo {id}")).unwrap(),
            is_done: false,
            created_at: UNIX_EPOCH,
            updated_at: from_micros(id * 1000),
        }
    }

    fn id(n: i64) -> TodoId {
        TodoId::new(n).unwrap()
    }

    fn milk() -> NewTodo {
        NewTodo {
            contents: TodoContents::parse("milk").unwrap(),
            is_done: false,
        }
    }

    fn done() -> TodoChange {
        TodoChange {
            is_done: Some(true),
            ..TodoChange::default()
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
    async fn a_page_comes_from_the_repository_and_names_the_next_query() {
        let query = TodoQuery {
            order: SortOrder::Desc,
            is_done: Some(false),
            after: Some(id(9)),
            limit: PageLimit::parse("2").unwrap(),
        };
        let mut repo = MockTodoRepository::new();
        repo.expect_page()
            .with(eq(UserId(1)), eq(query))
            .times(1)
            .returning(|_, _| {
                Ok(TodoPage {
                    todos: vec![todo(8), todo(6)],
                    more: true,
                })
            });

        let page = Todos::new(Arc::new(repo))
            .page(&owner(), &query)
            .await
            .unwrap();

        assert_eq!(
            page.next(&query),
            Some(TodoQuery {
                after: Some(id(6)),
                ..query
            })
        );
        let last = TodoPage {
            more: false,
            ..page.clone()
        };
        assert_eq!(last.next(&query), None);
        let empty = TodoPage {
            todos: vec![],
            more: true,
        };
        assert_eq!(empty.next(&query), None);
    }

    #[tokio::test]
    async fn get_of_missing_or_foreign_todo_is_not_found() {
        let mut repo = MockTodoRepository::new();
        repo.expect_get().returning(|_, _| Ok(None));

        let err = Todos::new(Arc::new(repo))
            .get(&owner(), id(99))
            .await
            .unwrap_err();

        assert!(matches!(err, DomainError::TodoNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn create_stores_for_the_owner_now() {
        let mut repo = MockTodoRepository::new();
        let before = SystemTime::now();
        repo.expect_create()
            .withf(move |owner, new, now| *owner == UserId(1) && *new == milk() && *now >= before)
            .times(1)
            .returning(|_, _, _| Ok(todo(5)));

        let created = Todos::new(Arc::new(repo))
            .create(&owner(), milk())
            .await
            .unwrap();

        assert_eq!(created.id.get(), 5);
    }

    #[tokio::test]
    async fn create_once_maps_each_outcome() {
        let key = IdempotencyKey::parse("k-1").unwrap();
        for (outcome, expected) in [
            (CreateOnce::Created(todo(5)), Ok(5)),
            (CreateOnce::Replayed(todo(4)), Ok(4)),
            (CreateOnce::InProgress, Err("in progress")),
            (CreateOnce::Reused, Err("reused")),
        ] {
            let mut repo = MockTodoRepository::new();
            repo.expect_create_once()
                .withf(|owner, new, key, fingerprint, _, lease| {
                    *owner == UserId(1)
                        && *new == milk()
                        && *key == IdempotencyKey::parse("k-1").unwrap()
                        && fingerprint == crate::fingerprint(&milk())
                        && *lease == Duration::from_secs(60)
                })
                .times(1)
                .return_once(move |_, _, _, _, _, _| Ok(outcome));

            let result = Todos::new(Arc::new(repo))
                .create_once(&owner(), milk(), &key)
                .await;

            match (result, expected) {
                (Ok(todo), Ok(id)) => assert_eq!(todo.id.get(), id),
                (Err(DomainError::RequestInProgress), Err("in progress")) => {}
                (Err(DomainError::IdempotencyKeyReused), Err("reused")) => {}
                (result, expected) => panic!("{result:?} for {expected:?}"),
            }
        }
    }

    #[tokio::test]
    async fn an_unconditional_change_is_one_write_and_a_miss_is_not_found() {
        let any = Precondition::Any;
        let mut repo = MockTodoRepository::new();
        repo.expect_get().never();
        repo.expect_update()
            .with(
                eq(UserId(1)),
                eq(id(3)),
                eq(done()),
                eq(any.clone()),
                always(),
            )
            .times(1)
            .returning(|_, _, _, _, _| Ok(Some(todo(3))));
        repo.expect_update()
            .with(always(), eq(id(4)), always(), eq(any.clone()), always())
            .returning(|_, _, _, _, _| Ok(None));
        repo.expect_delete()
            .with(eq(UserId(1)), eq(id(3)), eq(any.clone()))
            .times(1)
            .returning(|_, _, _| Ok(true));
        repo.expect_delete()
            .with(always(), eq(id(4)), eq(any.clone()))
            .returning(|_, _, _| Ok(false));
        let todos = Todos::new(Arc::new(repo));

        assert_eq!(
            todos.update(&owner(), id(3), &done(), &any).await.unwrap(),
            todo(3)
        );
        todos.delete(&owner(), id(3), &any).await.unwrap();
        assert!(matches!(
            todos.update(&owner(), id(4), &done(), &any).await,
            Err(DomainError::TodoNotFound)
        ));
        assert!(matches!(
            todos.delete(&owner(), id(4), &any).await,
            Err(DomainError::TodoNotFound)
        ));
    }

    #[tokio::test]
    async fn a_conditional_change_is_one_write_that_checks_the_versions() {
        let versions = Precondition::VersionIn(vec![3000, 17]);
        let mut repo = MockTodoRepository::new();
        repo.expect_get().never();
        repo.expect_update()
            .with(
                eq(UserId(1)),
                eq(id(3)),
                eq(done()),
                eq(versions.clone()),
                always(),
            )
            .times(1)
            .returning(|_, _, _, _, _| Ok(Some(todo(3))));
        repo.expect_delete()
            .with(eq(UserId(1)), eq(id(3)), eq(versions.clone()))
            .times(1)
            .returning(|_, _, _| Ok(true));
        let todos = Todos::new(Arc::new(repo));

        todos
            .update(&owner(), id(3), &done(), &versions)
            .await
            .unwrap();
        todos.delete(&owner(), id(3), &versions).await.unwrap();
    }

    #[tokio::test]
    async fn no_acceptable_version_writes_nothing_and_is_412_or_404() {
        for (exists, expected) in [(true, "412"), (false, "404")] {
            let mut repo = MockTodoRepository::new();
            repo.expect_get()
                .with(eq(UserId(1)), eq(id(3)))
                .times(2)
                .returning(move |_, _| Ok(exists.then(|| todo(3))));
            repo.expect_update().never();
            repo.expect_delete().never();
            let todos = Todos::new(Arc::new(repo));
            let none = Precondition::VersionIn(Vec::new());

            for err in [
                todos
                    .update(&owner(), id(3), &done(), &none)
                    .await
                    .unwrap_err(),
                todos.delete(&owner(), id(3), &none).await.unwrap_err(),
            ] {
                match expected {
                    "412" => assert!(matches!(err, DomainError::PreconditionFailed), "{err:?}"),
                    _ => assert!(matches!(err, DomainError::TodoNotFound), "{err:?}"),
                }
            }
        }
    }

    #[tokio::test]
    async fn a_conditional_write_that_matched_nothing_reads_to_tell_412_from_404() {
        for (still_there, changed) in [(true, true), (false, false)] {
            let mut repo = MockTodoRepository::new();
            repo.expect_get()
                .times(2)
                .returning(move |_, _| Ok(still_there.then(|| todo(7))));
            repo.expect_update().returning(|_, _, _, _, _| Ok(None));
            repo.expect_delete().returning(|_, _, _| Ok(false));
            let todos = Todos::new(Arc::new(repo));
            let versions = Precondition::VersionIn(vec![3000]);

            let update = todos
                .update(&owner(), id(3), &done(), &versions)
                .await
                .unwrap_err();
            let delete = todos.delete(&owner(), id(3), &versions).await.unwrap_err();
            for err in [update, delete] {
                if changed {
                    assert!(matches!(err, DomainError::PreconditionFailed), "{err:?}");
                } else {
                    assert!(matches!(err, DomainError::TodoNotFound), "{err:?}");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_read_as_a_claim_admits_the_session_read_with_it() {
        use crate::{LoginName, Session, SessionClaim, SessionId, SessionRead};
        let claim = SessionClaim {
            username: LoginName::parse("alice").unwrap(),
            session: SessionId::generate(),
        };
        let live = Session {
            id: claim.session.clone(),
            user: UserId(1),
            created_at: SystemTime::now(),
            expires_at: SystemTime::now() + Duration::from_secs(60),
            ended_at: None,
        };
        let ended = Session {
            ended_at: Some(SystemTime::now()),
            ..live.clone()
        };
        for (session, todo_there, expected) in [
            (Some(live.clone()), true, "ok"),
            (Some(live.clone()), false, "404 todo"),
            (Some(ended), true, "401"),
            (None, true, "401"),
        ] {
            let mut repo = MockTodoRepository::new();
            let read = SessionRead {
                user: owner(),
                session,
                item: todo_there.then(|| todo(3)),
            };
            repo.expect_get_as()
                .with(eq(claim.clone()), eq(id(3)))
                .times(1)
                .returning(move |_, _| Ok(Some(read.clone())));
            let result = Todos::new(Arc::new(repo)).get_as(&claim, id(3)).await;
            match (expected, result) {
                ("ok", Ok((who, found))) => {
                    assert_eq!(
                        (who.user, who.session, found),
                        (owner(), claim.session.clone(), todo(3))
                    )
                }
                ("404 todo", Err(DomainError::TodoNotFound)) => {}
                ("401", Err(DomainError::NotAuthenticated)) => {}
                (expected, result) => panic!("{expected}: {result:?}"),
            }
        }

        let mut repo = MockTodoRepository::new();
        repo.expect_page_as().returning(|_, _| Ok(None));
        let err = Todos::new(Arc::new(repo))
            .page_as(&claim, &TodoQuery::default())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::UserNotFound), "{err:?}");
    }

    #[tokio::test]
    async fn keys_older_than_a_day_are_purged() {
        let mut repo = MockTodoRepository::new();
        let day = Duration::from_secs(24 * 60 * 60);
        let now = SystemTime::now();
        repo.expect_purge_idempotency_keys()
            .withf(move |before| {
                let age = now.duration_since(*before).unwrap();
                age >= day - Duration::from_secs(1) && age <= day + Duration::from_secs(60)
            })
            .times(1)
            .returning(|_| Ok(3));

        assert_eq!(
            Todos::new(Arc::new(repo))
                .purge_idempotency_keys()
                .await
                .unwrap(),
            3
        );
    }
}
