//! Tickets: open, list and search, read, change (versioned), delete.

use docket_platform::{
    ApiError, ApiResult,
    auth::BearerAuth,
    pagination::{Cursor, Deferred, Limit},
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Header, Path, Query},
    registry::{MetaSchema, MetaSchemaRef},
    types::{Example, MaybeUndefined, ParseError, ParseFromParameter, ParseResult},
};
use serde::Serialize;
use uuid::Uuid;

use super::{AppState, JsonBody, Ticket, visible_ticket_by_id as visible_ticket};
use crate::{
    domain::{
        Description, Priority, SearchQuery, Status, Subject,
        access::{self, PatchFields},
    },
    error,
    json::SerdeJson,
    repo::tickets::{self as repo, Changes, ListFilter, NewTicket, UpdateOutcome},
};

#[derive(Tags)]
enum Tag {
    /// Tickets
    Tickets,
}

/// What a new ticket needs.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
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
#[oai(example, skip_serializing_if_is_none)]
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

impl Example for NewTicketBody {
    fn example() -> Self {
        Self {
            subject: "The printer on floor 3 jams on every page".into(),
            description: "Since this morning; the display shows E-204.".into(),
            priority: Some(Priority::High),
        }
    }
}

impl Example for TicketPatch {
    fn example() -> Self {
        Self {
            subject: None,
            description: None,
            status: Some(Status::InProgress),
            priority: None,
            assignee_id: MaybeUndefined::Undefined,
            version: Some(1),
        }
    }
}

docket_platform::page_type!(TicketPage, Ticket, Serialize);

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

/// Every `If-Match` this API reads, and nothing else: a version, bare or quoted as an entity
/// tag, a weak `W/` tolerated. At most 18 digits, so every match is an `i64`.
pub const IF_MATCH_PATTERN: &str = r#"^(W/)?("[0-9]{1,18}"|[0-9]{1,18})$"#;

/// The `If-Match` header: its schema is [`IF_MATCH_PATTERN`], and the version is read by the
/// same expression. Used as `Deferred<IfMatch>`, so a malformed one is a 422 only once the
/// ticket is known to be visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(i64);

impl IfMatch {
    /// [`IF_MATCH_PATTERN`], read by hand (a test holds the two to the same strings).
    fn parse(raw: &str) -> Option<Self> {
        let tag = raw.strip_prefix("W/").unwrap_or(raw);
        let digits = match tag.strip_prefix('"') {
            Some(quoted) => quoted.strip_suffix('"')?,
            None => tag,
        };
        let well_formed =
            (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return None;
        }
        digits.parse().ok().map(Self)
    }
}

docket_platform::parameter_type!(
    IfMatch,
    "string(if-match)",
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        pattern: Some(IF_MATCH_PATTERN.to_owned()),
        ..MetaSchema::new("string")
    }))
);

impl ParseFromParameter for IfMatch {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse(value).ok_or_else(|| {
            ParseError::custom("must be a ticket version: digits, bare or quoted (\"3\", W/\"3\")")
        })
    }
}

/// `If-Match` wins over the body's `version`; neither is a 428.
fn expected_version(if_match: Option<IfMatch>, body: Option<i64>) -> ApiResult<VersionFrom> {
    if let Some(IfMatch(v)) = if_match {
        return Ok(VersionFrom::IfMatch(v));
    }
    body.map(VersionFrom::Body).ok_or_else(|| {
        error::version_required(
            "Send the version you changed: If-Match: <version> or \"version\" in the body.",
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
        if_match: Header<Option<Deferred<IfMatch>>>,
        body: JsonBody<TicketPatch>,
    ) -> ApiResult<SerdeJson<Ticket>> {
        let (current, access) = visible_ticket(&state, &auth.0, id.0).await?;
        let if_match = Deferred::get(if_match.0, "If-Match")?;
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
        let from = expected_version(if_match, body.version)?;
        let stale = || match from {
            VersionFrom::IfMatch(v) => error::stale_version(format!(
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
        let m = |raw: &str| IfMatch::parse_from_parameter(raw).ok();
        assert_eq!(
            expected_version(m("3"), None).ok(),
            Some(VersionFrom::IfMatch(3))
        );
        assert_eq!(
            expected_version(m("\"4\""), Some(9)).ok(),
            Some(VersionFrom::IfMatch(4))
        );
        assert_eq!(
            expected_version(m("W/\"5\""), None).ok(),
            Some(VersionFrom::IfMatch(5))
        );
        assert_eq!(
            expected_version(None, Some(2)).ok(),
            Some(VersionFrom::Body(2))
        );
        assert!(matches!(
            expected_version(None, None),
            Err(ApiError::Typed(kind, _)) if kind == error::VERSION_REQUIRED
        ));
    }

    #[test]
    fn if_match_accepts_exactly_what_its_pattern_documents() {
        let re = regex::Regex::new(IF_MATCH_PATTERN).unwrap();
        for raw in ["1", "\"12\"", "W/\"7\"", "W/7", &"9".repeat(18)] {
            assert!(re.is_match(raw), "{raw}");
            assert!(IfMatch::parse_from_parameter(raw).is_ok(), "{raw}");
        }
        for raw in [
            "",
            "abc",
            "*",
            "\"3",
            "3\"",
            " 3",
            "-1",
            "1.5",
            &"9".repeat(19),
        ] {
            assert!(!re.is_match(raw), "{raw}");
            assert!(IfMatch::parse_from_parameter(raw).is_err(), "{raw}");
        }
    }
}
