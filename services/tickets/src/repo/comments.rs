//! Comments and internal notes.

use docket_platform::{
    db::{Backend, Db, now_ms},
    pagination::Cursor,
};
use serde_json::json;
use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use super::{Arg, Args, events, query_with, search, uuid_col};
use crate::domain::{CommentBody, EventKind};

#[derive(Debug, Clone)]
pub struct CommentRow {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub internal: bool,
    pub created_at: i64,
}

const COLUMNS: &str = "id, ticket_id, author_id, body, internal, created_at";

fn from_row(row: &AnyRow) -> Result<CommentRow, sqlx::Error> {
    Ok(CommentRow {
        id: uuid_col(row, "id")?,
        ticket_id: uuid_col(row, "ticket_id")?,
        author_id: uuid_col(row, "author_id")?,
        body: row.try_get("body")?,
        internal: row.try_get::<i64, _>("internal")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

/// Adds a comment and its `comment_added` event, touches the ticket's `updated_at` (the ticket
/// moved, as help desks show it; its `version` stays, so a comment never makes someone's edit
/// stale) and adds the comment to its search documents, in one transaction.
#[tracing::instrument(skip(db, body))]
pub async fn insert(
    db: &Db,
    ticket_id: Uuid,
    author_id: Uuid,
    body: &CommentBody,
    internal: bool,
) -> Result<CommentRow, sqlx::Error> {
    let now = now_ms();
    let id = Uuid::now_v7();
    let mut tx = db.begin_write().await?;
    // First, so the ticket's row lock orders concurrent comments. On Postgres the same UPDATE
    // appends the comment's words to the ticket's documents; it runs on the newest version of
    // the row once it holds the lock, so concurrent comments are all kept.
    let touched = vec![Arg::Int(now), Arg::Text(ticket_id.to_string())];
    match db.backend {
        Backend::Sqlite => tx.queue("UPDATE tickets SET updated_at = $1 WHERE id = $2", touched),
        Backend::Postgres => tx.queue(
            format!(
                "UPDATE tickets SET updated_at = $1, {} WHERE id = $2",
                search::append_comment_sql("$3", internal)
            ),
            [touched, vec![Arg::Text(body.as_str().to_owned())]].concat(),
        ),
    }
    tx.queue(
        "INSERT INTO comments (id, ticket_id, author_id, body, internal, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            Arg::Text(id.to_string()),
            Arg::Text(ticket_id.to_string()),
            Arg::Text(author_id.to_string()),
            Arg::Text(body.as_str().to_owned()),
            Arg::Int(i64::from(internal)),
            Arg::Int(now),
        ],
    );
    events::insert(
        &mut tx,
        events::NewEvent {
            ticket_id,
            actor_id: author_id,
            kind: EventKind::CommentAdded,
            data: json!({ "comment_id": id, "internal": internal }),
            internal,
            at: now,
        },
    );
    if db.backend == Backend::Sqlite {
        // The index's writer rewrites the ticket's document with the comment in it.
        search::refresh(&mut tx, db.backend, ticket_id);
    }
    tx.commit().await?;
    Ok(CommentRow {
        id,
        ticket_id,
        author_id,
        body: body.as_str().to_owned(),
        internal,
        created_at: now,
    })
}

/// Oldest first (a conversation reads top to bottom), keyset-paginated; `limit + 1` rows.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    ticket_id: Uuid,
    include_internal: bool,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<Vec<CommentRow>, sqlx::Error> {
    let mut args = Args::default();
    let t = args.push(Arg::Text(ticket_id.to_string()));
    let mut sql = format!("SELECT {COLUMNS} FROM comments WHERE ticket_id = {t}");
    if !include_internal {
        sql.push_str(" AND internal = 0");
    }
    if let Some(c) = after {
        let a = args.push(Arg::Int(c.at));
        let b = args.push(Arg::Text(c.id.clone()));
        sql.push_str(&format!(" AND (created_at, id) > ({a}, {b})"));
    }
    let l = args.push(Arg::Int(i64::from(limit) + 1));
    sql.push_str(&format!(" ORDER BY created_at, id LIMIT {l}"));
    db.fetch_all(query_with(&sql, args.0))
        .await?
        .iter()
        .map(from_row)
        .collect()
}
