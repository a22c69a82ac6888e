//! The upload's request body: a bounded multipart stream, described to OpenAPI.
//!
//! poem-openapi's own multipart payloads spool every file before the handler runs, with no
//! size limit, and poem's `Multipart` hands multer the body with none of multer's limits. This
//! extractor only takes the body and its boundary; [`UploadBody::into_multipart`] gives the
//! handler multer's streaming parser with every limit in place:
//!
//! - the whole body: at most `MAX_FILES × MAX_UPLOAD_BYTES` plus [`framing_allowance`]
//!   (413, from `Content-Length` before any byte is read when one is given, and while streaming
//!   for chunked bodies) — multer's `SizeLimit::whole_stream`;
//! - each file: `MAX_UPLOAD_BYTES`, inclusive (413) — multer's `SizeLimit::per_field`;
//! - only `file` fields (422) — multer's `allowed_fields`;
//! - where multer has no knob, [`Framing`] on the raw bytes: the first boundary within a few
//!   KiB and part headers within a few KiB (400), at most `MAX_FILES` parts (422).
//!
//! The stream also hands multer one chunk per poll, so multer's buffer never holds more than
//! the chunk it is working on plus what it has not matched yet (which [`Framing`] bounds).
//! The document states the body (`multipart/form-data`, 1–5 binary `file` fields) so the
//! generated document stays true to what the handler reads.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use docket_platform::ApiError;
use futures_util::{Stream, stream::BoxStream};
use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef},
};

use crate::{
    domain::framing::{Framing, FramingError, framing_allowance},
    upload::MAX_FILES,
};

/// The largest upload body accepted, framing included.
pub fn max_body_bytes(max_upload_bytes: u64) -> u64 {
    (MAX_FILES as u64)
        .saturating_mul(max_upload_bytes)
        .saturating_add(framing_allowance(MAX_FILES))
}

pub struct UploadBody {
    body: poem::Body,
    boundary: String,
    content_length: Option<u64>,
}

/// Why the body stream stopped, as multer passes it back (boxed in `StreamReadFailed`).
#[derive(Debug, thiserror::Error)]
pub enum BodyStreamError {
    #[error(transparent)]
    Framing(#[from] FramingError),
    #[error("reading the body failed: {0}")]
    Read(#[from] std::io::Error),
}

impl UploadBody {
    /// 413 when the declared length is already over the limit: nothing need be read.
    pub fn check_length(&self, max_body: u64) -> Result<(), ApiError> {
        match self.content_length {
            Some(len) if len > max_body => Err(body_too_large(max_body)),
            _ => Ok(()),
        }
    }

    /// multer's parser over the body, with the limits of the module doc.
    pub fn into_multipart(self, max_upload_bytes: u64) -> multer::Multipart<'static> {
        let constraints = multer::Constraints::new()
            .allowed_fields(vec!["file"])
            .size_limit(
                multer::SizeLimit::new()
                    .whole_stream(max_body_bytes(max_upload_bytes))
                    .per_field(max_upload_bytes),
            );
        let stream = Guarded {
            inner: Box::pin(self.body.into_bytes_stream()),
            framing: Framing::new(&self.boundary, MAX_FILES),
            just_yielded: false,
        };
        multer::Multipart::with_constraints(stream, self.boundary, constraints)
    }
}

pub fn body_too_large(max_body: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "The request body is larger than {max_body} bytes (at most {MAX_FILES} files of \
         MAX_UPLOAD_BYTES each, and their multipart framing); nothing was stored."
    ))
}

/// The body, checked by [`Framing`] and handed on one chunk per poll.
struct Guarded {
    inner: BoxStream<'static, Result<Bytes, std::io::Error>>,
    framing: Framing,
    just_yielded: bool,
}

impl Stream for Guarded {
    type Item = Result<Bytes, BodyStreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // multer pulls chunks until the body says "not yet", buffering all it gets: say it
        // after every chunk (and ask to be polled again at once) so it works on one at a time.
        if self.just_yielded {
            self.just_yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Err(e) = self.framing.feed(&chunk) {
                    return Poll::Ready(Some(Err(e.into())));
                }
                self.just_yielded = true;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn schema() -> MetaSchemaRef {
    let file = MetaSchema {
        description: Some("A file's bytes; its type is decided from its content."),
        ..MetaSchema::new_with_format("string", "binary")
    };
    let files = MetaSchema {
        items: Some(Box::new(MetaSchemaRef::Inline(Box::new(file)))),
        min_items: Some(1),
        max_items: Some(MAX_FILES),
        description: Some(
            "One to five files (repeat the `file` field). Each is at most MAX_UPLOAD_BYTES \
             (10 MiB by default, inclusive) and must be JPEG, PNG, GIF, PDF, DOC, DOCX, XLS or \
             XLSX by its own bytes, with a filename whose extension matches; a declared type or \
             extension that disagrees is refused.",
        ),
        ..MetaSchema::new("array")
    };
    // Only `file` fields (multer's `allowed_fields`): one property, and no room for another.
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        required: vec!["file"],
        properties: vec![("file", MetaSchemaRef::Inline(Box::new(files)))],
        max_properties: Some(1),
        ..MetaSchema::new("object")
    }))
}

impl<'a> ApiExtractor<'a> for UploadBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: Some(
                "The files, streamed: nothing is kept unless every file passes. The whole body \
                 is at most five times MAX_UPLOAD_BYTES plus a small allowance for the multipart \
                 framing (413 beyond); the first boundary must come within the first 4 KiB and \
                 each part's headers within 8 KiB (400 otherwise).",
            ),
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: schema(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::UnsupportedMediaType("Send the files as multipart/form-data.".to_owned())
            })?;
        let is_form_data = content_type
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"));
        if !is_form_data {
            return Err(ApiError::UnsupportedMediaType(
                "Send the files as multipart/form-data.".to_owned(),
            )
            .into());
        }
        let boundary = multer::parse_boundary(content_type).map_err(|_| {
            ApiError::BadRequest("The multipart/form-data type has no boundary.".to_owned())
        })?;
        let content_length = request
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        Ok(UploadBody {
            body: body.take()?,
            boundary,
            content_length,
        })
    }
}
