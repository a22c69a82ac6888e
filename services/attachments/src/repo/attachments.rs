//! Attachment rows and their life cycle: `pending` → `ready` → `deleting` → gone.

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

/// Inserts `pending` rows for every file of one upload, in one transaction.
#[tracing::instrument(skip_all, fields(count = rows.len()))]
pub async fn insert_pending(pool: &AnyPool, rows: &[AttachmentRow]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for r in rows {
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
    tx.commit().await
}

/// Turns the pending rows of one upload `ready`, all or none.
#[tracing::instrument(skip_all, fields(count = ids.len()))]
pub async fn mark_ready(pool: &AnyPool, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let now = now_ms();
    for id in ids {
        let done = sqlx::query(
            "UPDATE attachments SET state = 'ready', updated_at = $1 WHERE id = $2 AND state = 'pending'",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // Swept away meanwhile (a very slow upload): the upload must fail as a whole.
            return Err(sqlx::Error::RowNotFound);
        }
    }
    tx.commit().await
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

/// Hides every ready row of a ticket and returns every row of it that is being deleted.
#[tracing::instrument(skip(pool))]
pub async fn mark_ticket_deleting(
    pool: &AnyPool,
    ticket_id: &str,
) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query(
        "UPDATE attachments SET state = 'deleting', updated_at = $1 WHERE ticket_id = $2 AND state = 'ready'",
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
