//! Calls to the other services, all on `/internal/service/*`-style routes that take the
//! shared service token: the tickets service's event feed and the auth service's user
//! look-ups.

use std::{collections::HashMap, time::Duration};

use docket_platform::{
    ApiError,
    auth::{Role, SERVICE_TOKEN_HEADER},
    client::{HttpMethod, ServiceClient},
    config::Secret,
};
use serde::Deserialize;
use uuid::Uuid;

/// One entry of the tickets service's `GET /internal/events`.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedItem {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub actor_id: Uuid,
    pub kind: String,
    pub data: serde_json::Value,
    pub internal: bool,
    pub created_at: i64,
    pub subject: String,
    pub status: String,
    pub requester_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub comment_body: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    pub next_cursor: Option<String>,
}

/// A user as the auth service describes them.
#[derive(Debug, Clone, Deserialize)]
pub struct UserInfo {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
}

#[derive(Debug, Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

#[derive(Debug, Clone)]
pub struct Clients {
    tickets: ServiceClient,
    auth: ServiceClient,
    token: Secret<String>,
}

impl Clients {
    pub fn new(tickets_url: &str, auth_url: &str, token: Secret<String>) -> Self {
        let client = |name, url| {
            ServiceClient::new(name, url, Duration::from_secs(2), Duration::from_secs(15))
        };
        Self {
            tickets: client("tickets", tickets_url),
            auth: client("auth", auth_url),
            token,
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        client: &ServiceClient,
        rb: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let resp = client
            .send(rb.header(SERVICE_TOKEN_HEADER, self.token.expose()))
            .await?;
        if !resp.status().is_success() {
            return Err(client.status_error(resp.status()));
        }
        resp.json().await.map_err(|e| client.transport_error(&e))
    }

    /// A page of every ticket's events after `after`.
    pub async fn feed(&self, after: Option<&str>, limit: u32) -> Result<FeedPage, ApiError> {
        let mut path = format!("/internal/events?limit={limit}");
        if let Some(a) = after {
            path.push_str(&format!("&after={a}"));
        }
        let rb = self.tickets.request(HttpMethod::GET, &path, None);
        self.get_json(&self.tickets, rb).await
    }

    /// The users with these ids, keyed by id (unknown ids are absent).
    pub async fn users(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, UserInfo>, ApiError> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let rb = self
                .auth
                .request(HttpMethod::POST, "/internal/service/users/lookup", None)
                .json(&serde_json::json!({ "ids": chunk }));
            let page: Items<UserInfo> = self.get_json(&self.auth, rb).await?;
            out.extend(page.items.into_iter().map(|u| (u.id, u)));
        }
        Ok(out)
    }

    /// Every active agent and admin.
    pub async fn staff(&self) -> Result<Vec<UserInfo>, ApiError> {
        let rb = self
            .auth
            .request(HttpMethod::GET, "/internal/service/staff", None);
        let page: Items<UserInfo> = self.get_json(&self.auth, rb).await?;
        Ok(page.items)
    }
}
