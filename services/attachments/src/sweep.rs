//! The sweep: removes what a crash left behind (see [`crate::upload`]). The service runs it
//! every `SWEEP_INTERVAL_SECS` ([`spawn_scheduled`]); `docket-attachments sweep` runs it once.
//!
//! - `pending` and `deleting` rows older than the grace period: their object is deleted, then
//!   the row. A pending row is only ever that old when its upload died; a slow upload that
//!   loses its rows this way fails at its commit and cleans up after itself.
//! - Objects under `attachments/` that no row names and that are older than the grace period
//!   (rows are written before their objects, so a live upload's object is always named).
//! - Spool files in `UPLOAD_DIR/tmp` older than the grace period.
//!
//! Safe to run at any time, on any replica, as often as wanted; the schedule still runs it on
//! one replica at a time, by a lease in the database (`leases`, name `sweep`), so that replicas
//! do not list the bucket and race each other for the same orphans. A lease lasts one
//! interval: its holder renews it at each of its runs, and when the holder is gone another
//! replica takes it over after at most one interval.

use std::{path::Path, sync::Arc, time::Duration};

use docket_platform::db::{Db, now_ms};
use uuid::Uuid;

use crate::{
    api::AppState,
    repo::{attachments as repo, leases},
    storage::Storage,
};

/// The lease the scheduled sweep holds.
pub const LEASE: &str = "sweep";

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

/// Runs the sweep every `interval` (the first run one interval after start) on the replica
/// that holds the lease; does nothing when the schedule is off. The task lives as long as the
/// runtime; a sweep cut short by shutdown is finished by a later one.
pub fn spawn_scheduled(state: &AppState) {
    let Some(interval) = state.settings.sweep_interval else {
        tracing::info!("scheduled sweep is off (SWEEP_INTERVAL_SECS=0)");
        return;
    };
    let state = state.clone();
    let holder = Uuid::new_v4().to_string();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            scheduled_run(&state, &holder, interval).await;
        }
    });
}

/// One tick of the schedule: take (or renew) the lease, and sweep if it is ours.
async fn scheduled_run(state: &AppState, holder: &str, interval: Duration) {
    let ttl = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    match leases::take(&state.db.pool, LEASE, holder, now_ms(), ttl).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!("another replica holds the sweep lease");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "taking the sweep lease failed; skipping this sweep");
            return;
        }
    }
    match sweep(
        &state.db,
        &state.storage,
        &state.spool_dir(),
        state.settings.sweep_grace,
    )
    .await
    {
        Ok(report) => tracing::info!(
            stale_rows = report.stale_rows_removed,
            orphan_objects = report.orphan_objects_removed,
            spool_files = report.spool_files_removed,
            failures = report.failures,
            "scheduled sweep done"
        ),
        Err(e) => tracing::warn!(error = ?e, "scheduled sweep failed; the next one retries"),
    }
}
