//! Endpoints for other services only (the gateway never forwards `/internal/*`).

use docket_platform::{
    ApiError, ApiResult,
    auth::{CurrentUser, Role},
};
use poem::{
    Route, delete, handler,
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
    state: Data<&AppState>,
    Path(ticket_id): Path<Uuid>,
    // The forwarded admin's token, checked after the id parses (as before: 400 first).
    user: CurrentUser,
) -> ApiResult<StatusCode> {
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
