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

/// How many times an upload's or a delete's history events are sent before giving up.
pub const RECORD_ATTEMPTS: u32 = 3;
/// The wait before the second attempt; the third waits twice as long.
const RECORD_BACKOFF: Duration = Duration::from_millis(200);

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

    /// Records one attachment event per `(attachment id, filename)` in the ticket's history,
    /// in one call (all or none), as the caller. A call that fails for a reason that may pass
    /// (the tickets service unreachable, slow or answering 5xx) is tried again, up to
    /// [`RECORD_ATTEMPTS`] times in all; a refusal (4xx) is not.
    pub async fn record_events(
        &self,
        ticket_id: &str,
        token: &str,
        kind: &str,
        attachments: &[(String, String)],
    ) -> Result<(), ApiError> {
        let events: Vec<_> = attachments
            .iter()
            .map(|(id, filename)| {
                serde_json::json!({
                    "kind": kind,
                    "data": {"attachment_id": id, "filename": filename},
                })
            })
            .collect();
        let body = serde_json::json!({ "events": events });
        let mut attempt = 1;
        loop {
            let rb = self
                .client
                .request(
                    HttpMethod::POST,
                    &format!("/internal/tickets/{ticket_id}/events"),
                    Some(token),
                )
                .json(&body);
            let error = match self.client.send(rb).await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) if resp.status().is_client_error() => {
                    return Err(self.client.status_error(resp.status()));
                }
                Ok(resp) => self.client.status_error(resp.status()),
                Err(e) => e,
            };
            if attempt >= RECORD_ATTEMPTS {
                return Err(error);
            }
            tracing::warn!(error = %error, attempt, "recording attachment events failed; trying again");
            tokio::time::sleep(RECORD_BACKOFF * attempt).await;
            attempt += 1;
        }
    }
}
