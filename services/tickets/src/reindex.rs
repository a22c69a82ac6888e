//! `docket-tickets reindex`: rebuilds every ticket's search document from the tickets and
//! comments as stored, for an operator whose index went wrong (a restored backup of one file
//! but not the other, rows changed by hand, a bug) or for data loaded behind the service's
//! back.
//!
//! - SQLite: the index file beside the tickets' (`tickets.db-search`, see
//!   [`search_index`](crate::repo::search_index)) is written anew in one transaction, as the
//!   service does at start when it cannot trust the file.
//! - Postgres: every ticket's `search` column is rewritten in one statement.
//!
//! Safe while the service runs: searches go on reading the old documents until the rebuild
//! commits, and writes queued meanwhile are applied again after it.

use crate::{
    Settings,
    repo::{search, search_index},
};

/// Rebuilds the search documents of the database in `settings`.
pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    // Opened as the service opens it: migrated first, or (`MIGRATE_ON_START=false`) refused
    // unless the schema is this build's.
    let (db, files) = crate::startup::open_db(settings, 1).await?;
    match &files {
        Some(files) => search_index::rebuild_files(files).await?,
        None => search::rebuild_all(&db).await?,
    }
    db.pool.close().await;
    Ok(())
}
