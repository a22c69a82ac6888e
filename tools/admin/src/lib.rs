//! `docket-admin`: the operator's tool for Docket's data, a binary of its own that no service
//! depends on.
//!
//! - [`backup`]: a consistent copy of every service's database (SQLite `VACUUM INTO`, Postgres
//!   `COPY` inside one read-only repeatable-read snapshot) and of the attachment objects, with
//!   a manifest of schema versions and checksums, to a folder or an S3 prefix (SSE).
//! - [`restore`]: that copy back into empty databases and storage, refused for a build whose
//!   migrations differ.
//! - [`migrate`]: every service's rows from SQLite to Postgres, resumable and verified, and
//!   local attachment files to S3.
//!
//! The tool knows each service's migrations by embedding the same folders the services embed
//! ([`services`]), so a backup and a build agree exactly when their migrations do.

pub mod backup;
pub mod checksum;
pub mod cli;
pub mod db;
pub mod location;
pub mod manifest;
pub mod migrate;
pub mod objects;
pub mod restore;
pub mod services;
