//! The HTTP API: one `#[OpenApi]` struct per resource, the objects they exchange, and the
//! internal routes for other services.

pub mod comments;
pub mod events;
pub mod internal;
pub mod tickets;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use docket_platform::{
    ApiError, ApiResult,
    auth::CurrentUser,
    db::{Db, from_ms},
};
use poem_openapi::Object;
use serde::Serialize;
use uuid::Uuid;

pub use docket_platform::body::JsonBody;

use crate::{
    Settings,
    clients::{attachments::AttachmentsClient, auth::AuthClient},
    domain::{
        Priority, Status,
        access::{Grant, ticket_access},
    },
    json::rfc3339,
    repo::{
        comments::CommentRow,
        events::EventRow,
        search_index::SearchIndex,
        tickets::{self as ticket_repo, TicketRow},
    },
};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// SQLite: the search index's progress, which a search waits on (see
    /// `repo::search_index`).
    pub search: Option<SearchIndex>,
    pub auth: AuthClient,
    pub attachments: AttachmentsClient,
    pub settings: Arc<Settings>,
}

// `Serialize` writes what `Object` does (see `crate::json`): tickets and comments
// are answered with a `SerdeJson`.
/// A ticket as the API shows it.
#[derive(Debug, Clone, Object, Serialize)]
pub struct Ticket {
    pub id: Uuid,
    /// 1–200 characters, trimmed.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub subject: String,
    /// Up to 20 000 characters.
    #[oai(validator(max_length = 20000))]
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    /// Who opened it.
    pub requester_id: Uuid,
    /// The agent or admin working it; null when unassigned.
    #[oai(nullable)]
    pub assignee_id: Option<Uuid>,
    /// Increases with every change; send it back (`If-Match` or `version`) to PATCH.
    pub version: i64,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
}

impl From<TicketRow> for Ticket {
    fn from(r: TicketRow) -> Self {
        Self {
            id: r.id,
            subject: r.subject,
            description: r.description,
            status: r.status,
            priority: r.priority,
            requester_id: r.requester_id,
            assignee_id: r.assignee_id,
            version: r.version,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

/// A comment, or an internal note (`internal: true`, seen by agents and admins only).
#[derive(Debug, Clone, Object, Serialize)]
pub struct Comment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author_id: Uuid,
    #[oai(validator(min_length = 1, max_length = 20000))]
    pub body: String,
    pub internal: bool,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<CommentRow> for Comment {
    fn from(r: CommentRow) -> Self {
        Self {
            id: r.id,
            ticket_id: r.ticket_id,
            author_id: r.author_id,
            body: r.body,
            internal: r.internal,
            created_at: from_ms(r.created_at),
        }
    }
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, Object)]
pub struct Event {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// Who did it.
    pub actor_id: Uuid,
    /// `created`, `status_changed`, `priority_changed`, `assignee_changed`, `updated`,
    /// `comment_added`, `attachment_added` or `attachment_removed`.
    pub kind: String,
    /// Field changes: `{"field", "from", "to"}`; `updated`: `{"fields": [...]}`;
    /// `comment_added`: `{"comment_id", "internal"}`; attachments: `{"attachment_id", "filename"}`.
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Self {
        Self {
            id: r.id,
            ticket_id: r.ticket_id,
            actor_id: r.actor_id,
            kind: r.kind,
            data: r.data,
            created_at: from_ms(r.created_at),
        }
    }
}

/// Parses a path id; anything that is not a UUID names no ticket (404).
pub fn parse_ticket_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::not_found("ticket"))
}

/// [`visible_ticket_by_id`] for a raw path segment (the internal routes).
pub async fn visible_ticket(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
) -> ApiResult<(TicketRow, Grant)> {
    visible_ticket_by_id(state, user, parse_ticket_id(raw_id)?).await
}

/// The ticket and what the caller may do with it, or 404 when unknown *or* invisible — the
/// first thing every per-ticket operation does.
pub async fn visible_ticket_by_id(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> ApiResult<(TicketRow, Grant)> {
    let ticket = ticket_repo::find(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    let access =
        ticket_access(user, ticket.requester_id).ok_or_else(|| ApiError::not_found("ticket"))?;
    Ok((ticket, access))
}

type Apis = (
    tickets::TicketsApi,
    comments::CommentsApi,
    events::EventsApi,
);

/// The OpenAPI service of this service's public API.
pub fn openapi() -> poem_openapi::OpenApiService<Apis, ()> {
    poem_openapi::OpenApiService::new(
        (
            tickets::TicketsApi,
            comments::CommentsApi,
            events::EventsApi,
        ),
        "Docket tickets",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Tickets, comments, internal notes and history. Paths are the public paths through \
         the gateway.",
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use poem_openapi::types::ToJSON;

    use super::{comments::CommentPage, tickets::TicketPage, *};

    fn assert_serde_writes_what_to_json_does<T: Serialize + ToJSON>(value: &T) {
        assert_eq!(
            serde_json::to_value(value).unwrap(),
            value.to_json().unwrap()
        );
    }

    /// Tickets and comments answer with `SerdeJson`: serde must write what poem-openapi's
    /// `ToJSON` would, null assignee, timestamps and all.
    #[test]
    fn ticket_and_comment_pages_serialize_as_their_openapi_objects_do() {
        let at = Utc.timestamp_millis_opt(1_795_000_000_123).unwrap();
        let ticket = |assignee_id| Ticket {
            id: Uuid::now_v7(),
            subject: "Printer \"jammed\" — again".into(),
            description: "Line one\nline two".into(),
            status: Status::InProgress,
            priority: Priority::Urgent,
            requester_id: Uuid::now_v7(),
            assignee_id,
            version: 7,
            created_at: at,
            updated_at: at + chrono::Duration::milliseconds(1),
        };
        let comment = |internal| Comment {
            id: Uuid::now_v7(),
            ticket_id: Uuid::now_v7(),
            author_id: Uuid::now_v7(),
            body: "It \"works\" — now\nthanks".into(),
            internal,
            created_at: at,
        };
        for next_cursor in [None, Some("abc".to_owned())] {
            assert_serde_writes_what_to_json_does(&TicketPage {
                items: vec![ticket(None), ticket(Some(Uuid::now_v7()))],
                next_cursor: next_cursor.clone(),
            });
            assert_serde_writes_what_to_json_does(&CommentPage {
                items: vec![comment(false), comment(true)],
                next_cursor,
            });
        }
    }
}
