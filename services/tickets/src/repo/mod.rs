//! The tickets service's SQL. Small functions over the pool or a transaction; portable across
//! SQLite and Postgres (see `docket_platform::db`) except for text search, which branches on
//! the backend.

pub mod comments;
pub mod events;
pub mod search;
pub mod tickets;

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    Null,
}

/// Binds `args` in order to `sql`.
pub fn query_with(
    sql: &str,
    args: Vec<Arg>,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Text(s) => query.bind(s),
            Arg::Int(i) => query.bind(i),
            Arg::Null => query.bind(None::<String>),
        };
    }
    query
}

/// Collects arguments and hands out their `$N` placeholders.
#[derive(Debug, Default)]
pub(crate) struct Args(pub Vec<Arg>);

impl Args {
    pub fn push(&mut self, arg: Arg) -> String {
        self.0.push(arg);
        format!("${}", self.0.len())
    }
}

pub(crate) fn uuid_col(row: &AnyRow, col: &str) -> Result<Uuid, sqlx::Error> {
    let raw: String = row.try_get(col)?;
    Uuid::parse_str(&raw).map_err(|e| sqlx::Error::Decode(e.into()))
}

pub(crate) fn opt_uuid_col(row: &AnyRow, col: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let raw: Option<String> = row.try_get(col)?;
    raw.map(|r| Uuid::parse_str(&r).map_err(|e| sqlx::Error::Decode(e.into())))
        .transpose()
}
