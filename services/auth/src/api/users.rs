//! Admin: the user list, role changes and deactivation. Staff: the people tickets can be
//! assigned to.

use docket_platform::{
    ApiError, ApiResult,
    auth::{BearerAuth, CurrentUser, Role},
    body::JsonBody,
    pagination::{self, Cursor, Limit},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use uuid::Uuid;

use super::{AppState, User};
use crate::repo::{refresh_tokens, users};

#[derive(Tags)]
enum Tag {
    /// People and roles
    Users,
}

docket_platform::page_type!(UserPage, User);

/// What an admin may change about a user.
#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct UserPatch {
    pub role: Option<Role>,
    /// False deactivates: the user can no longer sign in or refresh.
    pub active: Option<bool>,
}

impl Example for UserPatch {
    fn example() -> Self {
        Self {
            role: Some(Role::Agent),
            active: None,
        }
    }
}

/// Someone a ticket can be assigned to.
#[derive(Object)]
pub struct Assignee {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
}

#[derive(Object)]
pub struct AssigneeList {
    pub items: Vec<Assignee>,
}

fn require_admin(user: &CurrentUser) -> ApiResult<()> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Only admins may manage users.".into()))
    }
}

pub struct UsersApi;

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// List users, newest first (admin).
    #[oai(path = "/api/users", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list_users(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// 1–100, default 20.
        limit: Query<Option<Limit>>,
        /// From the previous page's `next_cursor`.
        cursor: Query<Option<Cursor>>,
        role: Query<Option<Role>>,
        active: Query<Option<bool>>,
        /// Part of an email or name.
        q: Query<Option<String>>,
    ) -> ApiResult<Json<UserPage>> {
        require_admin(&auth.0)?;
        let limit = Limit::or_default(limit.0);
        let after = cursor.0;
        let filter = users::ListFilter {
            roles: role.0.into_iter().collect(),
            active: active.0,
            q: q.0.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        };
        let rows = users::list(&state.db, &filter, after.as_ref(), limit).await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |u| Cursor {
            at: u.created_at,
            id: u.id.to_string(),
        });
        Ok(Json(UserPage {
            items: rows.into_iter().map(User::from).collect(),
            next_cursor,
        }))
    }

    /// Change a user's role or deactivate them (admin). Deactivating signs them out everywhere.
    #[oai(path = "/api/users/:id", method = "patch")]
    async fn patch_user(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<UserPatch>,
    ) -> ApiResult<Json<User>> {
        require_admin(&auth.0)?;
        let id = id.0;
        let target = users::find_by_id(&state.db.pool, id).await?;
        let body = body.into_inner()?;
        let target = target.ok_or_else(|| ApiError::not_found("user"))?;
        let demotes_admin = target.role == Role::Admin
            && target.active
            && (body.role.is_some_and(|r| r != Role::Admin) || body.active == Some(false));
        if demotes_admin && users::count_active_admins(&state.db.pool).await? <= 1 {
            return Err(ApiError::Conflict(
                "Docket must keep at least one active admin.".into(),
            ));
        }
        let user = users::update(&state.db.pool, id, body.role, body.active)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        if body.active == Some(false) {
            refresh_tokens::revoke_user(&state.db.pool, id).await?;
        }
        tracing::info!(admin = %auth.0.id, user_id = %id, role = ?body.role, active = ?body.active, "user changed");
        Ok(Json(user.into()))
    }

    /// Active agents and admins, for assigning tickets (agents and admins only).
    #[oai(path = "/api/agents", method = "get")]
    async fn assignees(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<Json<AssigneeList>> {
        if !auth.0.role.is_staff() {
            return Err(ApiError::Forbidden(
                "Only agents and admins may list assignees.".into(),
            ));
        }
        let filter = users::ListFilter {
            roles: vec![Role::Agent, Role::Admin],
            active: Some(true),
            q: None,
        };
        let rows = users::list(&state.db, &filter, None, 1000).await?;
        let items = rows
            .into_iter()
            .map(|u| Assignee {
                id: u.id,
                name: u.name,
                email: u.email,
                role: u.role,
            })
            .collect();
        Ok(Json(AssigneeList { items }))
    }
}
