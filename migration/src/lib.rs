//! Schema migrations, applied by `todos serve` on start and by `todos migrate`.

pub use sea_orm_migration::prelude::*;

mod m20260101_000001_create_user_and_todo;
mod m20260201_000002_add_user_email;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_user_and_todo::Migration),
            Box::new(m20260201_000002_add_user_email::Migration),
        ]
    }
}
