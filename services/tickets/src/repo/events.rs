//! The history: one row per thing that happened to a ticket, written in the transaction of
//! the change it records.

use docket_platform::{
    db::{Db, WriteTx, now_ms},
    pagination::Cursor,
};
use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use super::{Arg, Args, query_with, uuid_col};
use crate::domain::EventKind;

#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub actor_id: Uuid,
    pub kind: String,
    pub data: serde_json::Value,
    pub internal: bool,
    pub created_at: i64,
}

const COLUMNS: &str = "id, ticket_id, actor_id, kind, data, internal, created_at";

fn from_row(row: &AnyRow) -> Result<EventRow, sqlx::Error> {
    let data: String = row.try_get("data")?;
    Ok(EventRow {
        id: uuid_col(row, "id")?,
        ticket_id: uuid_col(row, "ticket_id")?,
        actor_id: uuid_col(row, "actor_id")?,
        kind: row.try_get("kind")?,
        data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(e.into()))?,
        internal: row.try_get::<i64, _>("internal")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub ticket_id: Uuid,
    pub actor_id: Uuid,
    pub kind: EventKind,
    pub data: serde_json::Value,
    /// About an internal note: hidden from requesters.
    pub internal: bool,
    pub at: i64,
}

/// Appends an event inside the caller's transaction (queued: it goes out with the
/// transaction's next statement or its commit).
pub fn insert(tx: &mut WriteTx, new: NewEvent) -> EventRow {
    queue_insert(tx, new, "VALUES ($1, $2, $3, $4, $5, $6, $7)")
}

/// [`insert`], but only if the statement queued just before it changed a row (SQLite's
/// `changes()`). A chain of these after a guarded UPDATE records the change only if it
/// happened. SQLite only.
pub fn insert_if_changed(tx: &mut WriteTx, new: NewEvent) -> EventRow {
    queue_insert(
        tx,
        new,
        "SELECT $1, $2, $3, $4, $5, $6, $7 WHERE changes() = 1",
    )
}

/// Postgres: the part of a statement that appends `events` to the ticket that a preceding
/// `WITH changed AS (… RETURNING id)` returns, and nothing if it returns no row. Their values go
/// into `args`. One statement, so the change and its history need no transaction of their own.
pub fn insert_for_changed(args: &mut Args, events: &[NewEvent]) -> String {
    let rows: Vec<String> = events
        .iter()
        .map(|e| {
            let id = args.push(Arg::Text(Uuid::now_v7().to_string()));
            let rest: Vec<String> = values(e).into_iter().map(|a| args.push(a)).collect();
            format!("({id}, {})", rest.join(", "))
        })
        .collect();
    format!(
        "{INSERT} SELECT e.id, changed.id, e.actor_id, e.kind, e.data, e.internal, e.created_at \
         FROM changed CROSS JOIN (VALUES {}) AS e (id, actor_id, kind, data, internal, \
         created_at)",
        rows.join(", ")
    )
}

const INSERT: &str =
    "INSERT INTO events (id, ticket_id, actor_id, kind, data, internal, created_at)";

/// An event's values after its id and ticket: actor, kind, data, internal, time.
fn values(e: &NewEvent) -> [Arg; 5] {
    [
        Arg::Text(e.actor_id.to_string()),
        Arg::Text(e.kind.as_str().to_owned()),
        Arg::Text(e.data.to_string()),
        Arg::Int(i64::from(e.internal)),
        Arg::Int(e.at),
    ]
}

fn queue_insert(tx: &mut WriteTx, new: NewEvent, rows: &str) -> EventRow {
    let id = Uuid::now_v7();
    let mut args = vec![
        Arg::Text(id.to_string()),
        Arg::Text(new.ticket_id.to_string()),
    ];
    args.extend(values(&new));
    tx.queue(format!("{INSERT} {rows}"), args);
    EventRow {
        id,
        ticket_id: new.ticket_id,
        actor_id: new.actor_id,
        kind: new.kind.as_str().to_owned(),
        data: new.data,
        internal: new.internal,
        created_at: new.at,
    }
}

/// Appends one event in its own transaction (events from other services).
#[tracing::instrument(skip_all, fields(kind = new.kind.as_str()))]
pub async fn append(db: &Db, new: NewEvent) -> Result<EventRow, sqlx::Error> {
    let mut rows = append_all(db, vec![new]).await?;
    rows.pop().ok_or(sqlx::Error::RowNotFound)
}

/// [`append`] for several events, in one transaction: all are recorded or none.
pub async fn append_all(db: &Db, events: Vec<NewEvent>) -> Result<Vec<EventRow>, sqlx::Error> {
    let at = now_ms();
    let mut tx = db.begin_write().await?;
    let rows = events
        .into_iter()
        .map(|mut new| {
            new.at = at;
            insert(&mut tx, new)
        })
        .collect();
    tx.commit().await?;
    Ok(rows)
}

/// Oldest first (the history reads top to bottom), keyset-paginated; `limit + 1` rows.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    ticket_id: Uuid,
    include_internal: bool,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let mut args = Args::default();
    let t = args.push(Arg::Text(ticket_id.to_string()));
    let mut sql = format!("SELECT {COLUMNS} FROM events WHERE ticket_id = {t}");
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

/// An event with what the notifications service needs to pick its recipients and write its
/// mail: the ticket as it is now, and the comment's text for `comment_added`.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub event: EventRow,
    pub subject: String,
    pub status: String,
    pub requester_id: Uuid,
    pub assignee_id: Option<Uuid>,
    /// The comment's body, for `comment_added` (None once the comment is gone).
    pub comment_body: Option<String>,
}

/// Every ticket's events, oldest first, after `after` and no newer than `until_ms`;
/// `limit + 1` rows.
///
/// `until_ms` keeps a settle window behind the newest writes: an event's `created_at` is taken
/// before its transaction commits, so on Postgres a slower transaction can commit an event
/// older than one a reader has already passed. Reading only events older than the longest
/// write transaction keeps a cursor from skipping them.
#[tracing::instrument(skip(db))]
pub async fn feed(
    db: &Db,
    after: Option<&Cursor>,
    until_ms: i64,
    limit: u32,
) -> Result<Vec<FeedRow>, sqlx::Error> {
    let mut args = Args::default();
    let until = args.push(Arg::Int(until_ms));
    let mut sql = format!(
        "SELECT e.id, e.ticket_id, e.actor_id, e.kind, e.data, e.internal, e.created_at, \
         t.subject, t.status, t.requester_id, t.assignee_id \
         FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE e.created_at <= {until}"
    );
    if let Some(c) = after {
        let a = args.push(Arg::Int(c.at));
        let b = args.push(Arg::Text(c.id.clone()));
        sql.push_str(&format!(" AND (e.created_at, e.id) > ({a}, {b})"));
    }
    let l = args.push(Arg::Int(i64::from(limit) + 1));
    sql.push_str(&format!(" ORDER BY e.created_at, e.id LIMIT {l}"));
    let mut rows = Vec::new();
    for row in db.fetch_all(query_with(&sql, args.0)).await?.iter() {
        rows.push(FeedRow {
            event: from_row(row)?,
            subject: row.try_get("subject")?,
            status: row.try_get("status")?,
            requester_id: uuid_col(row, "requester_id")?,
            assignee_id: super::opt_uuid_col(row, "assignee_id")?,
            comment_body: None,
        });
    }
    let comment_ids: Vec<String> = rows
        .iter()
        .filter(|r| r.event.kind == "comment_added")
        .filter_map(|r| r.event.data.get("comment_id")?.as_str().map(str::to_owned))
        .collect();
    if comment_ids.is_empty() {
        return Ok(rows);
    }
    let mut args = Args::default();
    let marks: Vec<String> = comment_ids
        .iter()
        .map(|id| args.push(Arg::Text(id.clone())))
        .collect();
    let sql = format!(
        "SELECT id, body FROM comments WHERE id IN ({})",
        marks.join(", ")
    );
    let mut bodies = std::collections::HashMap::new();
    for row in db.fetch_all(query_with(&sql, args.0)).await?.iter() {
        bodies.insert(
            row.try_get::<String, _>("id")?,
            row.try_get::<String, _>("body")?,
        );
    }
    for r in &mut rows {
        if let Some(id) = r.event.data.get("comment_id").and_then(|v| v.as_str()) {
            r.comment_body = bodies.get(id).cloned();
        }
    }
    Ok(rows)
}
