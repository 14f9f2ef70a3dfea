use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, FromQueryResult, IdenStatic, Iterable, JoinType, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, QueryTrait, RelationTrait, Set, Statement, TransactionTrait,
    sea_query::{CaseStatement, Expr, ExprTrait, OnConflict, Query},
};
use todos_domain::{
    CreateOnce, DomainError, IdempotencyKey, NewTodo, Precondition, SessionClaim, SessionRead,
    SortOrder, Todo, TodoChange, TodoContents, TodoId, TodoPage, TodoQuery, TodoRepository, UserId,
    from_micros, micros,
};

use crate::entity::{idempotency_key, session, todo, user};
use crate::error::db_error;
use crate::sessions::{to_session, user_and_session};
use crate::users::to_user;
use crate::{InPlaceReads, Store, Writes};

pub struct SeaTodoRepository {
    db: DatabaseConnection,
    writes: Writes,
    in_place: Option<InPlaceReads>,
}

impl SeaTodoRepository {
    /// Reads and writes on `db`'s pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            writes: Writes::Pool(db.clone()),
            db,
            in_place: None,
        }
    }

    /// Reads on the store's pool, the bearer-checked reads in place where
    /// the store has [`InPlaceReads`]; creations, changes and deletions of
    /// todos as its [`Writes`] says.
    pub fn with_store(store: &Store) -> Self {
        Self {
            db: store.reads.clone(),
            writes: store.writes.clone(),
            in_place: store.in_place.clone(),
        }
    }
}

fn to_todo(model: todo::Model) -> Result<Todo, DomainError> {
    let id = TodoId::new(model.id)
        .ok_or_else(|| DomainError::unexpected(format!("stored todo has id {}", model.id)))?;
    Ok(Todo {
        id,
        owner: UserId(model.user_id),
        contents: TodoContents::from_stored(model.contents),
        is_done: model.is_done,
        created_at: from_micros(model.created_at),
        updated_at: from_micros(model.updated_at),
    })
}

/// Every query filters on the owner too, so another user's todo is simply
/// not found.
fn owned(owner: UserId) -> sea_orm::Select<todo::Entity> {
    todo::Entity::find().filter(todo::Column::UserId.eq(owner.0))
}

fn sql_order(order: SortOrder) -> sea_orm::Order {
    match order {
        SortOrder::Asc => sea_orm::Order::Asc,
        SortOrder::Desc => sea_orm::Order::Desc,
    }
}

/// The one statement behind a page: one row more than the page holds, to
/// know whether more follow. The indexes `(user_id, id)` and `(user_id,
/// is_done, id)` serve it in order, touching no other user's rows and,
/// filtered, none of the other state (README: "For client authors" shows
/// the plans).
pub fn page_select(owner: UserId, query: &TodoQuery) -> sea_orm::Select<todo::Entity> {
    page_order(owned(owner).filter(page_filter(query)), query)
}

/// Which of a user's todos a page may hold.
fn page_filter(query: &TodoQuery) -> Condition {
    let mut filter = Condition::all();
    if let Some(is_done) = query.is_done {
        filter = filter.add(todo::Column::IsDone.eq(is_done));
    }
    if let Some(after) = query.after {
        filter = filter.add(match query.order {
            SortOrder::Asc => todo::Column::Id.gt(after.get()),
            SortOrder::Desc => todo::Column::Id.lt(after.get()),
        });
    }
    filter
}

/// A page's order and size: one row more than the page holds.
fn page_order<S: QueryOrder + QuerySelect>(select: S, query: &TodoQuery) -> S {
    // Ordering by the index's leading columns too changes nothing (they
    // are fixed by the filter) but lets PostgreSQL see that the index
    // gives the order, instead of walking the primary key and filtering
    // out other users' rows.
    let order = sql_order(query.order);
    let mut select = select.order_by(todo::Column::UserId, order.clone());
    if query.is_done.is_some() {
        select = select.order_by(todo::Column::IsDone, order.clone());
    }
    select
        .order_by(todo::Column::Id, order)
        .limit(query.limit.get() + 1)
}

/// The todo `id` of `owner`, at a version `If-Match` names (if it names
/// any): a write checks its precondition in its own `WHERE`.
fn target(owner: UserId, id: TodoId, precondition: &Precondition) -> Condition {
    let target = Condition::all()
        .add(todo::Column::Id.eq(id.get()))
        .add(todo::Column::UserId.eq(owner.0));
    match precondition.versions() {
        Some(versions) => target.add(todo::Column::UpdatedAt.is_in(versions.iter().copied())),
        None => target,
    }
}

/// The first `limit` todos and whether more were read.
fn into_page(mut todos: Vec<Todo>, limit: u64) -> TodoPage {
    let more = todos.len() as u64 > limit;
    todos.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    TodoPage { todos, more }
}

/// Column prefix of the todo in a [`user_and_session`] select, after
/// SeaORM's `A_` (user) and `B_` (session).
const TODO_PREFIX: &str = "C_";

/// The user and session a claim names, joined to the user's todos that
/// `todos` selects: every row carries the user and session; with no such
/// todo, one row carries them alone.
fn claimed_with_todos(
    claim: &SessionClaim,
    todos: Condition,
) -> sea_orm::SelectTwo<user::Entity, session::Entity> {
    let mut select = user_and_session(&claim.username, &claim.session).join(
        JoinType::LeftJoin,
        user::Relation::Todo
            .def()
            .on_condition(move |_user, _todo| todos.clone()),
    );
    for column in todo::Column::iter() {
        QueryTrait::query(&mut select).expr_as(
            Expr::col((todo::Entity, column)),
            format!("{TODO_PREFIX}{}", column.as_str()),
        );
    }
    select
}

/// The one statement behind `GET /todos`: the bearer check's user and
/// session joined to the page [`page_select`] reads, in the same order
/// from the same indexes.
pub fn claimed_page_select(
    claim: &SessionClaim,
    query: &TodoQuery,
) -> sea_orm::SelectTwo<user::Entity, session::Entity> {
    page_order(claimed_with_todos(claim, page_filter(query)), query)
}

impl SeaTodoRepository {
    /// A page's statement: one row more than the page, to tell whether
    /// there is a next one.
    fn page_statement(&self, select: &impl QueryTrait, query: &TodoQuery) -> Statement {
        with_literal_limit(
            self.db.get_database_backend(),
            select,
            query.limit.get() + 1,
        )
    }

    /// Runs a [`claimed_with_todos`] statement: `None` without the user.
    async fn read_claimed(
        &self,
        statement: Statement,
    ) -> Result<Option<SessionRead<Vec<Todo>>>, DomainError> {
        if let Some(in_place) = &self.in_place {
            match in_place_read(in_place, &statement) {
                Ok(read) => return read,
                // The pool's answer stands; see `InPlaceReads`.
                Err(error) => tracing::debug!(%error, "in-place read handed to the pool"),
            }
        }
        let rows = self.db.query_all_raw(statement).await.map_err(db_error)?;
        session_read(rows)
    }
}

/// A page's statement with its `LIMIT` written into the SQL instead of
/// bound. SQLite re-prepares a statement whenever a parameter its `LIMIT`
/// uses is bound again, and sqlx binds on every run: that re-preparation
/// was a fifth of the CPU of `GET /todos` under load (BENCHMARKS.md). The
/// limit is a validated number (1–1001), and the few limits clients use
/// each keep a prepared statement of their own.
fn with_literal_limit(backend: DbBackend, select: &impl QueryTrait, limit: u64) -> Statement {
    let mut statement = select.build(backend);
    let placeholder = statement
        .sql
        .rfind(" LIMIT ")
        .map(|at| at + " LIMIT ".len());
    let last_value = statement.values.as_mut().and_then(|values| values.0.pop());
    match (placeholder, last_value) {
        (Some(at), Some(sea_orm::Value::BigUnsigned(Some(bound)))) if bound == limit => {
            statement.sql.truncate(at);
            statement.sql.push_str(&limit.to_string());
            statement
        }
        // Not the shape sea-query writes: the statement as built.
        _ => select.build(backend),
    }
}

/// What [`claimed_with_todos`] read: `None` without the user.
fn session_read(rows: Vec<QueryResult>) -> Result<Option<SessionRead<Vec<Todo>>>, DomainError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let user = user::Model::from_query_result(first, "A_").map_err(db_error)?;
    let session = session::Model::from_query_result_optional(first, "B_").map_err(db_error)?;
    let mut todos = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(todo) =
            todo::Model::from_query_result_optional(row, TODO_PREFIX).map_err(db_error)?
        {
            todos.push(todo);
        }
    }
    claimed_read(user, session, todos)
}

fn claimed_read(
    user: user::Model,
    session: Option<session::Model>,
    todos: Vec<todo::Model>,
) -> Result<Option<SessionRead<Vec<Todo>>>, DomainError> {
    Ok(Some(SessionRead {
        user: to_user(&user),
        session: session.map(to_session).transpose()?,
        item: todos.into_iter().map(to_todo).collect::<Result<_, _>>()?,
    }))
}

/// [`session_read`] through [`InPlaceReads`], decoding the rows by hand:
/// the user and session from the first row only, a todo from each.
fn in_place_read(
    in_place: &InPlaceReads,
    statement: &Statement,
) -> rusqlite::Result<Result<Option<SessionRead<Vec<Todo>>>, DomainError>> {
    let mut first = true;
    let rows = in_place.query_map(statement, |row| {
        let head = if std::mem::take(&mut first) {
            Some((in_place_user(row)?, in_place_session(row)?))
        } else {
            None
        };
        Ok((head, in_place_todo(row)?))
    })?;
    let mut rows = rows.into_iter();
    let Some((Some((user, session)), first_todo)) = rows.next() else {
        return Ok(Ok(None));
    };
    let todos = first_todo
        .into_iter()
        .chain(rows.filter_map(|(_, todo)| todo))
        .collect();
    Ok(claimed_read(user, session, todos))
}

fn in_place_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<user::Model> {
    Ok(user::Model {
        id: row.get("A_id")?,
        username: row.get("A_username")?,
        password_hash: row.get("A_password")?,
        username_skeleton: row.get("A_username_skeleton")?,
        email: row.get("A_email")?,
        email_key: row.get("A_email_key")?,
        email_verified: row.get("A_email_verified")?,
    })
}

fn in_place_session(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<session::Model>> {
    let Some(id) = row.get("B_id")? else {
        return Ok(None);
    };
    Ok(Some(session::Model {
        id,
        user_id: row.get("B_user_id")?,
        created_at: row.get("B_created_at")?,
        expires_at: row.get("B_expires_at")?,
        ended_at: row.get("B_ended_at")?,
        refresh_digest: row.get("B_refresh_digest")?,
    }))
}

fn in_place_todo(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<todo::Model>> {
    let Some(id) = row.get("C_id")? else {
        return Ok(None);
    };
    Ok(Some(todo::Model {
        id,
        contents: row.get("C_contents")?,
        is_done: row.get("C_is_done")?,
        user_id: row.get("C_user_id")?,
        created_at: row.get("C_created_at")?,
        updated_at: row.get("C_updated_at")?,
    }))
}

/// The todo a key's first request created, as recorded with the key.
fn recorded_todo(key: &idempotency_key::Model) -> Option<Todo> {
    Some(Todo {
        id: TodoId::new(key.todo_id?)?,
        owner: UserId(key.user_id),
        contents: TodoContents::from_stored(key.todo_contents.clone()?),
        is_done: key.todo_is_done?,
        created_at: from_micros(key.todo_created_at?),
        updated_at: from_micros(key.todo_updated_at?),
    })
}

/// The key row of `owner`'s key `digest`.
fn key_of(owner: UserId, digest: &str) -> sea_orm::Select<idempotency_key::Entity> {
    idempotency_key::Entity::find()
        .filter(idempotency_key::Column::UserId.eq(owner.0))
        .filter(idempotency_key::Column::KeyDigest.eq(digest))
}

/// A new claim token: 128 random bits as hex.
fn claim_token() -> String {
    let bits: u128 = rand::random();
    format!("{bits:032x}")
}

/// The key rows of `owner`'s key `digest` still held by `token`, with no
/// todo recorded yet.
fn held(owner: UserId, digest: &str, token: &str) -> Condition {
    Condition::all()
        .add(idempotency_key::Column::UserId.eq(owner.0))
        .add(idempotency_key::Column::KeyDigest.eq(digest))
        .add(idempotency_key::Column::ClaimToken.eq(token))
        .add(idempotency_key::Column::TodoId.is_null())
}

impl SeaTodoRepository {
    /// Takes `owner`'s key for a request that starts at `now`: the claim
    /// token that proves it, or how the key is taken already.
    async fn claim(
        &self,
        owner: UserId,
        digest: &str,
        fingerprint: &str,
        now: i64,
        lease: Duration,
    ) -> Result<Result<String, CreateOnce>, DomainError> {
        let token = claim_token();
        // The primary key decides: of concurrent first uses, one inserts.
        // Who won is read back, not counted: for a taken key MySQL's
        // `ON DUPLICATE KEY UPDATE` reports a row as the others report none.
        let insert = Query::insert()
            .into_table(idempotency_key::Entity)
            .columns([
                idempotency_key::Column::UserId,
                idempotency_key::Column::KeyDigest,
                idempotency_key::Column::Fingerprint,
                idempotency_key::Column::CreatedAt,
                idempotency_key::Column::ClaimedAt,
                idempotency_key::Column::ClaimToken,
            ])
            .values_panic([
                owner.0.into(),
                digest.into(),
                fingerprint.into(),
                now.into(),
                now.into(),
                token.clone().into(),
            ])
            .on_conflict(
                OnConflict::columns([
                    idempotency_key::Column::UserId,
                    idempotency_key::Column::KeyDigest,
                ])
                .do_nothing_on([idempotency_key::Column::UserId])
                .to_owned(),
            )
            .to_owned();
        self.writes
            .run_statement(move |db| Box::pin(async move { db.execute(&insert).await }))
            .await
            .map_err(db_error)?;
        let Some(existing) = key_of(owner, digest)
            .one(&self.db)
            .await
            .map_err(db_error)?
        else {
            // Purged or released between the two statements: as if running.
            return Ok(Err(CreateOnce::InProgress));
        };
        if existing.claim_token == token {
            return Ok(Ok(token));
        }
        if existing.fingerprint != fingerprint {
            return Ok(Err(CreateOnce::Reused));
        }
        if let Some(todo) = recorded_todo(&existing) {
            return Ok(Err(CreateOnce::Replayed(todo)));
        }
        let lease = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
        if existing.claimed_at > now.saturating_sub(lease) {
            return Ok(Err(CreateOnce::InProgress));
        }
        // A request that died holding the key: take it over, unless
        // another repeat just did (then its token is there, not the old one).
        let take_over = idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::ClaimedAt, Expr::value(now))
            .col_expr(
                idempotency_key::Column::ClaimToken,
                Expr::value(token.clone()),
            )
            .filter(held(owner, digest, &existing.claim_token));
        let taken = self
            .writes
            .run_statement(move |db| Box::pin(async move { take_over.exec(&db).await }))
            .await
            .map_err(db_error)?;
        Ok(if taken.rows_affected == 1 {
            Ok(token)
        } else {
            Err(CreateOnce::InProgress)
        })
    }

    /// Creates the todo and records it with the key held by `token`, in
    /// one transaction.
    async fn create_claimed(
        &self,
        owner: UserId,
        new: NewTodo,
        digest: &str,
        token: &str,
        now: i64,
    ) -> Result<CreateOnce, DomainError> {
        let held = held(owner, digest, token);
        let created = self
            .writes
            .run(move |db| {
                Box::pin(async move {
                    // A savepoint inside the writer's batch, or a
                    // transaction of its own on the pool.
                    let txn = db.begin().await?;
                    let created = insert_todo(&txn, owner, new, now).await?;
                    let recorded = idempotency_key::Entity::update_many()
                        .col_expr(idempotency_key::Column::TodoId, Expr::value(created.id))
                        .col_expr(
                            idempotency_key::Column::TodoContents,
                            Expr::value(created.contents.clone()),
                        )
                        .col_expr(
                            idempotency_key::Column::TodoIsDone,
                            Expr::value(created.is_done),
                        )
                        .col_expr(
                            idempotency_key::Column::TodoCreatedAt,
                            Expr::value(created.created_at),
                        )
                        .col_expr(
                            idempotency_key::Column::TodoUpdatedAt,
                            Expr::value(created.updated_at),
                        )
                        .filter(held)
                        .exec(&txn)
                        .await?;
                    if recorded.rows_affected != 1 {
                        // Our claim was taken over (we ran past the
                        // lease): the todo goes with the rollback.
                        txn.rollback().await?;
                        return Ok(None);
                    }
                    txn.commit().await?;
                    Ok(Some(created))
                })
            })
            .await
            .map_err(db_error)?;
        match created {
            Some(created) => Ok(CreateOnce::Created(to_todo(created)?)),
            None => Ok(CreateOnce::InProgress),
        }
    }
}

async fn insert_todo(
    db: &impl sea_orm::ConnectionTrait,
    owner: UserId,
    new: NewTodo,
    now: i64,
) -> Result<todo::Model, sea_orm::DbErr> {
    todo::ActiveModel {
        contents: Set(new.contents.into_inner()),
        is_done: Set(new.is_done),
        user_id: Set(owner.0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

#[async_trait]
impl TodoRepository for SeaTodoRepository {
    /// One statement, whatever the number of todos.
    async fn list(&self, owner: UserId, order: SortOrder) -> Result<Vec<Todo>, DomainError> {
        owned(owner)
            .order_by(todo::Column::Id, sql_order(order))
            .all(&self.db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(to_todo)
            .collect()
    }

    /// One statement: [`page_select`].
    async fn page(&self, owner: UserId, query: &TodoQuery) -> Result<TodoPage, DomainError> {
        let statement = self.page_statement(&page_select(owner, query), query);
        let todos = todo::Entity::find()
            .from_raw_sql(statement)
            .all(&self.db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(to_todo)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(todos, query.limit.get()))
    }

    /// One statement: the bearer check's select, joined to the page.
    async fn page_as(
        &self,
        claim: &SessionClaim,
        query: &TodoQuery,
    ) -> Result<Option<SessionRead<TodoPage>>, DomainError> {
        let statement = self.page_statement(&claimed_page_select(claim, query), query);
        let read = self.read_claimed(statement).await?;
        Ok(read.map(|read| read.map(|todos| into_page(todos, query.limit.get()))))
    }

    /// One statement, as [`SeaTodoRepository::page_as`].
    async fn get_as(
        &self,
        claim: &SessionClaim,
        id: TodoId,
    ) -> Result<Option<SessionRead<Option<Todo>>>, DomainError> {
        let todo = Condition::all().add(todo::Column::Id.eq(id.get()));
        let select = claimed_with_todos(claim, todo);
        let read = self
            .read_claimed(select.build(self.db.get_database_backend()))
            .await?;
        Ok(read.map(|read| read.map(|todos| todos.into_iter().next())))
    }

    async fn get(&self, owner: UserId, id: TodoId) -> Result<Option<Todo>, DomainError> {
        owned(owner)
            .filter(todo::Column::Id.eq(id.get()))
            .one(&self.db)
            .await
            .map_err(db_error)?
            .map(to_todo)
            .transpose()
    }

    async fn create(
        &self,
        owner: UserId,
        new: NewTodo,
        now: SystemTime,
    ) -> Result<Todo, DomainError> {
        let now = micros(now);
        let created = self
            .writes
            .run_statement(move |db| {
                Box::pin(async move { insert_todo(&db, owner, new, now).await })
            })
            .await
            .map_err(db_error)?;
        to_todo(created)
    }

    /// The key is claimed first, in a statement of its own, so that a
    /// repeat arriving meanwhile sees it and answers 409 instead of
    /// waiting; the todo and the key's record of it then commit together.
    /// A failure gives the key back, so the request can be retried.
    async fn create_once(
        &self,
        owner: UserId,
        new: NewTodo,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: SystemTime,
        lease: Duration,
    ) -> Result<CreateOnce, DomainError> {
        let digest = key.digest();
        let now = micros(now);
        let token = match self.claim(owner, &digest, fingerprint, now, lease).await? {
            Ok(token) => token,
            Err(taken) => return Ok(taken),
        };
        let outcome = self.create_claimed(owner, new, &digest, &token, now).await;
        if outcome.is_err() {
            // Best effort: should this fail too, the lease frees the key.
            let release =
                idempotency_key::Entity::delete_many().filter(held(owner, &digest, &token));
            let _ = self
                .writes
                .run_statement(move |db| Box::pin(async move { release.exec(&db).await }))
                .await;
        }
        outcome
    }

    /// `updated_at` moves to `now`, or a microsecond past its old value
    /// when that is later (a clock step back, two changes in one
    /// microsecond), so every change makes a new version. The update
    /// always changes a row it matches, so MySQL's count of changed rows
    /// equals the matched ones.
    async fn update(
        &self,
        owner: UserId,
        id: TodoId,
        change: &TodoChange,
        precondition: &Precondition,
        now: SystemTime,
    ) -> Result<Option<Todo>, DomainError> {
        let now = micros(now);
        let mut update = todo::Entity::update_many()
            .col_expr(
                todo::Column::UpdatedAt,
                CaseStatement::new()
                    .case(todo::Column::UpdatedAt.lt(now), Expr::value(now))
                    .finally(Expr::col(todo::Column::UpdatedAt).add(1))
                    .into(),
            )
            .filter(target(owner, id, precondition));
        if let Some(contents) = &change.contents {
            update = update.col_expr(todo::Column::Contents, Expr::value(contents.as_str()));
        }
        if let Some(is_done) = change.is_done {
            update = update.col_expr(todo::Column::IsDone, Expr::value(is_done));
        }
        // The queue is SQLite's, where the update is one statement.
        let updated = self
            .writes
            .run_statement(move |db| {
                Box::pin(async move {
                    // One statement where the database has RETURNING
                    // (SQLite, PostgreSQL); MySQL and MariaDB read it back.
                    if db.support_returning() {
                        return Ok(update.exec_with_returning(&db).await?.pop());
                    }
                    if update.exec(&db).await?.rows_affected == 0 {
                        return Ok(None);
                    }
                    owned(owner)
                        .filter(todo::Column::Id.eq(id.get()))
                        .one(&db)
                        .await
                })
            })
            .await
            .map_err(db_error)?;
        updated.map(to_todo).transpose()
    }

    async fn delete(
        &self,
        owner: UserId,
        id: TodoId,
        precondition: &Precondition,
    ) -> Result<bool, DomainError> {
        let delete = todo::Entity::delete_many().filter(target(owner, id, precondition));
        let deleted = self
            .writes
            .run_statement(move |db| Box::pin(async move { delete.exec(&db).await }))
            .await
            .map_err(db_error)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn purge_idempotency_keys(&self, before: SystemTime) -> Result<u64, DomainError> {
        let purge = idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::CreatedAt.lt(micros(before)));
        let purged = self
            .writes
            .run_statement(move |db| Box::pin(async move { purge.exec(&db).await }))
            .await
            .map_err(db_error)?;
        Ok(purged.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use todos_domain::{LoginName, PageLimit, SessionId};

    use super::*;

    #[test]
    fn a_page_limit_is_written_into_the_sql_on_every_backend() {
        let query = TodoQuery {
            order: SortOrder::Desc,
            is_done: Some(true),
            after: TodoId::new(9),
            limit: PageLimit::parse("10").unwrap(),
        };
        let claim = SessionClaim {
            username: LoginName::parse("alice").unwrap(),
            session: SessionId::generate(),
        };
        for backend in [DbBackend::Sqlite, DbBackend::MySql, DbBackend::Postgres] {
            for (bound, written) in [
                (
                    page_select(UserId(7), &query).build(backend),
                    with_literal_limit(backend, &page_select(UserId(7), &query), 11),
                ),
                (
                    claimed_page_select(&claim, &query).build(backend),
                    with_literal_limit(backend, &claimed_page_select(&claim, &query), 11),
                ),
            ] {
                assert!(
                    written.sql.ends_with(" LIMIT 11"),
                    "{backend:?}: {}",
                    written.sql
                );
                let values = |s: &Statement| s.values.as_ref().map_or(0, |v| v.0.len());
                assert_eq!(values(&written) + 1, values(&bound), "{backend:?}");
                assert_eq!(
                    written.sql.rsplit_once(" LIMIT ").unwrap().0,
                    bound.sql.rsplit_once(" LIMIT ").unwrap().0,
                    "{backend:?}: only the limit differs"
                );
            }
        }
    }

    /// A user with a live session and three todos, on a SQLite file.
    async fn claimed_user(dir: &tempfile::TempDir) -> (Store, SessionClaim) {
        use crate::{DatabaseSettings, SeaSessionRepository, SeaUserRepository};
        use todos_domain::UserRepository;
        use todos_domain::{PasswordHash, RefreshDigest, Session, SessionRepository, Username};

        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::open(&DatabaseSettings::new(url)).await.unwrap();
        let username = Username::parse("alice").unwrap();
        let user = SeaUserRepository::new(store.reads.clone())
            .create(&username, &PasswordHash::new("$argon2id$not-used".into()))
            .await
            .unwrap();
        let now = SystemTime::now();
        let session = Session {
            id: SessionId::generate(),
            user: user.id,
            created_at: now,
            expires_at: now + Duration::from_secs(3600),
            ended_at: None,
        };
        SeaSessionRepository::new(store.reads.clone())
            .create(&session, &RefreshDigest::from_stored("digest".into()))
            .await
            .unwrap();
        let todos = SeaTodoRepository::with_store(&store);
        for (i, is_done) in [false, true, false].into_iter().enumerate() {
            let new = NewTodo {
                contents: TodoContents::parse(format!("todo {i}")).unwrap(),
                is_done,
            };
            todos.create(user.id, new, now).await.unwrap();
        }
        let claim = SessionClaim {
            username: LoginName::parse("alice").unwrap(),
            session: session.id,
        };
        (store, claim)
    }

    #[tokio::test]
    async fn in_place_reads_decode_what_the_pool_reads() {
        let dir = tempfile::tempdir().unwrap();
        let (store, claim) = claimed_user(&dir).await;
        let in_place = store
            .in_place
            .clone()
            .expect("a SQLite file reads in place");
        let query = TodoQuery {
            order: SortOrder::Desc,
            is_done: Some(false),
            after: None,
            limit: PageLimit::parse("10").unwrap(),
        };
        for statement in [
            with_literal_limit(DbBackend::Sqlite, &claimed_page_select(&claim, &query), 11),
            claimed_with_todos(&claim, Condition::all()).build(DbBackend::Sqlite),
        ] {
            let rows = store.reads.query_all_raw(statement.clone()).await.unwrap();
            let pooled = session_read(rows).unwrap().expect("alice is there");
            let read = in_place_read(&in_place, &statement)
                .expect("decoded in place, not handed to the pool")
                .unwrap()
                .expect("alice is there");
            assert_eq!(read.user, pooled.user);
            assert_eq!(read.session, pooled.session);
            assert_eq!(read.item, pooled.item);
            assert!(!read.item.is_empty());
        }
        let nobody = SessionClaim {
            username: LoginName::parse("bob").unwrap(),
            session: claim.session,
        };
        let statement = claimed_with_todos(&nobody, Condition::all()).build(DbBackend::Sqlite);
        assert!(
            in_place_read(&in_place, &statement)
                .unwrap()
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_read_that_fails_in_place_is_served_by_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, claim) = claimed_user(&dir).await;
        let query = TodoQuery {
            order: SortOrder::Asc,
            is_done: None,
            after: None,
            limit: PageLimit::parse("2").unwrap(),
        };
        let expected = SeaTodoRepository::with_store(&store)
            .page_as(&claim, &query)
            .await
            .unwrap()
            .expect("alice is there");
        let missing = dir.path().join("no such dir").join("t.db");
        store.in_place = Some(InPlaceReads::at(missing, Default::default()));
        let read = SeaTodoRepository::with_store(&store)
            .page_as(&claim, &query)
            .await
            .unwrap()
            .expect("alice is there");
        assert_eq!(read.item, expected.item);
        assert_eq!(read.item.todos.len(), 2);
    }
}
