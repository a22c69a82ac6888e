//! Endpoints for other services only. The gateway never forwards `/internal/*`. Callers
//! forward the user's own bearer token, so these see no more than that user could — except
//! the look-ups under `/internal/service/`, which answer for no user and take the shared
//! `SERVICE_TOKEN` instead (the notifications service: who to mail, and who a mail is from):
//!
//! - `POST /internal/service/users/lookup` `{"ids": [...], "emails": [...]}` → `{items}`,
//!   the users found (unknown ones left out);
//! - `GET /internal/service/staff` → `{items}`, every active agent and admin.

use docket_platform::{
    ApiError, ApiResult,
    auth::{CurrentUser, Role, check_service_token},
    pagination::Cursor,
};
use poem::{
    Request, Route, get, handler, post,
    web::{Data, Json, Path},
};
use uuid::Uuid;

use super::{AppState, User};
use crate::repo::users;

/// `GET /internal/users/{id}`: a user's role and state, for assignee checks.
#[handler]
async fn user_by_id(
    state: Data<&AppState>,
    Path(id): Path<String>,
    // Any signed-in user may look another up (the forwarded token, verified).
    _caller: CurrentUser,
) -> ApiResult<Json<User>> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("user"))?;
    let user = users::find_by_id(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(user.into()))
}

#[derive(Debug, serde::Deserialize)]
struct Lookup {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
}

/// At most this many ids and emails in one look-up.
const MAX_LOOKUP: usize = 500;

#[handler]
async fn lookup_users(
    req: &Request,
    state: Data<&AppState>,
    body: Vec<u8>,
) -> ApiResult<Json<serde_json::Value>> {
    service_caller(req, &state)?;
    let lookup: Lookup = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Unprocessable(format!("The body is invalid: {e}")))?;
    if lookup.ids.len() + lookup.emails.len() > MAX_LOOKUP {
        return Err(ApiError::field(
            "ids",
            format!("at most {MAX_LOOKUP} in all"),
        ));
    }
    let mut found: Vec<User> = Vec::new();
    for id in &lookup.ids {
        let Ok(id) = Uuid::parse_str(id) else {
            continue;
        };
        if let Some(u) = users::find_by_id(&state.db.pool, id).await? {
            found.push(u.into());
        }
    }
    for email in &lookup.emails {
        let email = email.trim().to_lowercase();
        if let Some(u) = users::find_by_email(&state.db.pool, &email).await? {
            found.push(u.into());
        }
    }
    Ok(Json(serde_json::json!({ "items": found })))
}

#[handler]
async fn staff(req: &Request, state: Data<&AppState>) -> ApiResult<Json<serde_json::Value>> {
    service_caller(req, &state)?;
    let filter = users::ListFilter {
        roles: vec![Role::Agent, Role::Admin],
        active: Some(true),
        q: None,
    };
    let mut items: Vec<User> = Vec::new();
    let mut after = None;
    loop {
        let page = users::list(&state.db, &filter, after.as_ref(), 100).await?;
        let more = page.len() > 100;
        items.extend(page.into_iter().take(100).map(User::from));
        if !more {
            break;
        }
        after = items.last().map(|u| Cursor {
            at: u.created_at.timestamp_millis(),
            id: u.id.to_string(),
        });
    }
    Ok(Json(serde_json::json!({ "items": items })))
}

fn service_caller(req: &Request, state: &AppState) -> ApiResult<()> {
    let expected = state
        .settings
        .service_token
        .as_ref()
        .map(|t| t.expose().as_str());
    check_service_token(req, expected)
}

pub fn routes() -> Route {
    Route::new()
        .at("/users/:id", get(user_by_id))
        .at("/service/users/lookup", post(lookup_users))
        .at("/service/staff", get(staff))
}
