//! Attachment rows and their life cycle: `pending` → `ready` → `deleting` → gone; and the
//! tombstones of deleted tickets, which stop uploads to them from being claimed or committed.

use docket_platform::{db::now_ms, pagination::Cursor};
use sqlx::{AnyPool, Row, any::AnyRow};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Ready,
    Deleting,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Ready => "ready",
            State::Deleting => "deleting",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub id: Uuid,
    pub ticket_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub storage_key: String,
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, ticket_id, filename, content_type, size, uploaded_by, storage_key, \
                       state, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<AttachmentRow, sqlx::Error> {
    let id: String = row.try_get("id")?;
    Ok(AttachmentRow {
        id: Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(e.into()))?,
        ticket_id: row.try_get("ticket_id")?,
        filename: row.try_get("filename")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        uploaded_by: row.try_get("uploaded_by")?,
        storage_key: row.try_get("storage_key")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts `pending` rows for every file of one upload (all for one ticket), in one
/// transaction. False, and nothing inserted, when the ticket's deletion has begun.
#[tracing::instrument(skip_all, fields(count = rows.len()))]
pub async fn insert_pending(pool: &AnyPool, rows: &[AttachmentRow]) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    for r in rows {
        let tombstoned: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM deleted_tickets WHERE ticket_id = $1")
                .bind(&r.ticket_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        if tombstoned > 0 {
            return Ok(false);
        }
        sqlx::query(&format!(
            "INSERT INTO attachments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)"
        ))
        .bind(r.id.to_string())
        .bind(&r.ticket_id)
        .bind(&r.filename)
        .bind(&r.content_type)
        .bind(r.size)
        .bind(&r.uploaded_by)
        .bind(&r.storage_key)
        .bind(r.created_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// How an upload's commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Every row is `ready`.
    Done,
    /// The ticket's deletion began meanwhile: nothing turned ready.
    TicketDeleted,
    /// Some row was no longer pending (swept as stale): nothing turned ready.
    Lost,
}

/// Turns the pending rows of one upload `ready`, all or none: only rows still `pending`, and
/// only while their ticket has no tombstone.
#[tracing::instrument(skip_all, fields(count = ids.len()))]
pub async fn mark_ready(
    pool: &AnyPool,
    ticket_id: &str,
    ids: &[Uuid],
) -> Result<Commit, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let now = now_ms();
    for id in ids {
        let done = sqlx::query(
            "UPDATE attachments SET state = 'ready', updated_at = $1 \
             WHERE id = $2 AND state = 'pending' AND NOT EXISTS \
             (SELECT 1 FROM deleted_tickets d WHERE d.ticket_id = attachments.ticket_id)",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // Dropping the transaction rolls back the rows already turned.
            drop(tx);
            return Ok(if is_ticket_deleted(pool, ticket_id).await? {
                Commit::TicketDeleted
            } else {
                Commit::Lost
            });
        }
    }
    tx.commit().await?;
    Ok(Commit::Done)
}

/// Records that a ticket's deletion has begun (idempotent).
#[tracing::instrument(skip(pool))]
pub async fn record_ticket_deleted(pool: &AnyPool, ticket_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO deleted_tickets (ticket_id, deleted_at) VALUES ($1, $2) \
         ON CONFLICT (ticket_id) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(|_| ())
}

#[tracing::instrument(skip(pool))]
pub async fn is_ticket_deleted(pool: &AnyPool, ticket_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM deleted_tickets WHERE ticket_id = $1")
        .bind(ticket_id)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    Ok(n > 0)
}

/// Removes rows by id, whatever their state.
#[tracing::instrument(skip_all, fields(count = ids.len()))]
pub async fn delete_rows(pool: &AnyPool, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    for id in ids {
        sqlx::query("DELETE FROM attachments WHERE id = $1")
            .bind(id.to_string())
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// A page of a ticket's ready attachments, oldest first.
#[tracing::instrument(skip(pool))]
pub async fn list_ready(
    pool: &AnyPool,
    ticket_id: &str,
    limit: u32,
    after: Option<&Cursor>,
) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    let (at, id) = after.map_or((i64::MIN, String::new()), |c| (c.at, c.id.clone()));
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE ticket_id = $1 AND state = 'ready' \
         AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
         ORDER BY created_at, id LIMIT $4"
    ))
    .bind(ticket_id)
    .bind(at)
    .bind(id)
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

#[tracing::instrument(skip(pool))]
pub async fn find_ready(pool: &AnyPool, id: Uuid) -> Result<Option<AttachmentRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE id = $1 AND state = 'ready'"
    ))
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Hides a ready row before its bytes go; false when it was not ready (gone or racing).
#[tracing::instrument(skip(pool))]
pub async fn mark_deleting(pool: &AnyPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE attachments SET state = 'deleting', updated_at = $1 WHERE id = $2 AND state = 'ready'",
    )
    .bind(now_ms())
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Undoes [`mark_deleting`] after storage refused the delete.
#[tracing::instrument(skip(pool))]
pub async fn restore_ready(pool: &AnyPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE attachments SET state = 'ready' WHERE id = $1 AND state = 'deleting'")
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|_| ())
}

/// Hides every ready row of a ticket, and takes every pending one from its upload (whose
/// commit then fails); returns every row of the ticket that is being deleted.
#[tracing::instrument(skip(pool))]
pub async fn mark_ticket_deleting(
    pool: &AnyPool,
    ticket_id: &str,
) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query(
        "UPDATE attachments SET state = 'deleting', updated_at = $1 \
         WHERE ticket_id = $2 AND state IN ('pending', 'ready')",
    )
    .bind(now_ms())
    .bind(ticket_id)
    .execute(pool)
    .await?;
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE ticket_id = $1 AND state = 'deleting'"
    ))
    .bind(ticket_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Rows left behind by a crash: pending or deleting since before `cutoff_ms`.
#[tracing::instrument(skip(pool))]
pub async fn stale(pool: &AnyPool, cutoff_ms: i64) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE state IN ('pending', 'deleting') AND updated_at < $1"
    ))
    .bind(cutoff_ms)
    .fetch_all(pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// True when some row (in any state) claims `key`.
#[tracing::instrument(skip(pool))]
pub async fn key_is_claimed(pool: &AnyPool, key: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM attachments WHERE storage_key = $1")
        .bind(key)
        .fetch_one(pool)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Every row of a ticket, in any state (tests and the sweep).
pub async fn all_for_ticket(
    pool: &AnyPool,
    ticket_id: &str,
) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE ticket_id = $1 ORDER BY created_at, id"
    ))
    .bind(ticket_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Row count in any state (tests).
pub async fn count_all(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM attachments")
        .fetch_one(pool)
        .await?
        .try_get("n")
}
