//! Comments and internal notes on a ticket.

use docket_platform::{
    ApiResult,
    auth::BearerAuth,
    pagination::{self, Cursor, Deferred, Limit},
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Path, Query},
    types::Example,
};
use serde::Serialize;
use uuid::Uuid;

use super::{AppState, Comment, JsonBody, visible_ticket_by_id as visible_ticket};
use crate::{domain::CommentBody, json::SerdeJson, repo::comments as repo};

#[derive(Tags)]
enum Tag {
    /// Comments
    Comments,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct NewComment {
    /// 1–20 000 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 20000, pattern = r"\S"))]
    pub body: String,
    /// An internal note, seen by agents and admins only (agents and admins may post one).
    #[oai(default)]
    pub internal: bool,
}

impl Example for NewComment {
    fn example() -> Self {
        Self {
            body: "Thanks: I have ordered a new fuser; it arrives on Thursday.".into(),
            internal: false,
        }
    }
}

docket_platform::page_type!(CommentPage, Comment, Serialize);

#[derive(ApiResponse)]
pub enum CreatedComment {
    #[oai(status = 201)]
    Created(SerdeJson<Comment>),
}

pub struct CommentsApi;

#[OpenApi(tag = "Tag::Comments")]
impl CommentsApi {
    /// Comment on a ticket the caller can read; `internal: true` only for agents and admins.
    #[oai(path = "/api/tickets/:id/comments", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<NewComment>,
    ) -> ApiResult<CreatedComment> {
        let (ticket, access) = visible_ticket(&state, &auth.0, id.0).await?;
        let body = body.into_inner()?;
        access.may_comment(body.internal)?;
        let text = CommentBody::parse(&body.body)
            .map_err(|m| docket_platform::ApiError::field("body", m))?;
        let row = repo::insert(&state.db, ticket.id, auth.0.id, &text, body.internal).await?;
        Ok(CreatedComment::Created(SerdeJson(row.into())))
    }

    /// The conversation, oldest first. Internal notes are left out for requesters.
    #[oai(path = "/api/tickets/:id/comments", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// 1–100, default 20.
        limit: Query<Option<Deferred<Limit>>>,
        /// From the previous page's `next_cursor`.
        cursor: Query<Option<Deferred<Cursor>>>,
    ) -> ApiResult<SerdeJson<CommentPage>> {
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
        let (rows, next_cursor) = pagination::page(rows, limit, |c| Cursor {
            at: c.created_at,
            id: c.id.to_string(),
        });
        Ok(SerdeJson(CommentPage {
            items: rows.into_iter().map(Comment::from).collect(),
            next_cursor,
        }))
    }
}
