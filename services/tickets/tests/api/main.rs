//! The tickets service through real HTTP, with a real auth service beside it, on SQLite and
//! on Postgres.

// Integration tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access_matrix;
mod comments;
mod concurrency;
mod contract;
mod internal;
mod openapi;
mod reindex;
mod search_index;
mod tickets;
