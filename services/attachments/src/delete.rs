//! Deleting attachments, so that nothing is orphaned: the upload protocol
//! ([`crate::upload`]) in reverse.
//!
//! One attachment: the row turns `deleting` (hidden), the object is deleted, then the row. If
//! storage fails, the row goes back to `ready` and the client gets a 503; a crash in between
//! leaves a `deleting` row for the sweep ([`crate::sweep`]).
//!
//! A deleted ticket's: first its tombstone (committed on its own, so that every commit from
//! then on sees it), then its `ready` *and* `pending` rows turn `deleting`, and their objects
//! and rows are deleted. An upload racing with it either had its rows turned `deleting` (its
//! commit finds no pending row) or commits after the tombstone (and refuses): either way it
//! fails and removes what it wrote, and a crash in between leaves work for the sweep.

use docket_platform::{ApiError, ApiResult};
use uuid::Uuid;

use crate::{
    api::AppState,
    repo::attachments::{self as repo, AttachmentRow},
};

/// Deletes one attachment's bytes and row . The row must be `ready`.
pub async fn one(state: &AppState, row: &AttachmentRow) -> ApiResult<()> {
    if !repo::mark_deleting(&state.db.pool, row.id).await? {
        return Err(ApiError::not_found("attachment"));
    }
    if let Err(e) = state.storage.delete(&row.storage_key).await {
        // Back to visible, so the client can try again.
        if let Err(db) = repo::restore_ready(&state.db.pool, row.id).await {
            tracing::warn!(error = %db, "restoring a row after a failed delete failed; the sweep will finish it");
        }
        return Err(e.into());
    }
    repo::delete_rows(&state.db.pool, &[row.id]).await?;
    Ok(())
}

/// Deletes every attachment of a ticket, pending uploads included (the ticket itself is being
/// deleted; see the module doc). Rows stay `deleting` when storage fails, and a retry picks
/// them up again.
pub async fn all_of_ticket(state: &AppState, ticket_id: Uuid) -> ApiResult<usize> {
    let ticket_id = ticket_id.to_string();
    // Committed before any row is touched, so every commit from here on sees it.
    repo::record_ticket_deleted(&state.db.pool, &ticket_id).await?;
    let rows = repo::mark_ticket_deleting(&state.db.pool, &ticket_id).await?;
    for row in &rows {
        state.storage.delete(&row.storage_key).await?;
        repo::delete_rows(&state.db.pool, &[row.id]).await?;
    }
    Ok(rows.len())
}
