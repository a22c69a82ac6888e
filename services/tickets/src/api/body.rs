//! A JSON request body whose parse errors wait for the handler.
//!
//! poem-openapi rejects a bad body before the handler runs, which would tell a caller that a
//! ticket they may not see exists (400 instead of 404). [`JsonBody`] documents the same
//! schema as `Json<T>` but keeps the error until the handler asks for the value — after it
//! has decided the ticket is visible.

use docket_platform::{ApiError, ApiResult};
use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    payload::{Json, Payload as _},
    registry::{MetaMediaType, MetaRequest, Registry},
    types::ParseFromJSON,
};

pub struct JsonBody<T>(Result<T, ApiError>);

impl<T> JsonBody<T> {
    /// The parsed body, or the 400/415/422 its parsing earned.
    pub fn into_inner(self) -> ApiResult<T> {
        self.0
    }
}

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Json<T>>::CONTENT_TYPE,
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // Reading can fail only for transport reasons or the size limit: those stay immediate.
        let data = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        Ok(Self(parse(request.content_type(), &data)))
    }
}

fn parse<T: ParseFromJSON>(content_type: Option<&str>, data: &[u8]) -> ApiResult<T> {
    match content_type {
        Some(ct) if <Json<T>>::check_content_type(ct) => {}
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "The body must be JSON (Content-Type: application/json).".into(),
            ));
        }
    }
    let value: serde_json::Value = serde_json::from_slice(data)
        .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}")))?;
    T::parse_from_json(Some(value))
        .map_err(|e| ApiError::Unprocessable(format!("The body is invalid: {}", e.into_message())))
}
