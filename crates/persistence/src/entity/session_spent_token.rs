use sea_orm::entity::prelude::*;

/// A refresh token that was traded in: presenting it again is reuse.
/// Kept until its session is purged.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_spent_token")]
pub struct Model {
    /// [`todos_domain::RefreshDigest`] of the spent token.
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    #[sea_orm(indexed)]
    pub session_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::session::Entity",
        from = "Column::SessionId",
        to = "super::session::Column::Id",
        on_delete = "Cascade"
    )]
    Session,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
