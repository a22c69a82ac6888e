//! The attachments service through real HTTP — with real auth and tickets services — on
//! SQLite and Postgres, and on local disk and S3 (moto).

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod bodies;
mod contract;
mod failures;
mod openapi;
mod platform;
mod policy;
mod presign;
mod sweep;
mod tickets;
mod uploads;
