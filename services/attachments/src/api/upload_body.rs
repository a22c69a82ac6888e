//! The upload's request body: poem's streaming `Multipart`, described to OpenAPI.
//!
//! poem-openapi's own multipart payloads spool every file before the handler runs, with no
//! size limit. This extractor hands the handler poem's streaming reader instead, and documents
//! the body (`multipart/form-data`, 1–5 binary `file` fields) so the generated document stays
//! true to what the handler reads.

use poem::{FromRequest, Request, RequestBody, web::Multipart};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef},
};

use crate::upload::MAX_FILES;

pub struct UploadBody(pub Multipart);

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
             XLSX by its own bytes; a declared type or extension that disagrees is refused.",
        ),
        ..MetaSchema::new("array")
    };
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        required: vec!["file"],
        properties: vec![("file", MetaSchemaRef::Inline(Box::new(files)))],
        ..MetaSchema::new("object")
    }))
}

impl<'a> ApiExtractor<'a> for UploadBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: Some("The files, streamed: nothing is kept unless every file passes."),
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
        <Multipart as FromRequest>::from_request(request, body)
            .await
            .map(UploadBody)
    }
}
