//! The attachments service's SQL: small functions over the pool, portable across SQLite and
//! Postgres (see `docket_platform::db`).

pub mod attachments;
pub mod leases;
