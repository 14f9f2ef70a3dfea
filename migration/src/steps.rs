//! Steps that check what is already there, so a migration can run again
//! after a partial failure (MySQL commits each DDL statement at once) and
//! upgrade databases that other tools set up.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DbBackend, Statement},
};

/// `CREATE INDEX IF NOT EXISTS` is not portable (MySQL lacks it).
pub(crate) async fn create_index_if_missing(
    manager: &SchemaManager<'_>,
    table: &str,
    name: &str,
    mut index: IndexCreateStatement,
) -> Result<(), DbErr> {
    if manager.has_index(table, name).await? {
        return Ok(());
    }
    manager.create_index(index.name(name).to_owned()).await
}

/// One column per statement (SQLite alters one thing at a time), and only
/// when missing: `ADD COLUMN IF NOT EXISTS` is not portable.
pub(crate) async fn add_column_if_missing(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    let name = column.get_column_name();
    if manager.has_column(table.to_string(), name).await? {
        return Ok(());
    }
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

/// Sets `target` to `derive(source)` on every row of `user` where `source`
/// is set and `target` is not yet: one read, then one update per row.
async fn fill_user_column(
    manager: &SchemaManager<'_>,
    source: &str,
    target: &str,
    derive: fn(&str) -> String,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let (user, id, source, target) = (
        Alias::new("user"),
        Alias::new("id"),
        Alias::new(source),
        Alias::new(target),
    );
    let rows = db
        .query_all(
            &Query::select()
                .columns([id.clone(), source.clone()])
                .from(user.clone())
                .and_where(Expr::col(source.clone()).is_not_null())
                .and_where(Expr::col(target.clone()).is_null())
                .to_owned(),
        )
        .await?;
    for row in rows {
        let key: i64 = row.try_get_by_index(0)?;
        let value: String = row.try_get_by_index(1)?;
        db.execute(
            &Query::update()
                .table(user.clone())
                .value(target.clone(), derive(&value))
                .and_where(Expr::col(id.clone()).eq(key))
                .to_owned(),
        )
        .await?;
    }
    Ok(())
}

/// The server's binary collation that compares trailing spaces (NO PAD):
/// MariaDB and MySQL 8 name it differently, and only `VERSION()` tells
/// them apart (both speak the MySQL protocol).
pub(crate) async fn mysql_no_pad_binary_collation(
    manager: &SchemaManager<'_>,
) -> Result<&'static str, DbErr> {
    let row = manager
        .get_connection()
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            DbBackend::MySql,
            "SELECT VERSION()",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("SELECT VERSION() returned no row".into()))?;
    let version: String = row.try_get_by_index(0)?;
    Ok(if version.contains("MariaDB") {
        "utf8mb4_nopad_bin"
    } else {
        "utf8mb4_0900_bin"
    })
}

/// A `user` column computed in Rust from another one, with an index: added
/// when missing, filled for existing rows, indexed.
pub(crate) struct DerivedUserColumn {
    pub name: &'static str,
    pub max_chars: u32,
    pub source: &'static str,
    pub derive: fn(&str) -> String,
    pub index: &'static str,
    pub unique: bool,
}

impl DerivedUserColumn {
    pub(crate) async fn add(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let user = Alias::new("user");
        add_column_if_missing(
            manager,
            user.clone(),
            ColumnDef::new(Alias::new(self.name))
                .string_len(self.max_chars)
                .null()
                .to_owned(),
        )
        .await?;
        fill_user_column(manager, self.source, self.name, self.derive).await?;
        let mut index = Index::create();
        index.table(user).col(Alias::new(self.name));
        if self.unique {
            index.unique();
        }
        create_index_if_missing(manager, "user", self.index, index).await
    }

    pub(crate) async fn drop(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let user = Alias::new("user");
        manager
            .drop_index(
                Index::drop()
                    .name(self.index)
                    .table(user.clone())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(user)
                    .drop_column(Alias::new(self.name))
                    .to_owned(),
            )
            .await
    }
}

/// A `user_id` column (named `name`), NOT NULL, of the same type as `user.id`: BIGINT, except on
/// MySQL/MariaDB databases upgraded from the old service, whose `user.id`
/// is an INT; MySQL refuses a foreign key between columns of different
/// types (PostgreSQL and SQLite take BIGINT against either).
pub(crate) async fn user_id_column(
    manager: &SchemaManager<'_>,
    name: impl IntoIden,
) -> Result<ColumnDef, DbErr> {
    let mut column = ColumnDef::new(name);
    column.not_null();
    if manager.get_database_backend() != DbBackend::MySql {
        return Ok(column.big_integer().to_owned());
    }
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_string(
            DbBackend::MySql,
            "SELECT COLUMN_TYPE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'user' AND COLUMN_NAME = 'id'",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("table `user` has no column `id`".into()))?;
    // Read as bytes: MySQL 8 reports COLUMN_TYPE as a binary string.
    let column_type: Vec<u8> = row.try_get_by_index(0)?;
    let column_type = String::from_utf8_lossy(&column_type).to_ascii_lowercase();
    let unsigned = column_type.ends_with("unsigned");
    Ok(match (column_type.split(['(', ' ']).next(), unsigned) {
        (Some("bigint"), false) => column.big_integer().to_owned(),
        (Some("bigint"), true) => column.big_unsigned().to_owned(),
        (Some("int"), false) => column.integer().to_owned(),
        (Some("int"), true) => column.unsigned().to_owned(),
        _ => {
            return Err(DbErr::Migration(format!(
                "`user`.`id` is {column_type}, expected INT or BIGINT"
            )));
        }
    })
}
