//! The auth service's SQL. Small functions over the shared pool; portable across SQLite and
//! Postgres (see `docket_platform::db`).

pub mod refresh_tokens;
pub mod users;
