//! The outbox: one row per (event, recipient, kind), rendered when written, sent by the
//! worker. `pending` → `sent`, or → `failed` after the last attempt (the dead letters an
//! admin sees and may retry). The feed cursor lives beside it so both move in one
//! transaction.

use docket_platform::{
    db::{Db, WriteTx, now_ms},
    pagination::Cursor,
};
use sqlx::{Row, any::AnyRow};

use super::{Arg, Args, query_with};

#[derive(Debug, Clone)]
pub struct NewMail {
    pub event_id: String,
    pub ticket_id: String,
    pub recipient_id: String,
    pub recipient_email: String,
    pub kind: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id: String,
    pub headers: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct MailRow {
    pub id: String,
    pub event_id: String,
    pub ticket_id: String,
    pub recipient_id: String,
    pub recipient_email: String,
    pub kind: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id: String,
    pub headers: serde_json::Value,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

const COLUMNS: &str = "id, event_id, ticket_id, recipient_id, recipient_email, kind, subject, \
    body_text, body_html, message_id, headers, state, attempts, next_attempt_at, last_error, \
    created_at, sent_at";

fn from_row(row: &AnyRow) -> Result<MailRow, sqlx::Error> {
    let headers: String = row.try_get("headers")?;
    Ok(MailRow {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        ticket_id: row.try_get("ticket_id")?,
        recipient_id: row.try_get("recipient_id")?,
        recipient_email: row.try_get("recipient_email")?,
        kind: row.try_get("kind")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        body_html: row.try_get("body_html")?,
        message_id: row.try_get("message_id")?,
        headers: serde_json::from_str(&headers).map_err(|e| sqlx::Error::Decode(e.into()))?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

/// The stored feed cursor (None before the first event).
#[tracing::instrument(skip(db))]
pub async fn cursor(db: &Db) -> Result<Option<String>, sqlx::Error> {
    let row = query_with("SELECT cursor FROM feed_cursor WHERE id = 1", vec![])
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => r.try_get("cursor")?,
        None => None,
    })
}

/// Writes the mails of a batch of events and moves the cursor past them, in one transaction:
/// a crash before the commit leaves both as they were (the batch is read again), and a mail
/// already written is not written twice (the unique key; `DO NOTHING`). Returns how many
/// new mails were written.
#[tracing::instrument(skip_all, fields(mails = mails.len()))]
pub async fn apply_batch(db: &Db, mails: Vec<NewMail>, cursor: &str) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let mut tx: WriteTx = db.begin_write().await?;
    let n = mails.len();
    for m in mails {
        tx.queue(
            "INSERT INTO outbox (id, event_id, ticket_id, recipient_id, recipient_email, kind, \
             subject, body_text, body_html, message_id, headers, state, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             'pending', 0, $12, $12) ON CONFLICT (event_id, recipient_id, kind) DO NOTHING",
            vec![
                Arg::Text(uuid::Uuid::now_v7().to_string()),
                Arg::Text(m.event_id),
                Arg::Text(m.ticket_id),
                Arg::Text(m.recipient_id),
                Arg::Text(m.recipient_email),
                Arg::Text(m.kind),
                Arg::Text(m.subject),
                Arg::Text(m.body_text),
                Arg::Text(m.body_html),
                Arg::Text(m.message_id),
                Arg::Text(m.headers.to_string()),
                Arg::Int(now),
            ],
        );
    }
    tx.queue(
        "INSERT INTO feed_cursor (id, cursor, updated_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        vec![Arg::Text(cursor.to_owned()), Arg::Int(now)],
    );
    let changed = tx.commit_counted().await?;
    Ok(changed.iter().take(n).sum())
}

/// Up to `limit` pending mails that are due, each claimed for `lease_ms` (pushed into the
/// future), so another worker — or this one's next round — leaves it alone while it is sent.
/// A crash mid-send leaves the mail pending; it is tried again when the lease runs out.
#[tracing::instrument(skip(db))]
pub async fn claim_due(db: &Db, limit: u32, lease_ms: i64) -> Result<Vec<MailRow>, sqlx::Error> {
    let now = now_ms();
    let rows = query_with(
        &format!(
            "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $2"
        ),
        vec![Arg::Int(now), Arg::Int(i64::from(limit))],
    )
    .fetch_all(&db.pool)
    .await?;
    let candidates: Vec<MailRow> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    if candidates.is_empty() {
        return Ok(candidates);
    }
    let mut tx = db.begin_write().await?;
    for m in &candidates {
        tx.queue(
            "UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND state = 'pending' \
             AND next_attempt_at = $3",
            vec![
                Arg::Int(now + lease_ms),
                Arg::Text(m.id.clone()),
                Arg::Int(m.next_attempt_at),
            ],
        );
    }
    let changed = tx.commit_counted().await?;
    Ok(candidates
        .into_iter()
        .zip(changed)
        .filter(|(_, c)| *c == 1)
        .map(|(m, _)| m)
        .collect())
}

pub async fn mark_sent(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    query_with(
        "UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1, \
         last_error = NULL WHERE id = $2",
        vec![Arg::Int(now), Arg::Text(id.to_owned())],
    )
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or dead-lettered when `dead`.
pub async fn mark_failed(
    db: &Db,
    id: &str,
    error: &str,
    retry_at: i64,
    dead: bool,
) -> Result<(), sqlx::Error> {
    let state = if dead { "failed" } else { "pending" };
    query_with(
        "UPDATE outbox SET state = $1, attempts = attempts + 1, next_attempt_at = $2, \
         last_error = $3 WHERE id = $4",
        vec![
            Arg::Text(state.to_owned()),
            Arg::Int(retry_at),
            Arg::Text(error.chars().take(500).collect()),
            Arg::Text(id.to_owned()),
        ],
    )
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A dead letter back to pending, due now, with a fresh count of attempts. None when the id
/// names no mail; the row as it is when it was not `failed`.
pub async fn retry(db: &Db, id: &str) -> Result<Option<MailRow>, sqlx::Error> {
    query_with(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 \
         WHERE id = $2 AND state = 'failed'",
        vec![Arg::Int(now_ms()), Arg::Text(id.to_owned())],
    )
    .execute(&db.pool)
    .await?;
    find(db, id).await
}

pub async fn find(db: &Db, id: &str) -> Result<Option<MailRow>, sqlx::Error> {
    query_with(
        &format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"),
        vec![Arg::Text(id.to_owned())],
    )
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

#[derive(Debug, Default)]
pub struct ListFilter {
    pub state: Option<String>,
    pub ticket_id: Option<String>,
}

/// Oldest first, keyset-paged on (created_at, id); `limit + 1` rows.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    filter: &ListFilter,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<Vec<MailRow>, sqlx::Error> {
    let mut args = Args::default();
    let mut sql = format!("SELECT {COLUMNS} FROM outbox WHERE 1 = 1");
    if let Some(s) = &filter.state {
        let p = args.push(Arg::Text(s.clone()));
        sql.push_str(&format!(" AND state = {p}"));
    }
    if let Some(t) = &filter.ticket_id {
        let p = args.push(Arg::Text(t.clone()));
        sql.push_str(&format!(" AND ticket_id = {p}"));
    }
    if let Some(c) = after {
        let a = args.push(Arg::Int(c.at));
        let b = args.push(Arg::Text(c.id.clone()));
        sql.push_str(&format!(" AND (created_at, id) > ({a}, {b})"));
    }
    let l = args.push(Arg::Int(i64::from(limit) + 1));
    sql.push_str(&format!(" ORDER BY created_at, id LIMIT {l}"));
    query_with(&sql, args.0)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Mails per state, for health and alarms.
pub async fn count_state(db: &Db, state: &str) -> Result<i64, sqlx::Error> {
    let row = query_with(
        "SELECT COUNT(*) AS n FROM outbox WHERE state = $1",
        vec![Arg::Text(state.to_owned())],
    )
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => r.try_get("n")?,
        None => 0,
    })
}
