//! The HTTP API: the attachments resource, the upload policy, the streaming upload body, the
//! internal endpoint for the tickets service, and the objects they exchange.

pub mod attachments;
pub mod download;
pub mod internal;
pub mod policy;
pub mod upload_body;

use std::{path::PathBuf, sync::Arc};

use chrono::{DateTime, Utc};
use docket_platform::{
    db::{Db, from_ms},
    metrics::{IntCounter, Metrics},
};
use poem_openapi::Object;
use uuid::Uuid;

use crate::{Settings, clients::TicketsClient, repo::attachments::AttachmentRow, storage::Storage};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub storage: Arc<dyn Storage>,
    pub tickets: TicketsClient,
    pub settings: Arc<Settings>,
    /// Structure checks of spooled DOCX/XLSX/DOC/XLS files running at once: reading a
    /// container's directory takes memory in proportion to its entries.
    pub inspections: Arc<tokio::sync::Semaphore>,
    /// `GET /metrics`: the requests, the database pools and [`UploadMetrics`].
    pub metrics: Metrics,
    pub uploads: UploadMetrics,
}

/// What stored uploads add up to, on `/metrics`.
#[derive(Clone)]
pub struct UploadMetrics {
    /// `docket_upload_bytes_total`: bytes of files stored (committed uploads only).
    pub bytes: IntCounter,
    /// `docket_upload_files_total`: files stored.
    pub files: IntCounter,
}

impl UploadMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            bytes: metrics.counter("upload_bytes_total", "Bytes of attachment files stored"),
            files: metrics.counter("upload_files_total", "Attachment files stored"),
        }
    }
}

impl AppState {
    /// Where incoming files are counted and sniffed before they reach storage.
    pub fn spool_dir(&self) -> PathBuf {
        self.settings.upload_dir.join("tmp")
    }
}

/// A file attached to a ticket.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub id: Uuid,
    /// The ticket's id, hyphenated and in lower case.
    pub ticket_id: String,
    /// The uploader's filename made safe: no path, no control characters, at most 255 bytes.
    pub filename: String,
    /// Decided from the file's own bytes.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<AttachmentRow> for Attachment {
    fn from(r: AttachmentRow) -> Self {
        Self {
            id: r.id,
            ticket_id: r.ticket_id,
            filename: r.filename,
            content_type: r.content_type,
            size: r.size,
            uploaded_by: r.uploaded_by,
            created_at: from_ms(r.created_at),
        }
    }
}

/// The OpenAPI service of this service's public API.
pub fn openapi() -> poem_openapi::OpenApiService<attachments::AttachmentsApi, ()> {
    poem_openapi::OpenApiService::new(
        attachments::AttachmentsApi,
        "Docket attachments",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Files attached to tickets, on local disk or S3. Paths are the public paths through \
         the gateway.",
    )
}
