//! Endpoints for other services only (the attachments service). The gateway never forwards
//! `/internal/*`; callers forward the user's own bearer token, so these answer for that user
//! and see no more than they could. Not part of the OpenAPI document.
//!
//! - `GET /internal/tickets/{id}/access` → 200 `{ticket_id, requester_id, can_read, can_manage}`
//!   when the caller may read the ticket; 404 otherwise (unknown or invisible alike).
//! - `POST /internal/tickets/{id}/events` with `{"kind": "attachment_added" |
//!   "attachment_removed", "data": {...}}` → 201 the event, actor = the caller; or with
//!   `{"events": [...]}`, up to 100 such events (an upload's files), → 201 `{items}`, all
//!   recorded in one transaction or none; 404 when the caller cannot read the ticket; 422 for
//!   any other kind or a `data` that is not an object.
//!
//! The caller is the platform's [`CurrentUser`] extractor: the forwarded bearer token, its
//! scheme matched whatever its case.
//! - `GET /internal/events?after=<cursor>&limit=<1..=500>` → `{items, next_cursor}`: every
//!   ticket's history, oldest first, for the notifications service. It answers for no user,
//!   so it takes the shared `SERVICE_TOKEN` (`X-Service-Token`) instead of a bearer token.
//!   Each item carries what recipient rules and mail need: the event, the ticket's subject,
//!   status, requester and assignee, and a comment's text and internal flag. Events younger
//!   than [`FEED_SETTLE_MS`] are held back (see `repo::events::feed`); `next_cursor` is the
//!   last item's position, or the `after` sent when the page is empty, never null, so a
//!   poller always has a cursor to store.

use docket_platform::{
    ApiError, ApiResult,
    auth::{CurrentUser, check_service_token},
    db::now_ms,
    pagination::Cursor,
};
use poem::{
    IntoResponse, Request, Response, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Json, Path, Query},
};
use poem_openapi::types::ToJSON;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AppState, Event, visible_ticket};
use crate::{
    domain::EventKind,
    repo::events::{self, NewEvent},
};

/// What the caller may do with a ticket.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessAnswer {
    pub ticket_id: Uuid,
    pub requester_id: Uuid,
    /// Always true in a 200 answer (an unreadable ticket is a 404).
    pub can_read: bool,
    /// Agents and admins: may delete anyone's attachments.
    pub can_manage: bool,
}

#[handler]
async fn access(
    state: Data<&AppState>,
    Path(id): Path<String>,
    user: CurrentUser,
) -> ApiResult<Json<AccessAnswer>> {
    let (ticket, access) = visible_ticket(&state, &user, &id).await?;
    Ok(Json(AccessAnswer {
        ticket_id: ticket.id,
        requester_id: ticket.requester_id,
        can_read: true,
        can_manage: access.can_manage(),
    }))
}

#[derive(Debug, Deserialize)]
struct ExternalEvent {
    kind: String,
    data: serde_json::Value,
}

/// The body of `POST /internal/tickets/{id}/events`: one event, or several at once (an upload
/// of several files records them in one call, all or none).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExternalEvents {
    Many { events: Vec<ExternalEvent> },
    One(ExternalEvent),
}

/// At most this many events in one call (an upload takes at most five files).
const MAX_EVENTS: usize = 100;

impl ExternalEvent {
    /// Checked into the event `actor` appends to `ticket_id`.
    fn into_new(self, ticket_id: Uuid, actor: Uuid) -> ApiResult<NewEvent> {
        let kind = EventKind::parse_external(&self.kind).ok_or_else(|| {
            ApiError::Unprocessable(
                "kind must be \"attachment_added\" or \"attachment_removed\".".into(),
            )
        })?;
        if !self.data.is_object() {
            return Err(ApiError::Unprocessable("data must be an object.".into()));
        }
        Ok(NewEvent {
            ticket_id,
            actor_id: actor,
            kind,
            data: self.data,
            internal: false,
            at: 0,
        })
    }
}

#[handler]
async fn append_event(
    state: Data<&AppState>,
    Path(id): Path<String>,
    user: CurrentUser,
    body: Vec<u8>,
) -> ApiResult<Response> {
    let (ticket, _) = visible_ticket(&state, &user, &id).await?;
    let body: ExternalEvents = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Unprocessable(format!("The body is invalid: {e}")))?;
    match body {
        ExternalEvents::One(event) => {
            let new = event.into_new(ticket.id, user.id)?;
            let kind = new.kind;
            let row = events::append(&state.db, new).await?;
            tracing::info!(ticket_id = %ticket.id, kind = kind.as_str(), "event appended");
            Ok(poem_openapi::payload::Json(Event::from(row))
                .with_status(StatusCode::CREATED)
                .into_response())
        }
        ExternalEvents::Many { events: many } => {
            if many.is_empty() || many.len() > MAX_EVENTS {
                return Err(ApiError::field(
                    "events",
                    format!("between 1 and {MAX_EVENTS} events"),
                ));
            }
            let new = many
                .into_iter()
                .map(|e| e.into_new(ticket.id, user.id))
                .collect::<ApiResult<Vec<_>>>()?;
            let rows = events::append_all(&state.db, new).await?;
            tracing::info!(ticket_id = %ticket.id, count = rows.len(), "events appended");
            let items: Vec<Event> = rows.into_iter().map(Event::from).collect();
            Ok(
                poem_openapi::payload::Json(
                    serde_json::json!({ "items": ToJSON::to_json(&items) }),
                )
                .with_status(StatusCode::CREATED)
                .into_response(),
            )
        }
    }
}

/// How far behind the newest write the feed stays: longer than any write transaction takes.
pub const FEED_SETTLE_MS: i64 = 1000;
const FEED_MAX_LIMIT: u32 = 500;

/// One feed entry.
#[derive(Debug, Serialize, Deserialize)]
pub struct FeedItem {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub actor_id: Uuid,
    pub kind: String,
    pub data: serde_json::Value,
    /// About an internal note.
    pub internal: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    pub subject: String,
    pub status: String,
    pub requester_id: Uuid,
    pub assignee_id: Option<Uuid>,
    /// `comment_added`: the comment's text.
    pub comment_body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    after: Option<String>,
    limit: Option<String>,
}

#[handler]
async fn feed(
    req: &Request,
    state: Data<&AppState>,
    Query(q): Query<FeedQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    check_service_token(
        req,
        state
            .settings
            .service_token
            .as_ref()
            .map(|t| t.expose().as_str()),
    )?;
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(raw) => {
            Some(Cursor::decode(raw).map_err(|_| ApiError::field("after", "is malformed"))?)
        }
        None => None,
    };
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=FEED_MAX_LIMIT).contains(l))
            .ok_or_else(|| ApiError::field("limit", format!("must be 1..={FEED_MAX_LIMIT}")))?,
    };
    let until = now_ms() - FEED_SETTLE_MS;
    let mut rows = events::feed(&state.db, after.as_ref(), until, limit).await?;
    rows.truncate(limit as usize);
    let next = rows
        .last()
        .map(|r| Cursor {
            at: r.event.created_at,
            id: r.event.id.to_string(),
        })
        .or(after);
    let items: Vec<FeedItem> = rows
        .into_iter()
        .map(|r| FeedItem {
            id: r.event.id,
            ticket_id: r.event.ticket_id,
            actor_id: r.event.actor_id,
            kind: r.event.kind,
            data: r.event.data,
            internal: r.event.internal,
            created_at: r.event.created_at,
            subject: r.subject,
            status: r.status,
            requester_id: r.requester_id,
            assignee_id: r.assignee_id,
            comment_body: r.comment_body,
        })
        .collect();
    Ok(Json(serde_json::json!({
        "items": items,
        "next_cursor": next.map(|c| c.encode()),
    })))
}

pub fn routes() -> Route {
    Route::new()
        .at("/events", get(feed))
        .at("/tickets/:id/access", get(access))
        .at("/tickets/:id/events", post(append_event))
}
