//! One-click unsubscribe (RFC 8058), outside the OpenAPI document: the link in each mail's
//! `List-Unsubscribe` header and footer.
//!
//! - `POST /api/notifications/unsubscribe?token=…` (what a mail client sends, with the body
//!   `List-Unsubscribe=One-Click`) switches that kind of mail off for that user: 200.
//! - `GET` on the same link answers a page with a button that POSTs, and changes nothing:
//!   link scanners and previews follow GETs, and must not unsubscribe anyone.
//!
//! The token is signed (see `domain::token`) and is the only credential; a bad one is a 404
//! problem. Mail about a user's own account has no such link and no such kind.

use docket_platform::{ApiError, ApiResult};
use poem::{
    Response, handler,
    http::{StatusCode, header},
    web::{Data, Query},
};
use serde::Deserialize;

use super::AppState;
use crate::{domain::message::escape, repo::preferences};

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

fn html(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header("Cache-Control", "no-store")
        .body(body)
}

fn verified(state: &AppState, q: &TokenQuery) -> ApiResult<(uuid::Uuid, crate::domain::Kind)> {
    q.token
        .as_deref()
        .and_then(|t| state.signer.verify_unsubscribe(t))
        .ok_or_else(|| ApiError::NotFound("This unsubscribe link is not valid.".into()))
}

#[handler]
async fn confirm_page(state: Data<&AppState>, Query(q): Query<TokenQuery>) -> ApiResult<Response> {
    let (_, kind) = verified(&state, &q)?;
    let token = escape(q.token.as_deref().unwrap_or_default());
    Ok(html(
        StatusCode::OK,
        format!(
            "<!doctype html><html><body><p>Stop these emails: {}?</p>\
             <form method=\"post\" action=\"?token={token}\">\
             <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\">Unsubscribe</button></form></body></html>",
            escape(kind.description())
        ),
    ))
}

#[handler]
async fn one_click(state: Data<&AppState>, Query(q): Query<TokenQuery>) -> ApiResult<Response> {
    let (user, kind) = verified(&state, &q)?;
    preferences::set(&state.db, &user.to_string(), kind, false).await?;
    tracing::info!(user_id = %user, kind = kind.as_str(), "unsubscribed by link");
    Ok(html(
        StatusCode::OK,
        format!(
            "<!doctype html><html><body><p>Done: you will no longer get {}. You can switch it \
             back on in your Docket profile.</p></body></html>",
            escape(&kind.description().to_lowercase())
        ),
    ))
}

/// The link's endpoint: GET shows the button, POST unsubscribes.
pub fn endpoint() -> poem::RouteMethod {
    poem::get(confirm_page).post(one_click)
}
