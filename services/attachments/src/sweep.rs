//! `docket-attachments sweep`: removes what a crash left behind (see [`crate::upload`]).
//!
//! - `pending` and `deleting` rows older than the grace period: their object is deleted, then
//!   the row. A pending row is only ever that old when its upload died; a slow upload that
//!   loses its rows this way fails at its commit and cleans up after itself.
//! - Objects under `attachments/` that no row names and that are older than the grace period
//!   (rows are written before their objects, so a live upload's object is always named).
//! - Spool files in `UPLOAD_DIR/tmp` older than the grace period.
//!
//! Safe to run at any time, on any replica, as often as wanted.

use std::{path::Path, sync::Arc, time::Duration};

use docket_platform::db::{Db, now_ms};

use crate::{repo::attachments as repo, storage::Storage};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub stale_rows_removed: usize,
    pub orphan_objects_removed: usize,
    pub spool_files_removed: usize,
    pub failures: usize,
}

pub async fn sweep(
    db: &Db,
    storage: &Arc<dyn Storage>,
    spool_dir: &Path,
    grace: Duration,
) -> anyhow::Result<SweepReport> {
    let cutoff = now_ms() - grace.as_millis() as i64;
    let mut report = SweepReport::default();

    for row in repo::stale(&db.pool, cutoff).await? {
        match storage.delete(&row.storage_key).await {
            Ok(()) => {
                repo::delete_rows(&db.pool, &[row.id]).await?;
                tracing::info!(id = %row.id, key = %row.storage_key, state = %row.state, "swept a stale row");
                report.stale_rows_removed += 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, key = %row.storage_key, "sweep could not delete an object");
                report.failures += 1;
            }
        }
    }

    for object in storage.list().await? {
        if object.modified_ms >= cutoff || repo::key_is_claimed(&db.pool, &object.key).await? {
            continue;
        }
        match storage.delete(&object.key).await {
            Ok(()) => {
                tracing::info!(key = %object.key, "swept an orphan object");
                report.orphan_objects_removed += 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, key = %object.key, "sweep could not delete an orphan");
                report.failures += 1;
            }
        }
    }

    if let Ok(mut dir) = tokio::fs::read_dir(spool_dir).await {
        while let Some(entry) = dir.next_entry().await? {
            let old = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).timestamp_millis() < cutoff)
                .unwrap_or(false);
            let name = entry.file_name();
            if old && name.to_string_lossy().ends_with(".part") {
                tokio::fs::remove_file(entry.path()).await?;
                report.spool_files_removed += 1;
            }
        }
    }
    Ok(report)
}
