use sea_orm::entity::prelude::*;

/// A session. Times are unix seconds: one integer type on every backend,
/// compared in SQL without time-zone or precision differences.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session")]
pub struct Model {
    /// [`todos_domain::SessionId`]: 32 lower-case hex digits.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(indexed)]
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    /// [`todos_domain::RefreshDigest`] of the current refresh token.
    #[sea_orm(unique)]
    pub refresh_digest: String,
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
    #[sea_orm(has_many = "super::session_spent_token::Entity")]
    SpentToken,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::session_spent_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SpentToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
