use sea_orm::entity::prelude::*;

/// An `Idempotency-Key` of `POST /todos`, with the todo its first request
/// created (the `todo_*` columns, NULL while that request runs).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// [`todos_domain::IdempotencyKey::digest`].
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_digest: String,
    /// [`todos_domain::fingerprint`] of the first request's todo.
    pub fingerprint: String,
    /// Microseconds since the Unix epoch: first use.
    pub created_at: i64,
    /// Microseconds since the Unix epoch: when the running request took it.
    pub claimed_at: i64,
    /// Random per claim: the running request's proof that it holds the key.
    pub claim_token: String,
    pub todo_id: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub todo_contents: Option<String>,
    pub todo_is_done: Option<bool>,
    pub todo_created_at: Option<i64>,
    pub todo_updated_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
