//! Endpoints for other services only (the gateway never forwards `/internal/*`).

use docket_platform::{
    ApiError, ApiResult,
    auth::{Role, TokenVerifier},
};
use poem::{
    Request, Route, delete, handler,
    http::StatusCode,
    web::{Data, Path},
};

use uuid::Uuid;

use super::AppState;
use crate::delete;

/// `DELETE /internal/tickets/{id}/attachments`: the tickets service deleting a ticket, with
/// the admin's token. Every attachment goes, bytes and rows; 204. When storage fails the answer
/// is 503, so the ticket delete fails too and can be retried. The id is parsed as a UUID (400
/// otherwise) and used in its canonical form, the one uploads are stored under.
#[handler]
async fn delete_all(
    req: &Request,
    state: Data<&AppState>,
    verifier: Data<&TokenVerifier>,
    Path(ticket_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized("A bearer token is required.".into()))?;
    let user = verifier.current_user(token).await?;
    if user.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "Only admins may delete a ticket's attachments.".into(),
        ));
    }
    let removed = delete::all_of_ticket(&state, ticket_id).await?;
    tracing::info!(%ticket_id, removed, "deleted a ticket's attachments");
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> Route {
    Route::new().at("/tickets/:id/attachments", delete(delete_all))
}
