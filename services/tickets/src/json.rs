//! [`SerdeJson`]: a JSON response body written by serde in one pass.
//!
//! poem-openapi's `Json<T>` first turns the body into a `serde_json::Value` tree (a map with
//! owned keys for every object) and then writes that tree. For a page of tickets that was a
//! fifth of the tickets service's CPU, measured at a million tickets.
//! `SerdeJson<T>` declares the same content type and schema (so the OpenAPI document does not
//! change) and writes `T` with its `Serialize` impl. That must produce what `T`'s `ToJSON`
//! would; a test compares the two for each body type
//! (`ticket_and_comment_pages_serialize_as_their_openapi_objects_do`).

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse,
    payload::{Json, Payload},
    registry::{MetaResponses, MetaSchemaRef, Registry},
    types::ToJSON,
};
use serde::Serialize;

/// An `application/json` body, serialized straight from `T` (see the module): a `200`
/// response when a handler returns it, or the payload of an `ApiResponse` variant of any
/// status (`201 Created`). Its content type, schema and response metadata are `Json<T>`'s own.
#[derive(Debug, Clone)]
pub struct SerdeJson<T>(pub T);

impl<T: ToJSON> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        <Json<T> as Payload>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as Payload>::register(registry);
    }
}

impl<T: ToJSON + Serialize> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder()
                .content_type(<Self as Payload>::CONTENT_TYPE)
                .body(body),
            Err(err) => {
                tracing::error!(error = %err, "a response body could not be serialized");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

impl<T: ToJSON + Serialize> ApiResponse for SerdeJson<T> {
    fn meta() -> MetaResponses {
        <Json<T> as ApiResponse>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as ApiResponse>::register(registry);
    }
}

/// Serializes a timestamp as poem-openapi's `ToJSON` does (`to_rfc3339`: `+00:00`, not `Z`),
/// for `#[serde(serialize_with = "…")]` on fields that a [`SerdeJson`] body carries.
pub fn rfc3339<S: serde::Serializer>(
    at: &chrono::DateTime<chrono::Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339())
}
