//! A ticket's history.

use docket_platform::{
    ApiResult,
    auth::BearerAuth,
    pagination::{self, Cursor, Deferred, Limit},
};
use poem::web::Data;
use poem_openapi::{
    OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{AppState, Event, visible_ticket_by_id as visible_ticket};
use crate::repo::events as repo;

#[derive(Tags)]
enum Tag {
    /// History
    Events,
}

docket_platform::page_type!(EventPage, Event);

pub struct EventsApi;

#[OpenApi(tag = "Tag::Events")]
impl EventsApi {
    /// The history, oldest first: creation, field changes, comments, attachments. Events
    /// about internal notes are left out for requesters.
    #[oai(path = "/api/tickets/:id/events", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// 1–100, default 20.
        limit: Query<Option<Deferred<Limit>>>,
        /// From the previous page's `next_cursor`.
        cursor: Query<Option<Deferred<Cursor>>>,
    ) -> ApiResult<Json<EventPage>> {
        let (ticket, access) = visible_ticket(&state, &auth.0, id.0).await?;
        let limit = Limit::or_default(Deferred::get(limit.0, "limit")?);
        let after = Deferred::get(cursor.0, "cursor")?;
        let rows = repo::list(
            &state.db,
            ticket.id,
            access.sees_internal(),
            after.as_ref(),
            limit,
        )
        .await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |e| Cursor {
            at: e.created_at,
            id: e.id.to_string(),
        });
        Ok(Json(EventPage {
            items: rows.into_iter().map(Event::from).collect(),
            next_cursor,
        }))
    }
}
