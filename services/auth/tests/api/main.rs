//! The auth service through real HTTP, on SQLite and on Postgres.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod admin;
mod contract;
mod login;
mod openapi;
mod platform;
mod register;
mod secrets;
mod tokens;
