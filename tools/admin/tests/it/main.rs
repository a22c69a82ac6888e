//! docket-admin against the real services: data seeded through their HTTP APIs, backed up,
//! wiped, restored, and moved from SQLite to Postgres, then read back through the APIs.

// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod migrate;
mod roundtrip;
