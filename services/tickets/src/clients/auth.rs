//! The auth service: who a user is, for assignee checks.

use docket_platform::{ApiResult, auth::Role, client::ServiceClient};
use reqwest::Method;
use serde::Deserialize;
use uuid::Uuid;

/// The fields of the auth service's user that matter here.
#[derive(Debug, Clone, Deserialize)]
pub struct UserInfo {
    pub id: Uuid,
    pub role: Role,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct AuthClient(pub ServiceClient);

impl AuthClient {
    /// `GET /internal/users/{id}`; `None` when there is no such user.
    pub async fn user(&self, id: Uuid, token: &str) -> ApiResult<Option<UserInfo>> {
        let rb = self
            .0
            .request(Method::GET, &format!("/internal/users/{id}"), Some(token));
        self.0.json_or_none(rb).await
    }
}
