use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    /// The old service named the hash column `password`; the name stays so
    /// its databases upgrade in place.
    #[sea_orm(column_name = "password")]
    pub password_hash: String,
    /// [`todos_domain::UsernameSkeleton`]: indexed, not unique (ASCII
    /// look-alikes such as `rn` and `m` may share one). NULL only on rows
    /// written by an older version during an upgrade.
    pub username_skeleton: Option<String>,
    #[sea_orm(unique)]
    pub email: Option<String>,
    /// [`todos_domain::EmailKey`] of `email`: unique, so verified addresses
    /// are unique whatever their letter case.
    #[sea_orm(unique)]
    pub email_key: Option<String>,
    pub email_verified: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::todo::Entity")]
    Todo,
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::todo::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Todo.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
