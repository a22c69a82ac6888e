//! The tickets service's SQL. Small functions over the pool or a transaction; portable across
//! SQLite and Postgres (see `docket_platform::db`) except for text search, which branches on
//! the backend.

pub mod comments;
pub mod events;
#[cfg(test)]
mod plans;
pub mod search;
pub mod search_index;
pub mod tickets;

pub use docket_platform::db::{Arg, Args, query_with};
use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

pub(crate) fn uuid_col(row: &AnyRow, col: &str) -> Result<Uuid, sqlx::Error> {
    let raw: String = row.try_get(col)?;
    Uuid::parse_str(&raw).map_err(|e| sqlx::Error::Decode(e.into()))
}

pub(crate) fn opt_uuid_col(row: &AnyRow, col: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let raw: Option<String> = row.try_get(col)?;
    raw.map(|r| Uuid::parse_str(&r).map_err(|e| sqlx::Error::Decode(e.into())))
        .transpose()
}
