//! Tickets: open, list and search, read, change (versioned), delete.

use docket_platform::{
    ApiError, ApiResult,
    auth::BearerAuth,
    json::SerdeJson,
    pagination::{Cursor, Limit},
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Header, Path, Query},
    types::MaybeUndefined,
};
use serde::Serialize;
use uuid::Uuid;

use super::{AppState, JsonBody, Ticket, visible_ticket_by_id as visible_ticket};
use crate::{
    domain::{
        Description, Priority, SearchQuery, Status, Subject,
        access::{self, PatchFields},
    },
    repo::tickets::{self as repo, Changes, ListFilter, NewTicket, UpdateOutcome},
};

#[derive(Tags)]
enum Tag {
    /// Tickets
    Tickets,
}

/// What a new ticket needs.
#[derive(Debug, Object)]
pub struct NewTicketBody {
    /// 1–200 characters, not only spaces; trimmed.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"\S"))]
    pub subject: String,
    /// Up to 20 000 characters.
    #[oai(default, validator(max_length = 20000))]
    pub description: String,
    /// Defaults to `normal`. Requesters may set it only here.
    pub priority: Option<Priority>,
}

/// The fields to change; absent fields stay as they are. Requesters may send `subject`,
/// `description` and `status: "closed"` on their own tickets; agents and admins anything.
#[derive(Debug, Object)]
pub struct TicketPatch {
    /// 1–200 characters, not only spaces; trimmed.
    #[oai(validator(min_length = 1, max_length = 200, pattern = r"\S"))]
    pub subject: Option<String>,
    /// Up to 20 000 characters.
    #[oai(validator(max_length = 20000))]
    pub description: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    /// An active agent or admin; `null` unassigns.
    #[oai(nullable)]
    pub assignee_id: MaybeUndefined<Uuid>,
    /// The version this change is based on, when `If-Match` is not sent.
    pub version: Option<i64>,
}

#[derive(Object, Serialize)]
pub struct TicketPage {
    pub items: Vec<Ticket>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum CreatedTicket {
    /// The ticket, `open`, at version 1.
    #[oai(status = 201)]
    Created(SerdeJson<Ticket>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// The ticket, its comments, history and attachments are gone.
    #[oai(status = 204)]
    NoContent,
}

/// Where the expected version came from: it decides the status of a stale one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VersionFrom {
    IfMatch(i64),
    Body(i64),
}

/// `If-Match` (quoted or bare, a weak `W/` prefix tolerated) wins over the body's `version`.
fn expected_version(if_match: Option<&str>, body: Option<i64>) -> ApiResult<VersionFrom> {
    if let Some(raw) = if_match {
        let v = raw.trim();
        let v = v.strip_prefix("W/").unwrap_or(v).trim_matches('"');
        return v.parse().map(VersionFrom::IfMatch).map_err(|_| {
            ApiError::PreconditionFailed(format!("If-Match {raw:?} is not a ticket version."))
        });
    }
    body.map(VersionFrom::Body).ok_or_else(|| {
        ApiError::PreconditionRequired(
            "Send the version you changed: If-Match: <version> or \"version\" in the body.".into(),
        )
    })
}

pub struct TicketsApi;

#[OpenApi(tag = "Tag::Tickets")]
impl TicketsApi {
    /// Open a ticket. It starts `open`, priority `normal` unless given.
    #[oai(path = "/api/tickets", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<NewTicketBody>,
    ) -> ApiResult<CreatedTicket> {
        let body = body.into_inner()?;
        let subject = Subject::parse(&body.subject).map_err(|m| ApiError::field("subject", m))?;
        let description =
            Description::parse(&body.description).map_err(|m| ApiError::field("description", m))?;
        let row = repo::insert(
            &state.db,
            NewTicket {
                subject: &subject,
                description: &description,
                priority: body.priority.unwrap_or_default(),
                requester_id: auth.0.id,
            },
        )
        .await?;
        tracing::info!(ticket_id = %row.id, "ticket opened");
        Ok(CreatedTicket::Created(SerdeJson(row.into())))
    }

    /// List tickets, newest first. Requesters see only their own. `q` searches subject,
    /// description and the comments the caller can see: every word must appear somewhere in
    /// the ticket.
    #[oai(path = "/api/tickets", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        status: Query<Option<Status>>,
        priority: Query<Option<Priority>>,
        assignee_id: Query<Option<Uuid>>,
        requester_id: Query<Option<Uuid>>,
        /// Words to search for (at most 200 characters).
        #[oai(validator(max_length = 200))]
        q: Query<Option<String>>,
        /// 1–100, default 20.
        limit: Query<Option<Limit>>,
        /// From the previous page's `next_cursor`.
        cursor: Query<Option<Cursor>>,
    ) -> ApiResult<SerdeJson<TicketPage>> {
        let limit = Limit::or_default(limit.0);
        let after = cursor.0;
        let q = match q.0.as_deref() {
            Some(raw) => SearchQuery::parse(raw).map_err(|m| ApiError::field("q", m))?,
            None => None,
        };
        let filter = ListFilter {
            scope: access::list_scope(&auth.0),
            status: status.0,
            priority: priority.0,
            assignee_id: assignee_id.0,
            requester_id: requester_id.0,
            q,
            search_internal: auth.0.role.is_staff(),
        };
        // SQLite: a search sees every change committed before it.
        if filter.q.is_some()
            && let Some(index) = &state.search
        {
            index.caught_up().await.map_err(|_| {
                ApiError::ServiceUnavailable(
                    "The search index is catching up with recent changes; try again shortly."
                        .into(),
                )
            })?;
        }
        let rows = repo::list(&state.db, &filter, after.as_ref(), limit).await?;
        let (rows, next_cursor) =
            docket_platform::pagination::page(rows, limit, |(_, cursor)| cursor.clone());
        Ok(SerdeJson(TicketPage {
            items: rows.into_iter().map(|(t, _)| Ticket::from(t)).collect(),
            next_cursor,
        }))
    }

    /// One ticket (its requester, agents and admins; 404 for anyone else).
    #[oai(path = "/api/tickets/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<SerdeJson<Ticket>> {
        let (ticket, _) = visible_ticket(&state, &auth.0, id.0).await?;
        Ok(SerdeJson(ticket.into()))
    }

    /// Change a ticket. The version is required: `If-Match: <version>` (a stale one is 412)
    /// or `version` in the body (a stale one is 409); neither is 428. If-Match wins when both
    /// are sent. Each changed field is recorded in the history.
    #[oai(path = "/api/tickets/:id", method = "patch")]
    async fn patch(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// The ticket's current version, quoted or bare.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: JsonBody<TicketPatch>,
    ) -> ApiResult<SerdeJson<Ticket>> {
        let (current, access) = visible_ticket(&state, &auth.0, id.0).await?;
        let body = body.into_inner()?;
        access.may_patch(&PatchFields {
            subject: body.subject.is_some(),
            description: body.description.is_some(),
            status: body.status,
            priority: body.priority.is_some(),
            assignee: !body.assignee_id.is_undefined(),
        })?;
        let changes = Changes {
            subject: body
                .subject
                .as_deref()
                .map(Subject::parse)
                .transpose()
                .map_err(|m| ApiError::field("subject", m))?,
            description: body
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()
                .map_err(|m| ApiError::field("description", m))?,
            status: body.status,
            priority: body.priority,
            assignee: match body.assignee_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(id)),
            },
        };
        let from = expected_version(if_match.0.as_deref(), body.version)?;
        let stale = || match from {
            VersionFrom::IfMatch(v) => ApiError::PreconditionFailed(format!(
                "The ticket changed: it is no longer at version {v}. Reload and try again."
            )),
            VersionFrom::Body(v) => ApiError::Conflict(format!(
                "The ticket changed: it is no longer at version {v}. Reload and try again."
            )),
        };
        let (VersionFrom::IfMatch(expected) | VersionFrom::Body(expected)) = from;
        if expected != current.version {
            return Err(stale());
        }
        if let Some(Some(assignee)) = changes.assignee
            && Some(assignee) != current.assignee_id
        {
            let user = state.auth.user(assignee, &auth.0.token).await?;
            if !user.is_some_and(|u| u.active && u.role.is_staff()) {
                return Err(ApiError::field(
                    "assignee_id",
                    "must be an active agent or admin",
                ));
            }
        }
        match repo::update(&state.db, &current, expected, changes, auth.0.id).await? {
            UpdateOutcome::Updated(row) => Ok(SerdeJson(row.into())),
            UpdateOutcome::Stale => Err(stale()),
        }
    }

    /// Delete a ticket with its comments, history and attachments (admins). If the
    /// attachments cannot be removed, nothing is deleted.
    #[oai(path = "/api/tickets/:id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Deleted> {
        let (ticket, access) = visible_ticket(&state, &auth.0, id.0).await?;
        access.may_delete()?;
        state
            .attachments
            .delete_for_ticket(ticket.id, &auth.0.token)
            .await?;
        repo::delete(&state.db, ticket.id).await?;
        tracing::info!(ticket_id = %ticket.id, admin = %auth.0.id, "ticket deleted");
        Ok(Deleted::NoContent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_is_read_quoted_or_bare_and_wins_over_the_body() {
        assert_eq!(
            expected_version(Some("3"), None).ok(),
            Some(VersionFrom::IfMatch(3))
        );
        assert_eq!(
            expected_version(Some("\"4\""), Some(9)).ok(),
            Some(VersionFrom::IfMatch(4))
        );
        assert_eq!(
            expected_version(Some("W/\"5\""), None).ok(),
            Some(VersionFrom::IfMatch(5))
        );
        assert_eq!(
            expected_version(None, Some(2)).ok(),
            Some(VersionFrom::Body(2))
        );
        assert!(matches!(
            expected_version(None, None),
            Err(ApiError::PreconditionRequired(_))
        ));
        assert!(matches!(
            expected_version(Some("abc"), Some(1)),
            Err(ApiError::PreconditionFailed(_))
        ));
    }
}
