//! The auth service through real HTTP, on SQLite and on Postgres.

mod helpers;

mod admin;
mod login;
mod openapi;
mod platform;
mod register;
mod secrets;
mod tokens;
