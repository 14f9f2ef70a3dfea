use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use todos_domain::{
    DomainError, LoginName, RefreshDigest, Rotation, Session, SessionId, SessionRepository, User,
    UserId,
};

use crate::entity::{session, session_spent_token, user};
use crate::error::db_error;
use crate::users::to_user;

pub struct SeaSessionRepository {
    db: DatabaseConnection,
}

impl SeaSessionRepository {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// Whole seconds since the epoch, rounded down (negative before it). For a
/// stored whole second `t`, `t > seconds(now)` exactly when `t > now`, so
/// comparisons in SQL agree with [`Session::is_live`].
fn seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            if before.subsec_nanos() == 0 {
                -whole
            } else {
                -whole.saturating_add(1)
            }
        }
    }
}

fn time(seconds: i64) -> SystemTime {
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// The user of this exact name and, when it is theirs, the session `id`:
/// the select that every bearer check starts from (columns prefixed `A_`
/// and `B_`, as SeaORM's `select_also` names them).
pub(crate) fn user_and_session(
    username: &LoginName,
    id: &SessionId,
) -> sea_orm::SelectTwo<user::Entity, session::Entity> {
    let id = id.as_str().to_owned();
    user::Entity::find()
        .select_also(session::Entity)
        .join(
            JoinType::LeftJoin,
            user::Relation::Session
                .def()
                .on_condition(move |_user, session_table| {
                    Expr::col((session_table, session::Column::Id))
                        .eq(id.clone())
                        .into()
                }),
        )
        .filter(user::Column::Username.eq(username.as_str()))
}

pub(crate) fn to_session(model: session::Model) -> Result<Session, DomainError> {
    let id = SessionId::parse(&model.id)
        .ok_or_else(|| DomainError::unexpected(format!("stored session id {:?}", model.id)))?;
    Ok(Session {
        id,
        user: UserId(model.user_id),
        created_at: time(model.created_at),
        expires_at: time(model.expires_at),
        ended_at: model.ended_at.map(time),
    })
}

/// The user's sessions that are live at `now` (the same test as
/// [`Session::is_live`]).
fn live(user: UserId, now: SystemTime) -> Condition {
    Condition::all()
        .add(session::Column::UserId.eq(user.0))
        .add(session::Column::EndedAt.is_null())
        .add(session::Column::ExpiresAt.gt(seconds(now)))
}

/// Ends the sessions matching `condition` that have not ended yet: setting
/// `ended_at` from NULL changes every matched row, so the count is the
/// same whether the server reports matched (PostgreSQL, SQLite) or
/// changed rows (MySQL).
async fn end_where(
    db: &impl sea_orm::ConnectionTrait,
    condition: Condition,
    now: SystemTime,
) -> Result<u64, DomainError> {
    let ended = session::Entity::update_many()
        .col_expr(session::Column::EndedAt, Expr::value(seconds(now)))
        .filter(condition)
        .filter(session::Column::EndedAt.is_null())
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(ended.rows_affected)
}

/// The rest of a rotation whose update matched no live session: was
/// `presented` spent before? Then it is being reused, and its session ends.
/// Needs no transaction: spent tokens stay until their session is purged,
/// and ending a session twice changes nothing.
async fn after_no_rotation(
    db: &DatabaseConnection,
    presented: &RefreshDigest,
    now: SystemTime,
) -> Result<Rotation, DomainError> {
    let spent = session_spent_token::Entity::find_by_id(presented.as_str())
        .one(db)
        .await
        .map_err(db_error)?;
    let Some(spent) = spent else {
        return Ok(Rotation::Unknown);
    };
    end_where(
        db,
        Condition::all().add(session::Column::Id.eq(spent.session_id)),
        now,
    )
    .await?;
    Ok(Rotation::Reused)
}

#[async_trait]
impl SessionRepository for SeaSessionRepository {
    async fn create(&self, session: &Session, refresh: &RefreshDigest) -> Result<(), DomainError> {
        session::ActiveModel {
            id: Set(session.id.as_str().to_owned()),
            user_id: Set(session.user.0),
            created_at: Set(seconds(session.created_at)),
            expires_at: Set(seconds(session.expires_at)),
            ended_at: Set(session.ended_at.map(seconds)),
            refresh_digest: Set(refresh.as_str().to_owned()),
        }
        .insert(&self.db)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// `user LEFT JOIN session ON session.user_id = user.id AND session.id
    /// = ?`: the id condition sits in the join, not the WHERE, so a missing
    /// or foreign session still yields the user.
    async fn find_user_and_session(
        &self,
        username: &LoginName,
        id: &SessionId,
    ) -> Result<Option<(User, Option<Session>)>, DomainError> {
        let found = user_and_session(username, id)
            .one(&self.db)
            .await
            .map_err(db_error)?;
        let Some((user, session)) = found else {
            return Ok(None);
        };
        Ok(Some((to_user(&user), session.map(to_session).transpose()?)))
    }

    async fn list_live(&self, user: UserId, now: SystemTime) -> Result<Vec<Session>, DomainError> {
        session::Entity::find()
            .filter(live(user, now))
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(to_session)
            .collect()
    }

    async fn end(
        &self,
        user: UserId,
        id: &SessionId,
        now: SystemTime,
    ) -> Result<bool, DomainError> {
        let condition = live(user, now).add(session::Column::Id.eq(id.as_str()));
        Ok(end_where(&self.db, condition, now).await? == 1)
    }

    async fn end_all(&self, user: UserId, now: SystemTime) -> Result<(), DomainError> {
        end_where(&self.db, live(user, now), now).await?;
        Ok(())
    }

    async fn end_all_except(
        &self,
        user: UserId,
        keep: &SessionId,
        now: SystemTime,
    ) -> Result<(), DomainError> {
        let others = live(user, now).add(session::Column::Id.ne(keep.as_str()));
        end_where(&self.db, others, now).await?;
        Ok(())
    }

    /// The conditional UPDATE comes first and decides: concurrent
    /// rotations with one token queue on its row (SQLite's write lock,
    /// InnoDB's and PostgreSQL's row locks), and each after the first
    /// re-checks `refresh_digest = presented` against the committed row,
    /// finds the next digest there and updates nothing. Writing first also
    /// keeps SQLite from failing a transaction that read before it wrote
    /// (a stale WAL snapshot is SQLITE_BUSY at once, without waiting).
    async fn rotate(
        &self,
        presented: &RefreshDigest,
        next: &RefreshDigest,
        now: SystemTime,
    ) -> Result<Rotation, DomainError> {
        // A token that is no live session's current one (junk, spent,
        // expired) is answered from a plain read: on SQLite a write
        // transaction would take the database's one write lock, so a flood
        // of junk tokens would queue every real write behind it. The
        // conditional UPDATE below still decides races.
        let current = session::Entity::find()
            .select_only()
            .column(session::Column::Id)
            .filter(session::Column::RefreshDigest.eq(presented.as_str()))
            .filter(session::Column::EndedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(seconds(now)))
            .into_tuple::<String>()
            .one(&self.db)
            .await
            .map_err(db_error)?;
        if current.is_none() {
            return after_no_rotation(&self.db, presented, now).await;
        }
        let txn = self.db.begin().await.map_err(db_error)?;
        let rotated = session::Entity::update_many()
            .col_expr(session::Column::RefreshDigest, Expr::value(next.as_str()))
            .filter(session::Column::RefreshDigest.eq(presented.as_str()))
            .filter(session::Column::EndedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(seconds(now)))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        if rotated.rows_affected == 0 {
            // Nothing was written. Ending the transaction first gives back
            // the locks taken for the update (InnoDB's gap lock where the
            // digest would be): holding them while waiting for the row of
            // a session being rotated could close a deadlock cycle.
            txn.rollback().await.map_err(db_error)?;
            return after_no_rotation(&self.db, presented, now).await;
        }
        // `next` is fresh and unique: it finds the row just updated.
        let (session, user) = session::Entity::find()
            .filter(session::Column::RefreshDigest.eq(next.as_str()))
            .find_also_related(user::Entity)
            .one(&txn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| DomainError::unexpected("rotated session not found"))?;
        let user = user.ok_or_else(|| DomainError::unexpected("rotated session has no user"))?;
        session_spent_token::ActiveModel {
            digest: Set(presented.as_str().to_owned()),
            session_id: Set(session.id.clone()),
        }
        .insert(&txn)
        .await
        .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        Ok(Rotation::Rotated {
            session: to_session(session)?,
            username: user.username,
        })
    }

    /// Spent tokens go with their session (ON DELETE CASCADE; SQLite
    /// connections enforce foreign keys, see `connect`).
    ///
    /// The ids are found by a plain read and deleted by primary key in
    /// batches: a DELETE with this condition would scan, and on InnoDB
    /// lock, the whole table, live sessions included, and could deadlock
    /// with a concurrent rotation.
    async fn purge(&self, now: SystemTime) -> Result<u64, DomainError> {
        const BATCH: u64 = 500;
        let mut purged = 0;
        loop {
            let ids: Vec<String> = session::Entity::find()
                .select_only()
                .column(session::Column::Id)
                .filter(
                    Condition::any()
                        .add(session::Column::EndedAt.is_not_null())
                        .add(session::Column::ExpiresAt.lte(seconds(now))),
                )
                .limit(BATCH)
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(db_error)?;
            let found = ids.len() as u64;
            if found == 0 {
                return Ok(purged);
            }
            purged += session::Entity::delete_many()
                .filter(session::Column::Id.is_in(ids))
                .exec(&self.db)
                .await
                .map_err(db_error)?
                .rows_affected;
            if found < BATCH {
                return Ok(purged);
            }
        }
    }
}
