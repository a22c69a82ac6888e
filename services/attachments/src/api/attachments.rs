//! Attachments: upload (streamed), list, download, delete, and the policy uploads are
//! checked against.
//!
//! Who may read is the tickets service's decision: every request asks it about the caller
//! ([`TicketsClient::access`](crate::clients::TicketsClient::access)), and a ticket the caller
//! cannot read is a 404 for everything under it; whoever can read it may list, upload and
//! download. Who may delete is decided here, in [`check_delete`], from that same answer: the
//! uploader, agents and admins.
//!
//! Path ids are parsed as UUIDs at the edge (400 for anything else) and used only in their
//! canonical form, hyphenated and in lower case: however a client spells a ticket's id, its
//! attachments are stored, listed and deleted under the one id the tickets service uses.

use docket_platform::{
    ApiError, ApiResult,
    auth::{BearerAuth, CurrentUser},
    pagination::{self, Cursor, Deferred, Limit},
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{
    AppState, Attachment, download::DownloadResponse, policy::UploadPolicy, upload_body::UploadBody,
};
use crate::{
    clients::TicketPermissions,
    delete,
    domain::SafeFilename,
    repo::attachments::{self as repo, AttachmentRow},
    storage::Download,
    upload,
};

#[derive(Tags)]
enum Tag {
    /// Files attached to tickets
    Attachments,
}

docket_platform::page_type!(AttachmentPage, Attachment);

#[derive(ApiResponse)]
pub enum Uploaded {
    /// Every file was stored (the one answer that is a bare array).
    #[oai(status = 201)]
    Created(Json<Vec<Attachment>>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// The bytes and the row are gone.
    #[oai(status = 204)]
    NoContent,
}

/// Whether `user` may delete `row`, on a ticket they can read (`permissions`): its uploader,
/// or staff (`can_manage`); 403 otherwise.
fn check_delete(
    user: &CurrentUser,
    permissions: &TicketPermissions,
    row: &AttachmentRow,
) -> ApiResult<()> {
    if permissions.can_manage || row.uploaded_by == user.id.to_string() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only the uploader, agents and admins may delete an attachment.".into(),
        ))
    }
}

/// A ready attachment the caller may read, with their access to its ticket; 404 otherwise.
async fn visible(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> ApiResult<(AttachmentRow, TicketPermissions)> {
    let row = repo::find_ready(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let ticket_id =
        Uuid::parse_str(&row.ticket_id).map_err(|_| ApiError::not_found("attachment"))?;
    let access = state
        .tickets
        .access(ticket_id, &user.token)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::not_found("attachment"),
            other => other,
        })?;
    Ok((row, access))
}

async fn record(state: &AppState, user: &CurrentUser, rows: &[AttachmentRow], kind: &str) {
    let Some(first) = rows.first() else { return };
    let attachments: Vec<_> = rows
        .iter()
        .map(|row| (row.id.to_string(), row.filename.clone()))
        .collect();
    if let Err(e) = state
        .tickets
        .record_events(&first.ticket_id, &user.token, kind, &attachments)
        .await
    {
        // The files are stored and the answer says so; what is missing is their history.
        tracing::error!(error = %e, ticket_id = %first.ticket_id, count = rows.len(), kind,
            "recording attachment events failed after every attempt");
    }
}

pub struct AttachmentsApi;

#[OpenApi(tag = "Tag::Attachments")]
impl AttachmentsApi {
    /// Upload up to five files to a ticket (anyone who can read it).
    ///
    /// Streamed: a file over the size limit is refused (413) as soon as it crosses it, and a
    /// file whose bytes are not an allowed type, or disagree with its declared type or
    /// extension, is refused (415). All or nothing: on any error no file is kept. More than
    /// five files is a 422.
    #[oai(path = "/api/tickets/:id/attachments", method = "post")]
    async fn upload(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: UploadBody,
    ) -> ApiResult<Uploaded> {
        let user = &auth.0;
        state.tickets.access(id.0, &user.token).await?;
        let rows = upload::upload(&state, user, id.0, body).await?;
        // The upload succeeded: its files go into the ticket's history in one call.
        record(&state, user, &rows, "attachment_added").await;
        Ok(Uploaded::Created(Json(
            rows.into_iter().map(Into::into).collect(),
        )))
    }

    /// What uploads accept: size per file, files per request, types (anyone signed in).
    ///
    /// The limits the upload itself enforces, read from the same settings and type table, so
    /// a client can say them and check a file before sending it. The upload's own check still
    /// decides, by the file's bytes.
    #[oai(path = "/api/attachments/policy", method = "get")]
    async fn policy(
        &self,
        state: Data<&AppState>,
        _auth: BearerAuth,
    ) -> ApiResult<Json<UploadPolicy>> {
        Ok(Json(UploadPolicy::from_settings(&state.settings)))
    }

    /// List a ticket's attachments, oldest first (anyone who can read it).
    #[oai(path = "/api/tickets/:id/attachments", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// 1–100, default 20.
        limit: Query<Option<Deferred<Limit>>>,
        /// From the previous page's `next_cursor`.
        cursor: Query<Option<Deferred<Cursor>>>,
    ) -> ApiResult<Json<AttachmentPage>> {
        state.tickets.access(id.0, &auth.0.token).await?;
        let limit = Limit::or_default(Deferred::get(limit.0, "limit")?);
        let after = Deferred::get(cursor.0, "cursor")?;
        let rows =
            repo::list_ready(&state.db.pool, &id.0.to_string(), limit, after.as_ref()).await?;
        let (rows, next_cursor) = pagination::page(rows, limit, |r| Cursor {
            at: r.created_at,
            id: r.id.to_string(),
        });
        Ok(Json(AttachmentPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Download an attachment (anyone who can read its ticket).
    ///
    /// S3: 302 to a presigned URL. Local storage: the bytes. Either way the file comes as
    /// `Content-Disposition: attachment` with its safe filename.
    #[oai(path = "/api/attachments/:id/download", method = "get")]
    async fn download(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<DownloadResponse> {
        // Readable: `visible` asked the tickets service.
        let (row, _) = visible(&state, &auth.0, id.0).await?;
        let filename = SafeFilename::parse(&row.filename);
        Ok(
            match state
                .storage
                .download(&row.storage_key, &filename, &row.content_type)
                .await?
            {
                Download::Redirect(url) => DownloadResponse::Redirect(url),
                Download::Stream { body, size } => DownloadResponse::File {
                    body,
                    size,
                    content_type: row.content_type.clone(),
                    disposition: filename.content_disposition(),
                },
            },
        )
    }

    /// Delete an attachment: its bytes and its row (the uploader, agents, admins).
    #[oai(path = "/api/attachments/:id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Deleted> {
        let (row, permissions) = visible(&state, &auth.0, id.0).await?;
        check_delete(&auth.0, &permissions, &row)?;
        delete::one(&state, &row).await?;
        record(
            &state,
            &auth.0,
            std::slice::from_ref(&row),
            "attachment_removed",
        )
        .await;
        Ok(Deleted::NoContent)
    }
}
