//! The request pipeline every service shares.
//!
//! [`RequestContext`] is the outermost layer: it takes `X-Request-Id` from the request (or
//! makes one), runs the request inside a span carrying method, route, status and latency,
//! turns every error — the handler's [`ApiError`] or poem's own (bad JSON, unknown route,
//! wrong method, missing token) — into a problem+json body stamped with the request id, and
//! puts the id on the response. The id is also kept in a task-local so that
//! [`crate::client::ServiceClient`] forwards it without threading it through every call.
//!
//! [`BodyLimit`] caps request bodies for JSON services. poem has no default limit and its
//! `SizeLimit` refuses chunked bodies; this one answers 413 from `Content-Length` when it can
//! and otherwise reads at most the limit.

use std::time::Instant;

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, StatusCode},
};
use tracing::Instrument as _;

use crate::problem::{ApiError, Problem};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request this task is serving, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` as part of request `id` (for background work started by a request).
pub async fn with_request_id<F: std::future::Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// An incoming id is kept only when it is short and made of safe characters.
fn accept_request_id(value: Option<&HeaderValue>) -> Option<String> {
    let v = value?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| v.to_owned())
}

/// A route template for logs: path segments that look like ids become `{id}`.
pub fn route_template(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let is_id = seg.len() >= 8
                && (uuid::Uuid::parse_str(seg).is_ok() || seg.bytes().all(|b| b.is_ascii_digit()));
            if is_id { "{id}" } else { seg }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Turns any poem error into the problem a client sees.
pub fn problem_from_error(err: &poem::Error) -> Problem {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.to_problem();
    }
    if let Some(p) = err.downcast_ref::<ProblemError>() {
        return p.0.clone();
    }
    let status = err.status();
    let detail = if err.is::<poem::error::NotFoundError>() {
        "No such route.".to_owned()
    } else if err.is::<poem::error::MethodNotAllowedError>() {
        "This method is not allowed on this route.".to_owned()
    } else if err.is::<poem_openapi::error::AuthorizationError>() {
        "A valid access token is required (Authorization: Bearer <token>).".to_owned()
    } else if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseRequestPayloadError>() {
        format!("The request body could not be read: {}", e.reason)
    } else if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        format!("Parameter `{}` is invalid: {}", e.name, e.reason)
    } else if let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        format!("Path parameter `{}` is invalid: {}", e.name, e.reason)
    } else if let Some(e) = err.downcast_ref::<poem_openapi::error::ContentTypeError>() {
        e.to_string()
    } else if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseMultipartError>() {
        format!("The multipart body could not be read: {}", e.reason)
    } else if status.is_server_error() {
        tracing::error!(error = %err, "unhandled error");
        "Something went wrong on our side.".to_owned()
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        "The request body is too large.".to_owned()
    } else {
        // Other framework errors describe the request, never our internals.
        err.to_string()
    };
    Problem::for_status(status, detail)
}

/// The problem response for an error, stamped with the current request id.
pub fn problem_response(err: &poem::Error) -> Response {
    let mut problem = problem_from_error(err);
    problem.request_id = current_request_id().unwrap_or_default();
    problem.into_response()
}

/// A ready-made problem carried through poem's error path.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.detail)]
pub struct ProblemError(pub Problem);

impl poem::error::ResponseError for ProblemError {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
    fn as_response(&self) -> Response {
        self.0.clone().into_response()
    }
}

/// Request id, span, and problem+json for every error. See the module doc.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext;

impl<E: Endpoint> Middleware<E> for RequestContext {
    type Output = RequestContextEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        RequestContextEndpoint { inner: ep }
    }
}

pub struct RequestContextEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RequestContextEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let request_id = accept_request_id(req.headers().get(REQUEST_ID_HEADER))
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            route = %route_template(req.uri().path()),
            request_id = %request_id,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let id = request_id.clone();
        let mut resp = REQUEST_ID
            .scope(id.clone(), async move {
                match self.inner.call(req).await {
                    Ok(resp) => resp.into_response(),
                    Err(err) => {
                        let mut problem = problem_from_error(&err);
                        problem.request_id = id;
                        let mut resp = problem.into_response();
                        // Keep headers the error asked for (Retry-After, Allow, …).
                        let err_resp = err.into_response();
                        for name in ["retry-after", "allow", "www-authenticate"] {
                            if let Some(v) = err_resp.headers().get(name) {
                                resp.headers_mut().insert(name, v.clone());
                            }
                        }
                        resp
                    }
                }
            })
            .instrument(span.clone())
            .await;
        let status = resp.status();
        span.record("status", status.as_u16());
        span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::warn!("request failed");
            } else {
                tracing::info!("request finished");
            }
        });
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        Ok(resp)
    }
}

/// Caps request bodies at `max` bytes (413 beyond). See the module doc.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub max: usize,
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            max: self.max,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

fn too_large(max: usize) -> poem::Error {
    ApiError::PayloadTooLarge(format!("The request body is larger than {max} bytes.")).into()
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(len) if len > self.max as u64 => return Err(too_large(self.max)),
            Some(_) => {}
            None => {
                let body = req.take_body();
                let bytes = body.into_bytes_limit(self.max).await.map_err(|e| match e {
                    poem::error::ReadBodyError::PayloadTooLarge => too_large(self.max),
                    other => poem::Error::from(other),
                })?;
                req.set_body(Body::from_bytes(bytes));
            }
        }
        self.inner.call(req).await
    }
}
