//! Endpoints for other services only (the attachments service). The gateway never forwards
//! `/internal/*`; callers forward the user's own bearer token, so these answer for that user
//! and see no more than they could. Not part of the OpenAPI document.
//!
//! - `GET /internal/tickets/{id}/access` → 200 `{ticket_id, requester_id, can_read, can_manage}`
//!   when the caller may read the ticket; 404 otherwise (unknown or invisible alike).
//! - `POST /internal/tickets/{id}/events` with `{"kind": "attachment_added" |
//!   "attachment_removed", "data": {...}}` → 201 the event, actor = the caller; 404 when the
//!   caller cannot read the ticket; 422 for any other kind or a `data` that is not an object.

use docket_platform::{
    ApiError, ApiResult,
    auth::{CurrentUser, TokenVerifier},
};
use poem::{
    IntoResponse, Request, Route, get, handler,
    http::StatusCode,
    post,
    web::{Data, Json, Path},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AppState, Event, visible_ticket};
use crate::{
    domain::EventKind,
    repo::events::{self, NewEvent},
};

/// The forwarded caller, verified like any public request.
async fn caller(req: &Request, verifier: &TokenVerifier) -> ApiResult<CurrentUser> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("A bearer token is required.".into()))?;
    verifier.current_user(token).await
}

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
    req: &Request,
    state: Data<&AppState>,
    verifier: Data<&TokenVerifier>,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessAnswer>> {
    let user = caller(req, &verifier).await?;
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

#[handler]
async fn append_event(
    req: &Request,
    state: Data<&AppState>,
    verifier: Data<&TokenVerifier>,
    Path(id): Path<String>,
    body: Vec<u8>,
) -> ApiResult<impl IntoResponse> {
    let user = caller(req, &verifier).await?;
    let (ticket, _) = visible_ticket(&state, &user, &id).await?;
    let event: ExternalEvent = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Unprocessable(format!("The body is invalid: {e}")))?;
    let kind = EventKind::parse_external(&event.kind).ok_or_else(|| {
        ApiError::Unprocessable(
            "kind must be \"attachment_added\" or \"attachment_removed\".".into(),
        )
    })?;
    if !event.data.is_object() {
        return Err(ApiError::Unprocessable("data must be an object.".into()));
    }
    let row = events::append(
        &state.db,
        NewEvent {
            ticket_id: ticket.id,
            actor_id: user.id,
            kind,
            data: event.data,
            internal: false,
            at: 0,
        },
    )
    .await?;
    tracing::info!(ticket_id = %ticket.id, kind = kind.as_str(), "event appended");
    Ok(poem_openapi::payload::Json(Event::from(row)).with_status(StatusCode::CREATED))
}

pub fn routes() -> Route {
    Route::new()
        .at("/tickets/:id/access", get(access))
        .at("/tickets/:id/events", post(append_event))
}
