//! The HTTP API: preferences (everyone signed in), sent mail (staff, per ticket), dead letters
//! and retries (admins), and the one-click unsubscribe link from each mail (no sign-in: the
//! link's signed token is the credential).

pub mod notifications;
pub mod unsubscribe;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use docket_platform::db::{Db, from_ms};
use poem_openapi::Object;
use uuid::Uuid;

use crate::{Settings, clients::Clients, domain::token::Signer, repo::outbox::MailRow};

/// What handlers and the background tasks share.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clients: Clients,
    pub signer: Signer,
    pub settings: Arc<Settings>,
    /// Woken when the follower writes new mail, so the worker need not wait for its next poll.
    pub new_mail: Arc<tokio::sync::Notify>,
}

/// A mail in the outbox, as staff see it (never its body: the ticket shows that).
#[derive(Debug, Clone, Object)]
pub struct Notification {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// The ticket event it is about.
    pub event_id: Uuid,
    pub recipient_id: Uuid,
    pub recipient_email: String,
    /// `ticket_confirmation`, `new_ticket`, `reply`, `unassigned_reply`, `assigned`,
    /// `resolved`.
    pub kind: String,
    pub subject: String,
    /// `pending` (waiting or between retries), `sent`, `failed` (dead-lettered).
    pub state: String,
    pub attempts: i64,
    /// Why the last attempt failed.
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    #[oai(nullable)]
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<MailRow> for Notification {
    fn from(r: MailRow) -> Self {
        Self {
            id: Uuid::parse_str(&r.id).unwrap_or_default(),
            ticket_id: Uuid::parse_str(&r.ticket_id).unwrap_or_default(),
            event_id: Uuid::parse_str(&r.event_id).unwrap_or_default(),
            recipient_id: Uuid::parse_str(&r.recipient_id).unwrap_or_default(),
            recipient_email: r.recipient_email,
            kind: r.kind,
            subject: r.subject,
            state: r.state,
            attempts: r.attempts,
            last_error: r.last_error,
            message_id: r.message_id,
            created_at: from_ms(r.created_at),
            sent_at: r.sent_at.map(from_ms),
        }
    }
}

type Apis = notifications::NotificationsApi;

/// This service's public API document.
pub fn openapi() -> poem_openapi::OpenApiService<Apis, ()> {
    poem_openapi::OpenApiService::new(
        notifications::NotificationsApi,
        "Docket notifications",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Email notifications: each user's preferences, the mail sent about a ticket, and \
         dead letters. Paths are the public paths through the gateway.",
    )
}
