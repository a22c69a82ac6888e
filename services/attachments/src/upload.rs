//! Receiving an upload and storing it so that nothing is orphaned and nothing is lost.
//!
//! # The protocol
//!
//! 1. **Receive.** The body is bounded before a byte is read (see [`crate::api::upload_body`]:
//!    the whole body, each file, the preamble and part headers, the number of parts). Each
//!    `file` field streams into its own spool file under `UPLOAD_DIR/tmp`: bytes are counted
//!    (413 the moment a file passes `MAX_UPLOAD_BYTES`, without reading further), sniffed (415
//!    the moment the first bytes rule the file out), and never held whole in memory. Once a
//!    file is spooled, DOCX/XLSX/DOC/XLS are checked by their structure (the ZIP central
//!    directory, the OLE directory) on a blocking thread. A sixth file is a 422 before its
//!    bytes are read. Nothing has reached storage or the database yet, so any failure here
//!    (including the client going away mid-stream) only has spool files to remove — a guard
//!    removes them on every exit path.
//! 2. **Claim.** One transaction inserts a `pending` row per file, naming the server-made key
//!    it is about to write — unless the ticket's deletion has begun (its tombstone exists: 404).
//!    From here on, every object that might exist is named by a row.
//! 3. **Store.** Each spooled file goes to the storage backend under its key. If one fails
//!    (storage down: 503), the objects already written are deleted, then the pending rows.
//! 4. **Commit.** One transaction turns every row `ready`, all or none, and only rows still
//!    `pending` whose ticket has no tombstone; only `ready` rows are ever listed or downloaded.
//!    If it fails (database error after the objects were written: 500; the ticket deleted
//!    meanwhile: 404), the objects are deleted, then the rows.
//!
//! A pending row protects its key from the sweep while the upload is in flight and is never
//! listed. When a clean-up step itself fails (storage still down, database gone) or the
//! process dies between steps, what can be left is an object that no row names, or a stale
//! `pending` row; the sweep ([`crate::sweep`], run on a schedule by the service and by
//! `docket-attachments sweep`) removes both: stale `pending`/`deleting` rows lose their key's
//! object and then themselves, and objects no row names (older than the grace period) are
//! deleted, as are stale spool files.
//!
//! Deleting (one attachment, or all of a deleted ticket's) is [`crate::delete`]: the same
//! protocol in reverse, and the tombstone that makes a racing upload's commit refuse.
//!
//! Steps 1–4 run in a task of their own, so a client that disconnects cannot cancel them half
//! way: the task sees the body end early and cleans up.

use std::path::PathBuf;

use docket_platform::{
    ApiError, ApiResult,
    auth::CurrentUser,
    db::now_ms,
    middleware::{current_request_id, with_request_id},
};
use tokio::io::AsyncWriteExt as _;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::{
    api::{
        AppState,
        upload_body::{BodyStreamError, UploadBody, body_too_large, max_body_bytes},
    },
    domain::{FileKind, SafeFilename, Sniffer, framing::FramingError, sniff::SniffError},
    repo::attachments::{self as repo, AttachmentRow, Commit, State},
    storage,
};

/// Files accepted in one request.
pub const MAX_FILES: usize = 5;

/// One received, checked file waiting in the spool.
#[derive(Debug)]
struct Spooled {
    path: PathBuf,
    size: u64,
    kind: FileKind,
    filename: SafeFilename,
}

/// The spool files of one request; removed when this is dropped, whatever happened.
#[derive(Default)]
struct Spool {
    files: Vec<Spooled>,
    current: Option<PathBuf>,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let paths = self.files.iter().map(|f| &f.path).chain(&self.current);
        for path in paths {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                // Local storage moved it into place.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "removing a spool file failed")
                }
            }
        }
    }
}

fn unreadable(e: impl std::fmt::Display) -> ApiError {
    tracing::info!(error = %e, "multipart body ended or broke mid-stream");
    ApiError::BadRequest("The multipart body could not be read to its end.".into())
}

/// multer's errors as the client sees them; `file` is the file being read, if any.
fn body_error(e: multer::Error, file: Option<&SafeFilename>, max_upload: u64) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { limit } => body_too_large(limit),
        multer::Error::FieldSizeExceeded { .. } => too_large(file, max_upload),
        multer::Error::UnknownField { .. } => {
            ApiError::Unprocessable("Only `file` fields are accepted; nothing was stored.".into())
        }
        multer::Error::StreamReadFailed(cause) => match cause.downcast_ref::<BodyStreamError>() {
            Some(BodyStreamError::Framing(FramingError::TooManyParts)) => too_many_files(),
            Some(BodyStreamError::Framing(framing)) => {
                tracing::info!(error = %framing, "refused an upload body's framing");
                ApiError::BadRequest(format!(
                    "The multipart body is malformed: {framing}; nothing was stored."
                ))
            }
            _ => unreadable(cause),
        },
        other => unreadable(other),
    }
}

fn too_large(file: Option<&SafeFilename>, max: u64) -> ApiError {
    let name = file.map_or("A file", SafeFilename::as_str);
    ApiError::PayloadTooLarge(format!(
        "{name} is larger than {max} bytes; nothing was stored."
    ))
}

fn too_many_files() -> ApiError {
    ApiError::Unprocessable(format!(
        "At most {MAX_FILES} files per request; nothing was stored."
    ))
}

fn spool_failed(e: std::io::Error) -> ApiError {
    tracing::warn!(error = %e, "writing the upload spool failed");
    ApiError::ServiceUnavailable("Uploads cannot be received right now; nothing was stored.".into())
}

fn refused(e: SniffError) -> ApiError {
    ApiError::UnsupportedMediaType(format!("{e}; nothing was stored."))
}

/// Receives, stores and commits every file of one request (see the module doc). Returns the
/// rows now `ready`. The caller has checked that the user may read the ticket.
pub async fn upload(
    state: &AppState,
    user: &CurrentUser,
    ticket_id: Uuid,
    body: UploadBody,
) -> ApiResult<Vec<AttachmentRow>> {
    body.check_length(max_body_bytes(state.settings.max_upload_bytes))?;
    let state = state.clone();
    let uploaded_by = user.id.to_string();
    let request_id = current_request_id().unwrap_or_default();
    let work = async move {
        let spool = receive(&state, body).await?;
        store(&state, ticket_id, &uploaded_by, &spool).await
    };
    tokio::spawn(with_request_id(request_id, work.in_current_span()))
        .await
        .map_err(ApiError::internal)?
}

async fn receive(state: &AppState, body: UploadBody) -> ApiResult<Spool> {
    let max = state.settings.max_upload_bytes;
    let mut multipart = body.into_multipart(max);
    let mut spool = Spool::default();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| body_error(e, None, max))?
    {
        // Unknown fields are refused by multer's constraints; this is the last line.
        if field.name() != Some("file") {
            return Err(ApiError::Unprocessable(
                "Only `file` fields are accepted; nothing was stored.".into(),
            ));
        }
        if spool.files.len() == MAX_FILES {
            return Err(too_many_files());
        }
        let filename = SafeFilename::parse(field.file_name().unwrap_or("file"));
        let extension = filename.extension();
        let declared = field.content_type().map(|m| m.essence_str().to_owned());
        let mut sniffer = Sniffer::new(declared.as_deref(), extension.as_deref());
        let path = state.spool_dir().join(format!("{}.part", Uuid::new_v4()));
        spool.current = Some(path.clone());
        let mut file = tokio::fs::File::create(&path).await.map_err(spool_failed)?;
        let mut size: u64 = 0;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| body_error(e, Some(&filename), max))?
        {
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large(Some(&filename), max));
            }
            sniffer.feed(&chunk).map_err(refused)?;
            file.write_all(&chunk).await.map_err(spool_failed)?;
        }
        // Durable before it can become an object: a rename of unsynced data could leave an
        // empty file behind a `ready` row after a power loss.
        file.sync_data().await.map_err(spool_failed)?;
        drop(file);
        let kind = inspect(state, sniffer, path.clone()).await?;
        spool.current = None;
        spool.files.push(Spooled {
            path,
            size,
            kind,
            filename,
        });
    }
    if spool.files.is_empty() {
        return Err(ApiError::Unprocessable(
            "Send at least one file in a `file` field.".into(),
        ));
    }
    Ok(spool)
}

/// The sniffer's verdict on a spooled file; containers are read on a blocking thread, a few
/// at a time (their directories take memory in proportion to their entries).
async fn inspect(state: &AppState, sniffer: Sniffer, path: PathBuf) -> ApiResult<FileKind> {
    let _permit = state
        .inspections
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let verdict = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        Ok::<_, std::io::Error>(sniffer.finish(std::io::BufReader::new(file)))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(spool_failed)?;
    verdict.map_err(refused)
}

async fn store(
    state: &AppState,
    ticket_id: Uuid,
    uploaded_by: &str,
    spool: &Spool,
) -> ApiResult<Vec<AttachmentRow>> {
    let now = now_ms();
    let mut rows: Vec<AttachmentRow> = spool
        .files
        .iter()
        .map(|f| AttachmentRow {
            id: Uuid::now_v7(),
            ticket_id: ticket_id.to_string(),
            filename: f.filename.as_str().to_owned(),
            content_type: f.kind.mime().to_owned(),
            size: f.size as i64,
            uploaded_by: uploaded_by.to_owned(),
            storage_key: storage::new_key(f.kind.key_extension()),
            state: State::Pending.as_str().to_owned(),
            created_at: now,
            updated_at: now,
        })
        .collect();
    if !repo::insert_pending(&state.db.pool, &rows).await? {
        return Err(ticket_gone());
    }
    let mut written = Vec::new();
    for (row, file) in rows.iter().zip(&spool.files) {
        // Counted before the call: a put that fails part-way may still leave an object.
        written.push(row.storage_key.as_str());
        if let Err(e) = state
            .storage
            .put(&row.storage_key, &file.path, file.size, &row.content_type)
            .await
        {
            undo(state, &rows, &written).await;
            return Err(e.into());
        }
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    match repo::mark_ready(&state.db.pool, &ticket_id.to_string(), &ids).await {
        Ok(Commit::Done) => {}
        Ok(Commit::TicketDeleted) => {
            undo(state, &rows, &written).await;
            return Err(ticket_gone());
        }
        Ok(Commit::Lost) => {
            undo(state, &rows, &written).await;
            return Err(ApiError::internal(anyhow::anyhow!(
                "an upload's pending rows were swept before its commit"
            )));
        }
        Err(e) => {
            undo(state, &rows, &written).await;
            return Err(ApiError::internal(
                anyhow::Error::new(e).context("committing an upload"),
            ));
        }
    }
    for row in &mut rows {
        row.state = State::Ready.as_str().to_owned();
    }
    let bytes: u64 = spool.files.iter().map(|f| f.size).sum();
    state.uploads.bytes.inc_by(bytes);
    state.uploads.files.inc_by(rows.len() as u64);
    Ok(rows)
}

fn ticket_gone() -> ApiError {
    ApiError::NotFound(
        "ticket not found (it was deleted during the upload); nothing was stored".into(),
    )
}

/// Best-effort roll-back of a failed upload: the objects, then the rows. An object that cannot
/// be deleted now (storage still down) is named by no row afterwards, and the sweep removes it.
async fn undo(state: &AppState, rows: &[AttachmentRow], written: &[&str]) {
    for key in written {
        if let Err(e) = state.storage.delete(key).await {
            tracing::warn!(error = %e, key, "removing an object of a failed upload failed; the sweep will");
        }
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    if let Err(e) = repo::delete_rows(&state.db.pool, &ids).await {
        tracing::warn!(error = %e, "removing the rows of a failed upload failed; the sweep will");
    }
}
