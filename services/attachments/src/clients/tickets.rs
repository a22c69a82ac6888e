//! The tickets service: who may see a ticket, and its history.
//!
//! Ownership lives there only. Every attachment request asks
//! `GET /internal/tickets/{id}/access` with the caller's own token; a 404 (unknown ticket or
//! one the caller may not see) becomes a 404 here. Uploads and deletions are recorded with
//! `POST /internal/tickets/{id}/events`.

use std::time::Duration;

use docket_platform::{
    ApiError,
    client::{HttpMethod, ServiceClient},
};
use serde::Deserialize;
use uuid::Uuid;

/// The tickets service's answer about the caller and one ticket (its
/// `/internal/tickets/{id}/access`): may read it (always, in an answer [`TicketsClient::access`]
/// returns), may manage its attachments.
#[derive(Debug, Clone, Deserialize)]
pub struct TicketPermissions {
    pub ticket_id: String,
    pub requester_id: String,
    pub can_read: bool,
    /// Agent or admin: may delete anyone's attachment.
    pub can_manage: bool,
}

#[derive(Debug, Clone)]
pub struct TicketsClient {
    client: ServiceClient,
}

impl TicketsClient {
    pub fn new(base_url: &str) -> Self {
        Self {
            client: ServiceClient::new(
                "tickets",
                base_url,
                Duration::from_secs(2),
                Duration::from_secs(10),
            ),
        }
    }

    /// The caller's access to a ticket, or 404 when they may not read it.
    pub async fn access(
        &self,
        ticket_id: Uuid,
        token: &str,
    ) -> Result<TicketPermissions, ApiError> {
        let rb = self.client.request(
            HttpMethod::GET,
            &format!("/internal/tickets/{ticket_id}/access"),
            Some(token),
        );
        match self.client.json_or_none::<TicketPermissions>(rb).await? {
            Some(access) if access.can_read => Ok(access),
            _ => Err(ApiError::not_found("ticket")),
        }
    }

    /// Records an attachment event in the ticket's history.
    pub async fn record_event(
        &self,
        ticket_id: &str,
        token: &str,
        kind: &str,
        attachment_id: &str,
        filename: &str,
    ) -> Result<(), ApiError> {
        let rb = self
            .client
            .request(
                HttpMethod::POST,
                &format!("/internal/tickets/{ticket_id}/events"),
                Some(token),
            )
            .json(&serde_json::json!({
                "kind": kind,
                "data": {"attachment_id": attachment_id, "filename": filename},
            }));
        let resp = self.client.send(rb).await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.client.status_error(resp.status()))
        }
    }
}
