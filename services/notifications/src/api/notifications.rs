//! Preferences, sent mail and dead letters. Who may see what is decided in [`require_staff`]
//! and [`require_admin`]: preferences are the caller's own; a ticket's mail is for agents
//! and admins (a requester's own mail is in their inbox); dead letters are for admins.

use docket_platform::{
    ApiError, ApiResult,
    auth::{BearerAuth, CurrentUser, Role},
    body::JsonBody,
    pagination::{self, Cursor, Deferred, Limit},
};
use poem::web::Data;
use poem_openapi::{
    Enum, Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{AppState, Notification};
use crate::{
    domain::Kind,
    repo::{outbox, preferences},
};

#[derive(Tags)]
enum Tag {
    /// Email notifications
    Notifications,
}

fn require_staff(user: &CurrentUser) -> ApiResult<()> {
    if user.role.is_staff() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only agents and admins see the mail sent about a ticket.".into(),
        ))
    }
}

fn require_admin(user: &CurrentUser) -> ApiResult<()> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only admins manage notifications.".into(),
        ))
    }
}

/// One kind of mail and whether the caller gets it.
#[derive(Debug, Clone, Object)]
pub struct Preference {
    pub kind: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Object)]
pub struct Preferences {
    /// The kinds that apply to the caller's role.
    pub items: Vec<Preference>,
}

/// `{"enabled": false}` switches a kind off.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct PreferenceChange {
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum MailState {
    Pending,
    Sent,
    Failed,
}

impl MailState {
    fn as_str(self) -> &'static str {
        match self {
            MailState::Pending => "pending",
            MailState::Sent => "sent",
            MailState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Object)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

fn kinds_for(role: Role) -> impl Iterator<Item = Kind> {
    Kind::ALL
        .into_iter()
        .filter(move |k| role.is_staff() || !k.staff_only())
}

async fn preferences_of(state: &AppState, user: &CurrentUser) -> ApiResult<Preferences> {
    let stored = preferences::for_user(&state.db, &user.id.to_string()).await?;
    Ok(Preferences {
        items: kinds_for(user.role)
            .map(|k| Preference {
                kind: k.as_str().to_owned(),
                description: k.description().to_owned(),
                enabled: stored.get(&k).copied().unwrap_or(k.on_by_default()),
            })
            .collect(),
    })
}

async fn page(
    state: &AppState,
    filter: outbox::ListFilter,
    limit: Option<Deferred<Limit>>,
    cursor: Option<Deferred<Cursor>>,
) -> ApiResult<NotificationPage> {
    let limit = Limit::or_default(Deferred::get(limit, "limit")?);
    let after = Deferred::get(cursor, "cursor")?;
    let rows = outbox::list(&state.db, &filter, after.as_ref(), limit).await?;
    let (rows, next_cursor) = pagination::page(rows, limit, |r| Cursor {
        at: r.created_at,
        id: r.id.clone(),
    });
    Ok(NotificationPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

pub struct NotificationsApi;

#[OpenApi(tag = "Tag::Notifications")]
impl NotificationsApi {
    /// The caller's notification preferences, one per kind of mail their role gets.
    #[oai(path = "/api/notifications/preferences", method = "get")]
    async fn preferences(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<Json<Preferences>> {
        Ok(Json(preferences_of(&state, &auth.0).await?))
    }

    /// Switch one kind of mail on or off for the caller.
    ///
    /// 404 for a kind that does not exist or does not apply to the caller's role.
    #[oai(path = "/api/notifications/preferences/:kind", method = "put")]
    async fn set_preference(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        kind: Path<String>,
        body: JsonBody<PreferenceChange>,
    ) -> ApiResult<Json<Preferences>> {
        let kind = Kind::parse(&kind.0)
            .filter(|k| kinds_for(auth.0.role).any(|x| x == *k))
            .ok_or_else(|| ApiError::not_found("notification kind"))?;
        let body = body.into_inner()?;
        preferences::set(&state.db, &auth.0.id.to_string(), kind, body.enabled).await?;
        Ok(Json(preferences_of(&state, &auth.0).await?))
    }

    /// The mail sent (or waiting) about one ticket, oldest first (agents and admins).
    #[oai(path = "/api/notifications/tickets/:id", method = "get")]
    async fn for_ticket(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// 1–100, default 20.
        limit: Query<Option<Deferred<Limit>>>,
        /// From the previous page's `next_cursor`.
        cursor: Query<Option<Deferred<Cursor>>>,
    ) -> ApiResult<Json<NotificationPage>> {
        require_staff(&auth.0)?;
        let filter = outbox::ListFilter {
            state: None,
            ticket_id: Some(id.0.to_string()),
        };
        Ok(Json(page(&state, filter, limit.0, cursor.0).await?))
    }

    /// Every mail in the outbox, oldest first, by state (admins): `failed` lists the dead
    /// letters.
    #[oai(path = "/api/admin/notifications", method = "get")]
    async fn admin_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// `pending`, `sent` or `failed`; all when left out.
        #[oai(name = "state")]
        mail_state: Query<Option<MailState>>,
        /// 1–100, default 20.
        limit: Query<Option<Deferred<Limit>>>,
        /// From the previous page's `next_cursor`.
        cursor: Query<Option<Deferred<Cursor>>>,
    ) -> ApiResult<Json<NotificationPage>> {
        require_admin(&auth.0)?;
        let filter = outbox::ListFilter {
            state: mail_state.0.map(|s| s.as_str().to_owned()),
            ticket_id: None,
        };
        Ok(Json(page(&state, filter, limit.0, cursor.0).await?))
    }

    /// Send a dead-lettered mail again (admins): back to `pending`, due now, attempts reset.
    ///
    /// A mail that is not `failed` is answered as it is.
    #[oai(path = "/api/admin/notifications/:id/retry", method = "post")]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<Notification>> {
        require_admin(&auth.0)?;
        let row = outbox::retry(&state.db, &id.0.to_string())
            .await?
            .ok_or_else(|| ApiError::not_found("notification"))?;
        tracing::info!(notification_id = %id.0, "dead letter queued again");
        state.new_mail.notify_one();
        Ok(Json(row.into()))
    }
}
