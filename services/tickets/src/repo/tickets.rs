//! Tickets: create, read, list (filters, text search, keyset paging), versioned update and
//! delete. Every write records its events in the same transaction.

use docket_platform::{
    db::{Backend, Db, now_ms},
    pagination::Cursor,
};
use serde_json::json;
use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use super::{Arg, Args, events, opt_uuid_col, query_with, search, search_index, uuid_col};
use crate::domain::{
    Description, EventKind, Priority, SearchQuery, Status, Subject, access::ListScope,
};

#[derive(Debug, Clone)]
pub struct TicketRow {
    pub id: Uuid,
    pub subject: String,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    pub requester_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "t.id, t.subject, t.description, t.status, t.priority, t.requester_id, \
                       t.assignee_id, t.version, t.created_at, t.updated_at";

fn from_row(row: &AnyRow) -> Result<TicketRow, sqlx::Error> {
    let decode = |e: String| sqlx::Error::Decode(e.into());
    Ok(TicketRow {
        id: uuid_col(row, "id")?,
        subject: row.try_get("subject")?,
        description: row.try_get("description")?,
        status: row
            .try_get::<String, _>("status")?
            .parse()
            .map_err(decode)?,
        priority: row
            .try_get::<String, _>("priority")?
            .parse()
            .map_err(decode)?,
        requester_id: uuid_col(row, "requester_id")?,
        assignee_id: opt_uuid_col(row, "assignee_id")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub struct NewTicket<'a> {
    pub subject: &'a Subject,
    pub description: &'a Description,
    pub priority: Priority,
    pub requester_id: Uuid,
}

/// Creates an `open` ticket at version 1, its `created` event and its search document, in one
/// transaction.
#[tracing::instrument(skip_all)]
pub async fn insert(db: &Db, new: NewTicket<'_>) -> Result<TicketRow, sqlx::Error> {
    let now = now_ms();
    let row = TicketRow {
        id: Uuid::now_v7(),
        subject: new.subject.as_str().to_owned(),
        description: new.description.as_str().to_owned(),
        status: Status::Open,
        priority: new.priority,
        requester_id: new.requester_id,
        assignee_id: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let mut args = Args(vec![
        Arg::Text(row.id.to_string()),
        Arg::Text(row.subject.clone()),
        Arg::Text(row.description.clone()),
        Arg::Text(row.status.as_str().to_owned()),
        Arg::Text(row.priority.as_str().to_owned()),
        Arg::Text(row.requester_id.to_string()),
        Arg::Int(now),
    ]);
    let created = events::NewEvent {
        ticket_id: row.id,
        actor_id: row.requester_id,
        kind: EventKind::Created,
        data: json!({ "status": row.status, "priority": row.priority }),
        internal: false,
        at: now,
    };
    match db.backend {
        Backend::Sqlite => {
            let mut tx = db.begin_write().await?;
            tx.queue(
                format!(
                    "INSERT INTO tickets (seq, id, subject, description, status, priority, \
                     requester_id, assignee_id, version, created_at, updated_at) \
                     VALUES ({}, $1, $2, $3, $4, $5, $6, NULL, 1, $7, $7)",
                    search::SQLITE_NEXT_SEQ
                ),
                args.0,
            );
            search::refresh(&mut tx, db.backend, row.id);
            events::insert(&mut tx, created);
            tx.commit().await?;
        }
        // One statement: the row with its search document (written once), and its event.
        Backend::Postgres => {
            let text = search::new_ticket_text(&row.subject, &row.description);
            let text = args.push(Arg::Text(text));
            let event = events::insert_for_changed(&mut args, &[created]);
            let sql = format!(
                "WITH changed AS (INSERT INTO tickets (id, subject, description, status, \
                 priority, requester_id, assignee_id, version, created_at, updated_at, \
                 search) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, 1, $7, $7, {}) RETURNING id) {event}",
                search::public_words(&text)
            );
            db.execute(query_with(&sql, args.0)).await?;
        }
    }
    Ok(row)
}

#[tracing::instrument(skip(db))]
pub async fn find(db: &Db, id: Uuid) -> Result<Option<TicketRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM tickets t WHERE t.id = $1");
    db.fetch_optional(sqlx::query(&sql).bind(id.to_string()))
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub scope: ListScope,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Uuid>,
    pub requester_id: Option<Uuid>,
    pub q: Option<SearchQuery>,
    /// Whether internal notes count for `q` (agents and admins).
    pub search_internal: bool,
}

impl ListFilter {
    /// Every ticket, as staff see them: no filter, no words.
    pub fn everything() -> Self {
        Self {
            scope: ListScope::Everything,
            status: None,
            priority: None,
            assignee_id: None,
            requester_id: None,
            q: None,
            search_internal: true,
        }
    }
}

/// Whether a list is ordered by the ticket's position in the search index (a text search on
/// SQLite, walked newest first by FTS5 itself) rather than by `(created_at, id)`. Positions
/// grow with every new ticket, so both orders are newest first; the cursor holds the key of
/// the order it came from.
fn by_position(backend: Backend, filter: &ListFilter) -> bool {
    backend == Backend::Sqlite && filter.q.is_some()
}

/// The SQL and arguments of a list query (its plans are checked in `repo::plans`).
pub(crate) fn list_sql(
    backend: Backend,
    filter: &ListFilter,
    after: Option<&Cursor>,
    limit: u32,
) -> (String, Vec<Arg>) {
    let mut args = Args::default();
    let by_position = by_position(backend, filter);
    let mut sql = if by_position {
        format!(
            "SELECT {COLUMNS}, ticket_text.rowid AS position \
             FROM {}.ticket_text AS ticket_text \
             JOIN tickets t ON t.seq = ticket_text.rowid WHERE 1 = 1",
            search_index::SCHEMA
        )
    } else {
        format!("SELECT {COLUMNS} FROM tickets t WHERE 1 = 1")
    };
    if let Some(q) = &filter.q {
        match backend {
            Backend::Sqlite => {
                let expr = if filter.search_internal {
                    q.fts5()
                } else {
                    format!("{{public}} : ({})", q.fts5())
                };
                let p = args.push(Arg::Text(expr));
                sql.push_str(&format!(" AND ticket_text MATCH {p}"));
            }
            Backend::Postgres => {
                let p = args.push(Arg::Text(q.plain()));
                let query = format!("plainto_tsquery('simple', {p})");
                let matches = search::postgres_match(&query, filter.search_internal);
                sql.push_str(&format!(" AND {matches}"));
            }
        }
    }
    if let ListScope::RequestedBy(id) = filter.scope {
        let p = args.push(Arg::Text(id.to_string()));
        sql.push_str(&format!(" AND t.requester_id = {p}"));
    }
    if let Some(id) = filter.requester_id {
        let p = args.push(Arg::Text(id.to_string()));
        sql.push_str(&format!(" AND t.requester_id = {p}"));
    }
    if let Some(status) = filter.status {
        let p = args.push(Arg::Text(status.as_str().to_owned()));
        sql.push_str(&format!(" AND t.status = {p}"));
    }
    if let Some(priority) = filter.priority {
        let p = args.push(Arg::Text(priority.as_str().to_owned()));
        sql.push_str(&format!(" AND t.priority = {p}"));
    }
    if let Some(id) = filter.assignee_id {
        let p = args.push(Arg::Text(id.to_string()));
        sql.push_str(&format!(" AND t.assignee_id = {p}"));
    }
    let l = if by_position {
        if let Some(c) = after {
            let a = args.push(Arg::Int(c.at));
            sql.push_str(&format!(" AND ticket_text.rowid < {a}"));
        }
        let l = args.push(Arg::Int(i64::from(limit) + 1));
        format!(" ORDER BY ticket_text.rowid DESC LIMIT {l}")
    } else {
        if let Some(c) = after {
            let a = args.push(Arg::Int(c.at));
            let b = args.push(Arg::Text(c.id.clone()));
            sql.push_str(&format!(" AND (t.created_at, t.id) < ({a}, {b})"));
        }
        let l = args.push(Arg::Int(i64::from(limit) + 1));
        format!(" ORDER BY t.created_at DESC, t.id DESC LIMIT {l}")
    };
    sql.push_str(&l);
    (sql, args.0)
}

/// Newest first, keyset-paginated; fetches `limit + 1` rows so the caller knows if more exist.
/// Each row comes with the cursor that continues after it.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    filter: &ListFilter,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<Vec<(TicketRow, Cursor)>, sqlx::Error> {
    if filter.q.as_ref().is_some_and(SearchQuery::is_empty) {
        return Ok(Vec::new());
    }
    let by_position = by_position(db.backend, filter);
    let (sql, args) = list_sql(db.backend, filter, after, limit);
    // A search's best plan depends on how common its words are (see the Postgres 0002
    // migration). A prepared statement may switch to one generic plan after five runs, made
    // for an average word: a rare word then walks a million rows. So searches are not kept
    // as prepared statements, and Postgres plans each with its words.
    let persistent = !(db.backend == Backend::Postgres && filter.q.is_some());
    db.fetch_all(query_with(&sql, args).persistent(persistent))
        .await?
        .iter()
        .map(|r| {
            let row = from_row(r)?;
            let at = if by_position {
                r.try_get("position")?
            } else {
                row.created_at
            };
            let cursor = Cursor {
                at,
                id: row.id.to_string(),
            };
            Ok((row, cursor))
        })
        .collect()
}

/// What a PATCH asks to set. `assignee: Some(None)` unassigns.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub subject: Option<Subject>,
    pub description: Option<Description>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee: Option<Option<Uuid>>,
}

#[derive(Debug)]
pub enum UpdateOutcome {
    Updated(TicketRow),
    /// The ticket's version is no longer the one the caller had: nothing was changed.
    Stale,
}

/// Applies `changes` if the ticket is still at `expected_version`, bumping the version and
/// recording one event per changed field, all in one transaction. `current` is the row as
/// read before: when the guarded UPDATE succeeds the version proves nothing changed since.
#[tracing::instrument(skip(db, current, changes), fields(ticket_id = %current.id))]
pub async fn update(
    db: &Db,
    current: &TicketRow,
    expected_version: i64,
    changes: Changes,
    actor_id: Uuid,
) -> Result<UpdateOutcome, sqlx::Error> {
    if expected_version != current.version {
        return Ok(UpdateOutcome::Stale);
    }
    let now = now_ms();
    let mut next = current.clone();
    let mut args = Args::default();
    let mut sets = Vec::new();
    let mut new_events = Vec::new();
    let mut text_fields = Vec::new();
    let field_event = |kind, field: &str, from: serde_json::Value, to: serde_json::Value| {
        (kind, json!({ "field": field, "from": from, "to": to }))
    };

    if let Some(subject) = changes.subject.filter(|s| s.as_str() != current.subject) {
        sets.push(format!(
            "subject = {}",
            args.push(Arg::Text(subject.as_str().into()))
        ));
        next.subject = subject.as_str().to_owned();
        text_fields.push("subject");
    }
    if let Some(d) = changes
        .description
        .filter(|d| d.as_str() != current.description)
    {
        sets.push(format!(
            "description = {}",
            args.push(Arg::Text(d.as_str().into()))
        ));
        next.description = d.as_str().to_owned();
        text_fields.push("description");
    }
    if let Some(status) = changes.status.filter(|s| *s != current.status) {
        sets.push(format!(
            "status = {}",
            args.push(Arg::Text(status.as_str().into()))
        ));
        new_events.push(field_event(
            EventKind::StatusChanged,
            "status",
            json!(current.status),
            json!(status),
        ));
        next.status = status;
    }
    if let Some(priority) = changes.priority.filter(|p| *p != current.priority) {
        sets.push(format!(
            "priority = {}",
            args.push(Arg::Text(priority.as_str().into()))
        ));
        new_events.push(field_event(
            EventKind::PriorityChanged,
            "priority",
            json!(current.priority),
            json!(priority),
        ));
        next.priority = priority;
    }
    if let Some(assignee) = changes.assignee.filter(|a| *a != current.assignee_id) {
        match assignee {
            Some(id) => sets.push(format!(
                "assignee_id = {}",
                args.push(Arg::Text(id.to_string()))
            )),
            None => sets.push("assignee_id = NULL".to_owned()),
        }
        new_events.push(field_event(
            EventKind::AssigneeChanged,
            "assignee_id",
            json!(current.assignee_id),
            json!(assignee),
        ));
        next.assignee_id = assignee;
    }
    if !text_fields.is_empty() {
        new_events.push((EventKind::Updated, json!({ "fields": text_fields })));
    }
    if sets.is_empty() {
        // Nothing differs: the version matched, so the answer is the ticket as it is.
        return Ok(UpdateOutcome::Updated(next));
    }

    let at = args.push(Arg::Int(now));
    let id = args.push(Arg::Text(current.id.to_string()));
    let v = args.push(Arg::Int(expected_version));
    let sql = format!(
        "UPDATE tickets SET {}, version = version + 1, updated_at = {at} \
         WHERE id = {id} AND version = {v}",
        sets.join(", ")
    );
    let event = |kind, data| events::NewEvent {
        ticket_id: current.id,
        actor_id,
        kind,
        data,
        internal: false,
        at: now,
    };
    match db.backend {
        // One trip, and it can commit with other writers' (see `WriteTx`): each statement
        // after the UPDATE happens only if the one before it changed a row, so a stale
        // version writes nothing. The `updated` event, queued last when the text changed, is
        // what the search document waits for.
        Backend::Sqlite => {
            let mut tx = db.begin_write().await?;
            tx.queue(sql, args.0);
            for (kind, data) in new_events {
                events::insert_if_changed(&mut tx, event(kind, data));
            }
            if !text_fields.is_empty() {
                search::refresh_if_changed(&mut tx, current.id);
            }
            if tx.commit_counted().await?.first() != Some(&1) {
                return Ok(UpdateOutcome::Stale);
            }
        }
        // Status, priority and assignee: the UPDATE and its events in one statement, which
        // appends no event if the version was stale.
        Backend::Postgres if text_fields.is_empty() => {
            let events: Vec<_> = new_events.into_iter().map(|(k, d)| event(k, d)).collect();
            let sql = format!(
                "WITH changed AS ({sql} RETURNING id) {}",
                events::insert_for_changed(&mut args, &events)
            );
            if db.execute(query_with(&sql, args.0)).await?.rows_affected() == 0 {
                return Ok(UpdateOutcome::Stale);
            }
        }
        // The text: the search documents are rewritten by a second statement, which sees
        // every comment committed before the UPDATE took the row's lock.
        Backend::Postgres => {
            let mut tx = db.begin_write().await?;
            if tx.execute(sql, args.0).await? == 0 {
                tx.rollback().await?;
                return Ok(UpdateOutcome::Stale);
            }
            search::refresh(&mut tx, db.backend, current.id);
            for (kind, data) in new_events {
                events::insert(&mut tx, event(kind, data));
            }
            tx.commit().await?;
        }
    }
    next.version = expected_version + 1;
    next.updated_at = now;
    Ok(UpdateOutcome::Updated(next))
}

/// Deletes a ticket with its comments, events and search document in one transaction; false
/// if it was gone.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &Db, ticket_id: Uuid) -> Result<bool, sqlx::Error> {
    let id = ticket_id.to_string();
    let mut tx = db.begin_write().await?;
    search::remove(&mut tx, db.backend, ticket_id);
    for sql in [
        "DELETE FROM comments WHERE ticket_id = $1",
        "DELETE FROM events WHERE ticket_id = $1",
    ] {
        tx.queue(sql, vec![Arg::Text(id.clone())]);
    }
    let gone = tx
        .execute("DELETE FROM tickets WHERE id = $1", vec![Arg::Text(id)])
        .await?;
    tx.commit().await?;
    Ok(gone > 0)
}
