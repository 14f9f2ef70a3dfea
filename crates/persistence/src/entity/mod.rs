//! SeaORM entities: `user` has_many `todo`; `todo.user_id` belongs_to `user`.

pub mod todo;
pub mod user;
