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
//! and otherwise reads at most the limit — always before any handler answers, so no answer
//! leaves unread bytes on a keep-alive connection. Routes that stream their bodies use
//! [`CloseIfBodyUnread`] instead.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

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
        // A query or header value of the wrong type or out of its documented range: one
        // answer for both (the contract allows 422 for a wrong type), naming the parameter.
        let message = param_message(&e.reason);
        return ApiError::field(e.name, message).to_problem();
    } else if err.is::<poem_openapi::error::ParsePathError>() {
        // Path parameters are ids: one that does not parse names nothing (404, as for an id
        // that names nothing the caller may see).
        return Problem::for_status(
            StatusCode::NOT_FOUND,
            "Nothing is here: the path holds something that is not an id.",
        );
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

/// poem-openapi's parse message without its wrapping (`failed to parse "…": <ours> (occurred
/// while parsing "…")`), or its validator's name.
fn param_message(reason: &str) -> String {
    if let Some(v) = reason.strip_prefix("verification failed. ") {
        return format!("must satisfy {v}");
    }
    let inner = reason
        .strip_prefix("failed to parse ")
        .and_then(|r| r.split_once(": "))
        .map_or(reason, |(_, rest)| rest);
    inner
        .split(" (occurred while parsing")
        .next()
        .unwrap_or(inner)
        .to_owned()
}

/// The problem response for an error, stamped with the current request id.
pub fn problem_response(err: &poem::Error) -> Response {
    let mut problem = problem_from_error(err);
    problem.request_id = current_request_id().unwrap_or_default();
    problem.into_response()
}

/// [`problem_response`] keeping the headers the error asked for (Retry-After, Allow, …).
pub fn error_response(err: poem::Error) -> Response {
    let mut resp = problem_response(&err);
    let err_resp = err.into_response();
    for name in ["retry-after", "allow", "www-authenticate"] {
        if let Some(v) = err_resp.headers().get(name) {
            resp.headers_mut().insert(name, v.clone());
        }
    }
    resp
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
        let routine = is_routine(req.uri().path());
        let started = Instant::now();
        let mut resp = REQUEST_ID
            .scope(request_id.clone(), async move {
                match self.inner.call(req).await {
                    Ok(resp) => resp.into_response(),
                    Err(err) => error_response(err),
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
            } else if routine {
                tracing::debug!("request finished");
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

/// Requests that machines make on a timer: service-to-service calls (`/internal/…`, such as the
/// notifications service polling the tickets feed every second) and the load balancer's probes.
/// Their successes are logged at debug, so they do not bury the requests people make; their
/// failures are logged like any other.
fn is_routine(path: &str) -> bool {
    path.starts_with("/internal/") || matches!(path, "/health/live" | "/health/ready")
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
        if declared.is_some_and(|len| len > self.max as u64) {
            return Err(too_large(self.max));
        }
        // Read before anything answers: a 401 or 404 given with the body still unread makes
        // hyper close the connection once it is answered, under a client (the gateway's pool)
        // that may already be sending the next request on it.
        let bytes = req
            .take_body()
            .into_bytes_limit(self.max)
            .await
            .map_err(|e| match e {
                poem::error::ReadBodyError::PayloadTooLarge => too_large(self.max),
                other => poem::Error::from(other),
            })?;
        req.set_body(Body::from_bytes(bytes));
        self.inner.call(req).await
    }
}

/// For routes that stream their bodies (uploads), which [`BodyLimit`] cannot read first:
/// answers given before the request's body was read to its end say `Connection: close`.
/// hyper closes such a connection after the answer either way (the unread bytes would be taken
/// for the next request); the header tells the client so, and a client's pool (the gateway's)
/// does not send another request on a connection that is going away.
#[derive(Debug, Clone, Copy)]
pub struct CloseIfBodyUnread;

impl<E: Endpoint> Middleware<E> for CloseIfBodyUnread {
    type Output = CloseIfBodyUnreadEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        CloseIfBodyUnreadEndpoint { inner: ep }
    }
}

pub struct CloseIfBodyUnreadEndpoint<E> {
    inner: E,
}

/// A body stream that notes when it has been read to its end (or failed).
struct Observed<S> {
    inner: S,
    done: Arc<AtomicBool>,
}

impl<S: futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Unpin> futures_util::Stream
    for Observed<S>
{
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if matches!(next, Poll::Ready(None | Some(Err(_)))) {
            self.done.store(true, Ordering::Relaxed);
        }
        next
    }
}

impl<E: Endpoint> Endpoint for CloseIfBodyUnreadEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let headers = req.headers();
        let has_body = headers.contains_key(poem::http::header::TRANSFER_ENCODING)
            || headers
                .get(poem::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() != "0");
        if !has_body {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let done = Arc::new(AtomicBool::new(false));
        let stream = Observed {
            inner: Box::pin(req.take_body().into_bytes_stream()),
            done: done.clone(),
        };
        req.set_body(Body::from_bytes_stream(stream));
        let mark = |resp: &mut Response| {
            if !done.load(Ordering::Relaxed) {
                resp.headers_mut().insert(
                    poem::http::header::CONNECTION,
                    HeaderValue::from_static("close"),
                );
            }
        };
        match self.inner.call(req).await {
            Ok(resp) => {
                let mut resp = resp.into_response();
                mark(&mut resp);
                Ok(resp)
            }
            Err(err) => {
                let mut resp = error_response(err);
                mark(&mut resp);
                Ok(resp)
            }
        }
    }
}

/// Adds `Allow` (RFC 9110) to every 405: the methods of the route the path matched, from a
/// table built from the OpenAPI document (so `Allow` and the document cannot disagree) plus
/// the routes the document does not list. Goes inside [`RequestContext`].
#[derive(Debug, Clone, Default)]
pub struct AllowMethods {
    /// Route templates (`{x}` or `:x` for one segment, a final `*` for any rest) and their
    /// methods, most specific first.
    routes: std::sync::Arc<Vec<(Vec<String>, String)>>,
}

impl AllowMethods {
    /// The paths and methods of an OpenAPI document (as JSON).
    pub fn from_spec(spec: &serde_json::Value) -> Self {
        let mut allow = Self::default();
        if let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                let methods: Vec<&str> = item
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .map(String::as_str)
                    .collect();
                allow = allow.with(path, &methods);
            }
        }
        allow
    }

    /// Adds a route the document does not list.
    pub fn with(self, template: &str, methods: &[&str]) -> Self {
        let mut upper: Vec<String> = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
        // poem answers HEAD wherever GET is routed.
        if upper.iter().any(|m| m == "GET") && !upper.iter().any(|m| m == "HEAD") {
            upper.push("HEAD".to_owned());
        }
        let segments = template
            .trim_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        let mut routes = std::sync::Arc::unwrap_or_clone(self.routes);
        routes.push((segments, upper.join(", ")));
        // Literal segments beat placeholders, a fixed length beats a `*`.
        routes.sort_by_key(|(segs, _)| {
            let wild = segs.last().is_some_and(|s| s == "*");
            let literal = segs.iter().filter(|s| !is_placeholder(s)).count();
            (wild, std::cmp::Reverse(literal))
        });
        Self {
            routes: std::sync::Arc::new(routes),
        }
    }

    /// The `Allow` value for `path`, if a route matches it.
    pub fn lookup(&self, path: &str) -> Option<&str> {
        let given: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes
            .iter()
            .find(|(segs, _)| template_matches(segs, &given))
            .map(|(_, methods)| methods.as_str())
    }
}

fn is_placeholder(segment: &str) -> bool {
    segment.starts_with(':')
        || (segment.starts_with('{') && segment.ends_with('}'))
        || segment == "*"
}

fn template_matches(template: &[String], given: &[&str]) -> bool {
    if template.last().is_some_and(|s| s == "*") {
        let fixed = &template[..template.len() - 1];
        return given.len() >= fixed.len() && template_matches(fixed, &given[..fixed.len()]);
    }
    template.len() == given.len()
        && template
            .iter()
            .zip(given)
            .all(|(t, g)| t == g || is_placeholder(t))
}

impl<E: Endpoint> Middleware<E> for AllowMethods {
    type Output = AllowMethodsEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        AllowMethodsEndpoint {
            inner: ep,
            allow: self.clone(),
        }
    }
}

pub struct AllowMethodsEndpoint<E> {
    inner: E,
    allow: AllowMethods,
}

impl<E: Endpoint> Endpoint for AllowMethodsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_owned();
        match self.inner.call(req).await {
            Ok(resp) => {
                let mut resp = resp.into_response();
                if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
                    self.add_allow(&path, &mut resp);
                }
                Ok(resp)
            }
            Err(err) if err.status() == StatusCode::METHOD_NOT_ALLOWED => {
                let mut resp = error_response(err);
                self.add_allow(&path, &mut resp);
                Ok(resp)
            }
            Err(err) => Err(err),
        }
    }
}

impl<E> AllowMethodsEndpoint<E> {
    fn add_allow(&self, path: &str, resp: &mut Response) {
        // An inner layer knew better (the gateway forwarding a service's own 405).
        if resp.headers().contains_key(poem::http::header::ALLOW) {
            return;
        }
        if let Some(v) = self
            .allow
            .lookup(path)
            .and_then(|m| HeaderValue::from_str(m).ok())
        {
            resp.headers_mut().insert(poem::http::header::ALLOW, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use poem::{EndpointExt as _, endpoint::make_sync, http::StatusCode};
    use tracing::instrument::WithSubscriber as _;

    use super::*;

    #[tokio::test]
    async fn routine_successes_are_logged_at_debug_and_everything_else_at_info() {
        let lines = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || SharedWriter(sink.clone()))
            .finish();
        let dispatch = tracing::Dispatch::new(subscriber);
        let ep = make_sync(|req: Request| {
            if req.uri().path().ends_with("/broken") {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        })
        .with(RequestContext);
        for path in [
            "/internal/events",
            "/health/live",
            "/api/tickets",
            "/internal/broken",
        ] {
            let req = Request::builder().uri_str(path).finish();
            let resp = ep
                .call(req)
                .with_subscriber(dispatch.clone())
                .await
                .unwrap();
            assert!(resp.headers().contains_key(REQUEST_ID_HEADER), "{path}");
        }
        let text = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
        let logged: Vec<&str> = text.lines().collect();
        assert_eq!(logged.len(), 2, "{text}");
        assert!(logged[0].contains("/api/tickets") && logged[0].contains("request finished"));
        assert!(logged[1].contains("/internal/broken") && logged[1].contains("request failed"));
    }

    struct SharedWriter(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn allow_lists_the_methods_of_the_route_a_path_matches() {
        let spec = serde_json::json!({"paths": {
            "/api/tickets": {"get": {}, "post": {}},
            "/api/tickets/{id}": {"get": {}, "patch": {}, "delete": {}},
            "/api/tickets/{id}/comments": {"post": {}},
        }});
        let allow = AllowMethods::from_spec(&spec).with("/health/*", &["get"]);
        assert_eq!(allow.lookup("/api/tickets"), Some("GET, POST, HEAD"));
        assert_eq!(
            allow.lookup("/api/tickets/abc"),
            Some("DELETE, GET, PATCH, HEAD")
        );
        assert_eq!(allow.lookup("/api/tickets/abc/comments"), Some("POST"));
        assert_eq!(allow.lookup("/health/live"), Some("GET, HEAD"));
        assert_eq!(allow.lookup("/nowhere"), None);
    }
}
