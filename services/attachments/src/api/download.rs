//! The download answer: a redirect to a presigned URL (S3) or the bytes streamed (local),
//! described to OpenAPI by hand because its body's type is the stored file's own: one of the
//! allowed types ([`FileKind::ALL`]), each listed as a media type of the 200.

use poem::{Body, IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse,
    registry::{
        MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
    },
};

use crate::domain::FileKind;

pub enum DownloadResponse {
    Redirect(String),
    File {
        body: Body,
        size: u64,
        content_type: String,
        disposition: String,
    },
}

fn header(name: &str, description: &str) -> MetaHeader {
    MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: true,
        deprecated: false,
        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
    }
}

impl ApiResponse for DownloadResponse {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "Local storage: the file, streamed, as the type its bytes were \
                                  found to be when it was uploaded (one of the allowed types).",
                    status: Some(200),
                    status_range: None,
                    content: FileKind::ALL
                        .into_iter()
                        .map(|kind| MetaMediaType {
                            content_type: kind.mime(),
                            schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format(
                                "string", "binary",
                            ))),
                        })
                        .collect(),
                    headers: vec![header(
                        "Content-Disposition",
                        "`attachment` with an ASCII `filename` and an RFC 6266 `filename*` keeping the full name.",
                    )],
                },
                MetaResponse {
                    description: "S3: a presigned URL (valid PRESIGN_EXPIRY_SECS, 3600 by default) whose response carries the same Content-Disposition.",
                    status: Some(302),
                    status_range: None,
                    content: vec![],
                    headers: vec![header("Location", "The presigned URL.")],
                },
            ],
        }
    }

    fn register(_registry: &mut Registry) {}
}

impl IntoResponse for DownloadResponse {
    fn into_response(self) -> Response {
        match self {
            DownloadResponse::Redirect(url) => Response::builder()
                .status(StatusCode::FOUND)
                .header("location", url)
                .header("cache-control", "no-store")
                .finish(),
            DownloadResponse::File {
                body,
                size,
                content_type,
                disposition,
            } => Response::builder()
                .status(StatusCode::OK)
                .content_type(content_type)
                .header("content-length", size)
                .header("content-disposition", disposition)
                .header("x-content-type-options", "nosniff")
                .header("content-security-policy", "default-src 'none'; sandbox")
                .header("cache-control", "private, no-store")
                .body(body),
        }
    }
}
