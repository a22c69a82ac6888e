//! The attachments service: removing every file of a ticket before the ticket goes.

use docket_platform::{ApiResult, client::ServiceClient};
use reqwest::{Method, StatusCode};

#[derive(Debug, Clone)]
pub struct AttachmentsClient(pub ServiceClient);

impl AttachmentsClient {
    /// `DELETE /internal/tickets/{id}/attachments`. 204 and 404 both mean nothing is left;
    /// anything else (unreachable, timeout, 5xx) is an error, so the ticket stays.
    pub async fn delete_for_ticket(&self, ticket_id: uuid::Uuid, token: &str) -> ApiResult<()> {
        let rb = self.0.request(
            Method::DELETE,
            &format!("/internal/tickets/{ticket_id}/attachments"),
            Some(token),
        );
        let resp = self.0.send(rb).await?;
        match resp.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            other => Err(self.0.status_error(other)),
        }
    }
}
