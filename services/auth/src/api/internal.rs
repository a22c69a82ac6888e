//! Endpoints for other services only. The gateway never forwards `/internal/*`; callers
//! forward the user's own bearer token, so these see no more than that user could.

use docket_platform::{ApiError, ApiResult, auth::TokenVerifier};
use poem::{
    Request, Route, get, handler,
    web::{Data, Json, Path},
};
use uuid::Uuid;

use super::{AppState, User};
use crate::repo::users;

/// `GET /internal/users/{id}`: a user's role and state, for assignee checks.
#[handler]
async fn user_by_id(
    req: &Request,
    state: Data<&AppState>,
    verifier: Data<&TokenVerifier>,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized("A bearer token is required.".into()))?;
    verifier.current_user(token).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("user"))?;
    let user = users::find_by_id(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(user.into()))
}

pub fn routes() -> Route {
    Route::new().at("/users/:id", get(user_by_id))
}
