//! The notifications service's SQL: the feed cursor, the outbox and preferences. Portable
//! across SQLite and Postgres (TEXT ids, BIGINT unix-ms times, 0/1 integers).

pub mod outbox;
pub mod preferences;

pub use docket_platform::db::{Arg, Args, query_with};
