//! RFC 9457 problem details: the one error shape every Docket service answers with.
//!
//! [`ApiError`] is what handlers return. Its variants are the errors a client may see, plus
//! `Internal`, whose cause is logged and never sent: the client gets a bare 500. The table in
//! [`ApiError::kind`] maps each variant to its status, `type` and title. Errors raised by poem
//! itself (bad JSON, unknown route, wrong method…) are turned into problems by
//! [`crate::middleware::RequestContext`], which also stamps the request id on every body.

pub use poem::http::StatusCode;
use poem::{IntoResponse, Response, error::ResponseError};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// A problem details object (RFC 9457).
#[derive(Debug, Clone, Object, serde::Deserialize, PartialEq)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in words a person can act on.
    pub detail: String,
    /// The request's id, the same as the `X-Request-Id` header.
    pub request_id: String,
    /// On a 422: one item per invalid field (absent on other statuses).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default)]
    pub errors: Option<Vec<FieldError>>,
}

/// One invalid input field of a 422: its name (`subject`, `limit`, `items[2].id`) and what is
/// wrong with it.
#[derive(Debug, Clone, Object, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            request_id: String::new(),
            errors: (status == StatusCode::UNPROCESSABLE_ENTITY).then(Vec::new),
        }
    }

    /// A 422 naming each invalid field; `detail` sums them up.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            detail,
        );
        p.errors = Some(errors);
        p
    }

    /// A problem for a status that no handler chose (poem's own errors and the like).
    pub fn for_status(status: StatusCode, detail: impl Into<String>) -> Self {
        let (slug, title) = match status {
            StatusCode::BAD_REQUEST => ("bad-request", "Bad request"),
            StatusCode::UNAUTHORIZED => ("unauthorized", "Not signed in"),
            StatusCode::FORBIDDEN => ("forbidden", "Forbidden"),
            StatusCode::NOT_FOUND => ("not-found", "Not found"),
            StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
            StatusCode::LENGTH_REQUIRED => ("length-required", "Length required"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "Payload too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported-media-type", "Unsupported media type")
            }
            StatusCode::UNPROCESSABLE_ENTITY => ("validation", "Invalid input"),
            StatusCode::TOO_MANY_REQUESTS => ("rate-limited", "Too many requests"),
            StatusCode::BAD_GATEWAY => ("bad-gateway", "Upstream service unavailable"),
            StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "Service unavailable"),
            StatusCode::GATEWAY_TIMEOUT => ("gateway-timeout", "Upstream service timed out"),
            s if s.is_server_error() => ("internal", "Internal server error"),
            _ => ("error", "Error"),
        };
        Self::new(status, slug, title, detail)
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&ProblemRef(&self)).unwrap_or_default();
        Response::builder()
            .status(status)
            .content_type(PROBLEM_CONTENT_TYPE)
            .body(body)
    }
}

/// Serialises a problem with the field names of the RFC.
struct ProblemRef<'a>(&'a Problem);

impl serde::Serialize for ProblemRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let p = self.0;
        let mut map = s.serialize_map(Some(5 + usize::from(p.errors.is_some())))?;
        map.serialize_entry("type", &p.kind)?;
        map.serialize_entry("title", &p.title)?;
        map.serialize_entry("status", &p.status)?;
        map.serialize_entry("detail", &p.detail)?;
        map.serialize_entry("request_id", &p.request_id)?;
        if let Some(errors) = &p.errors {
            map.serialize_entry("errors", errors)?;
        }
        map.end()
    }
}

/// A problem type of one service's own, beside the shared ones of [`ApiError::kind`]: its
/// status, its `type` (`/problems/<slug>`) and its title. A service declares each as a
/// constant (the tickets service's `stale-version`, say) and answers with
/// [`ApiError::Typed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
}

/// The errors a handler may return. `Internal` carries its cause for the log only.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A 422 about no field in particular; prefer [`ApiError::Invalid`].
    #[error("{0}")]
    Unprocessable(String),
    /// A 422 naming each invalid field (`errors` in the problem).
    #[error("{}", invalid_detail(.0))]
    Invalid(Vec<FieldError>),
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Too much work of one kind at once (e.g. password hashing): 503 with `Retry-After`.
    #[error("{detail}")]
    Busy {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    GatewayTimeout(String),
    /// A problem of a type the service declares itself, with this request's detail.
    #[error("{1}")]
    Typed(ProblemType, String),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// The one table from error to status, problem type and title.
    pub fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Not signed in"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Unprocessable(_) | Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
            ),
            TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            BadGateway(_) => (
                StatusCode::BAD_GATEWAY,
                "bad-gateway",
                "Upstream service unavailable",
            ),
            ServiceUnavailable(_) | Busy { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            GatewayTimeout(_) => (
                StatusCode::GATEWAY_TIMEOUT,
                "gateway-timeout",
                "Upstream service timed out",
            ),
            Typed(kind, _) => (kind.status, kind.slug, kind.title),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    /// The problem a client sees. For `Internal` the cause is logged here and not returned.
    pub fn to_problem(&self) -> Problem {
        let (status, slug, title) = self.kind();
        let detail = match self {
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "Something went wrong on our side. Try again; if it keeps happening, quote the request id.".to_owned()
            }
            ApiError::Invalid(errors) => return Problem::invalid(errors.clone()),
            other => other.to_string(),
        };
        Problem::new(status, slug, title, detail)
    }

    /// A 422 about one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(cause.into())
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // Every connection busy for the whole acquire timeout: overload, not a bug.
            sqlx::Error::PoolTimedOut => {
                tracing::warn!("database pool timed out");
                ApiError::ServiceUnavailable("The service is overloaded; try again shortly.".into())
            }
            // The database went away under a connection (restart, failover, network): the
            // request can be tried again; nothing is wrong with it or with this service.
            e if database_unreachable(&e) => {
                tracing::warn!(error = %e, "database connection lost");
                ApiError::ServiceUnavailable(
                    "The database is unavailable; try again shortly.".into(),
                )
            }
            e => ApiError::Internal(e.into()),
        }
    }
}

fn invalid_detail(errors: &[FieldError]) -> String {
    Problem::invalid(errors.to_vec()).detail
}

/// A lost or refused database connection: an I/O error, a closed pool or a crashed SQLite
/// worker, or Postgres ending the session (SQLSTATE class 08, connection exception, and 57P,
/// an operator's shutdown or a server still starting).
fn database_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.kind().0
    }

    fn as_response(&self) -> Response {
        let mut resp = self.to_problem().into_response();
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        }
        | ApiError::Busy {
            retry_after_secs, ..
        } = self
            && let Ok(v) = retry_after_secs.to_string().parse()
        {
            resp.headers_mut().insert("retry-after", v);
        }
        resp
    }
}

/// The statuses a client may meet on any operation; they appear in every OpenAPI operation.
const DOCUMENTED: &[(u16, &str)] = &[
    (400, "Malformed request (bad JSON, wrong types)"),
    (401, "Missing, expired or invalid credentials"),
    (403, "Signed in but not allowed"),
    (404, "Not found, or not visible to the caller"),
    (409, "Conflict with the current state"),
    (412, "The `If-Match` version is stale"),
    (413, "Body or file too large"),
    (415, "Content type not allowed"),
    (422, "Input failed validation"),
    (428, "A version is required"),
    (429, "Rate limited; see `Retry-After`"),
    (500, "Internal error"),
    (502, "A service behind this one is unavailable"),
    (503, "Unavailable (dependency down)"),
    (504, "A service behind this one timed out"),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_CONTENT_TYPE,
                        schema: Problem::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        Problem::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, error::Error};

    use super::*;

    /// A database error as Postgres reports it, with its SQLSTATE.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl Error for Sqlstate {}

    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            "from the server"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn status(e: sqlx::Error) -> u16 {
        ApiError::from(e).kind().0.as_u16()
    }

    #[test]
    fn a_services_own_problem_type_keeps_its_status_type_and_title() {
        const OWN: ProblemType = ProblemType {
            status: StatusCode::PRECONDITION_FAILED,
            slug: "stale-version",
            title: "Precondition failed",
        };
        let problem = ApiError::Typed(OWN, "Version 3 is stale.".into()).to_problem();
        assert_eq!(problem.status, 412);
        assert_eq!(problem.kind, "/problems/stale-version");
        assert_eq!(problem.title, "Precondition failed");
        assert_eq!(problem.detail, "Version 3 is stale.");
    }

    #[test]
    fn a_lost_database_is_a_503_and_other_database_errors_a_500() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(status(sqlx::Error::Io(reset)), 503);
        assert_eq!(status(sqlx::Error::PoolClosed), 503);
        assert_eq!(status(sqlx::Error::PoolTimedOut), 503);
        // Postgres ending the session (admin shutdown) or refusing it (still starting).
        assert_eq!(
            status(sqlx::Error::Database(Box::new(Sqlstate("57P01")))),
            503
        );
        assert_eq!(
            status(sqlx::Error::Database(Box::new(Sqlstate("08006")))),
            503
        );
        // A query the server rejects is this service's bug, not an outage.
        assert_eq!(
            status(sqlx::Error::Database(Box::new(Sqlstate("42601")))),
            500
        );
        assert_eq!(status(sqlx::Error::RowNotFound), 500);
    }
}
