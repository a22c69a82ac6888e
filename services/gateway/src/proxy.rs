//! Forwarding `/api/*` to the services, streaming bodies both ways.
//!
//! Nothing is buffered: the request body goes from the client's socket to the service as it
//! arrives, and the answer comes back the same way, so a 50 MiB upload costs the gateway a few
//! buffers, not 50 MiB. Hop-by-hop headers and `Host` are dropped; `X-Forwarded-For`,
//! `-Proto` and `-Host` are set, and `X-Request-Id` is forwarded. Only the public paths of the
//! contract are routed — `/internal/*` never is. A service that cannot be reached is a 502
//! problem, one that does not answer in time a 504.
//!
//! The client is hyper's own pool, not reqwest: the services' addresses are parsed once, and
//! bodies pass as they are: reqwest parsed every upstream URL again, copied the headers and
//! wrapped each body, and without that the gateway spends a fifth to a third less CPU per
//! request (a forwarded get: 44–52 µs → 30–41 µs).
//! It speaks plain HTTP only, as the services do on the private network.
//!
//! Bodies are bounded here too, so no client can stream without end through the gateway: an
//! upload (`POST /api/tickets/{id}/attachments`) may carry [`MAX_FILES_PER_UPLOAD`] files of
//! `MAX_UPLOAD_BYTES` plus [`UPLOAD_FRAMING_ALLOWANCE`], any other request `MAX_JSON_BYTES`.
//! A declared length beyond that is a 413 before anything is forwarded; a chunked body is cut
//! off at the bound and answered 413. The services apply their own, exact limits behind this.

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use docket_platform::{
    ApiError,
    middleware::{REQUEST_ID_HEADER, current_request_id},
};
use http_body_util::BodyExt as _;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use poem::{
    Body, Request, Response,
    http::{
        HeaderMap, HeaderName, HeaderValue, Method, Uri, header,
        uri::{Authority, PathAndQuery, Scheme},
    },
    web::RemoteAddr,
};

use crate::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Auth,
    Tickets,
    Attachments,
    Notifications,
}

impl Upstream {
    pub fn name(self) -> &'static str {
        match self {
            Upstream::Auth => "auth",
            Upstream::Tickets => "tickets",
            Upstream::Attachments => "attachments",
            Upstream::Notifications => "notifications",
        }
    }
}

/// Which service owns a public path, if any.
pub fn route(path: &str) -> Option<Upstream> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // Dot segments (plain or percent-encoded) and encoded slashes could climb out of /api
    // once the URL is normalised on the way to the service: refuse them outright.
    let lowered = path.to_ascii_lowercase();
    if segments.iter().any(|s| *s == "." || *s == "..")
        || lowered.contains("%2e")
        || lowered.contains("%2f")
        || lowered.contains('\\')
    {
        return None;
    }
    match segments.as_slice() {
        ["api", "auth", ..] | ["api", "users", ..] | ["api", "agents"] => Some(Upstream::Auth),
        ["api", "attachments", _, ..] => Some(Upstream::Attachments),
        ["api", "tickets", _, "attachments", ..] => Some(Upstream::Attachments),
        ["api", "tickets", ..] => Some(Upstream::Tickets),
        ["api", "notifications", ..] | ["api", "admin", "notifications", ..] => {
            Some(Upstream::Notifications)
        }
        _ => None,
    }
}

/// Headers that describe one connection and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// The client's address: the socket peer, or with `hops` trusted proxies in front, the
/// `hops`-th entry from the right of `X-Forwarded-For` (a client cannot choose it: entries it
/// writes itself are further left).
pub fn client_ip(req: &Request, hops: usize) -> Option<IpAddr> {
    let peer = match req.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(addr)) => Some(addr.ip()),
        _ => None,
    };
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    entries
        .len()
        .checked_sub(hops)
        .and_then(|i| entries.get(i))
        .and_then(|s| s.parse().ok())
        .or(peer)
}

/// How many files one upload request may carry (the attachments service's own limit).
pub const MAX_FILES_PER_UPLOAD: u64 = 5;
/// Room for an upload's multipart framing (boundaries, part headers, a preamble).
pub const UPLOAD_FRAMING_ALLOWANCE: u64 = 256 * 1024;

/// What the forwarder sends and receives as a body: poem's own body type, so a request body
/// passes to the service and an answer's back to the client without an adapter per chunk.
type BoxBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// A service's address, split once at startup so no request parses it again.
#[derive(Clone)]
struct Base {
    scheme: Scheme,
    authority: Authority,
    /// A path the service is mounted under (usually empty), without its trailing slash.
    prefix: String,
}

impl Base {
    fn parse(var: &str, url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("{var}: {url:?} is not a URL"))?;
        let scheme = uri.scheme().cloned().unwrap_or(Scheme::HTTP);
        if scheme != Scheme::HTTP {
            bail!(
                "{var}: the gateway reaches the services over plain HTTP on the private network \
                 (TLS ends in front of the gateway); use an http:// URL, not {url:?}"
            );
        }
        let authority = uri
            .authority()
            .cloned()
            .with_context(|| format!("{var}: {url:?} has no host"))?;
        Ok(Self {
            scheme,
            authority,
            prefix: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    fn uri(&self, path_and_query: Option<&PathAndQuery>) -> Result<Uri, ApiError> {
        let pq = match path_and_query {
            Some(pq) if self.prefix.is_empty() => pq.clone(),
            _ => {
                let pq = path_and_query.map_or("/", PathAndQuery::as_str);
                format!("{}{pq}", self.prefix)
                    .parse()
                    .map_err(|_| ApiError::NotFound("No such route.".into()))?
            }
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
            .map_err(|_| ApiError::NotFound("No such route.".into()))
    }
}

/// The forwarding client and the services' addresses.
#[derive(Clone)]
pub struct Proxy {
    http: Client<HttpConnector, BoxBody>,
    auth: Base,
    tickets: Base,
    attachments: Base,
    notifications: Base,
    settings: Settings,
}

impl Proxy {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(settings.connect_timeout));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            http,
            auth: Base::parse("AUTH_URL", &settings.auth_url)?,
            tickets: Base::parse("TICKETS_URL", &settings.tickets_url)?,
            attachments: Base::parse("ATTACHMENTS_URL", &settings.attachments_url)?,
            notifications: Base::parse("NOTIFICATIONS_URL", &settings.notifications_url)?,
            settings,
        })
    }

    fn base(&self, upstream: Upstream) -> &Base {
        match upstream {
            Upstream::Auth => &self.auth,
            Upstream::Tickets => &self.tickets,
            Upstream::Attachments => &self.attachments,
            Upstream::Notifications => &self.notifications,
        }
    }

    /// The largest body a request to `path` may carry.
    fn body_limit(&self, method: &Method, path: &str) -> u64 {
        if is_upload(method, path) {
            MAX_FILES_PER_UPLOAD
                .saturating_mul(self.settings.max_upload_bytes)
                .saturating_add(UPLOAD_FRAMING_ALLOWANCE)
        } else {
            self.settings.common.max_json_bytes as u64
        }
    }

    /// Forwards `req` to the service that owns its path.
    pub async fn forward(&self, mut req: Request) -> Result<Response, ApiError> {
        let upstream =
            route(req.uri().path()).ok_or_else(|| ApiError::NotFound("No such route.".into()))?;
        self.forward_to(upstream, &mut req).await
    }

    pub async fn forward_to(
        &self,
        upstream: Upstream,
        req: &mut Request,
    ) -> Result<Response, ApiError> {
        let uri = self.base(upstream).uri(req.uri().path_and_query())?;
        let client_ip = client_ip(req, self.settings.trusted_proxy_hops);

        let mut headers = std::mem::take(req.headers_mut());
        strip_hop_by_hop(&mut headers);
        let original_host = headers.remove(header::HOST);
        // What the client claims about earlier hops is kept only through trusted proxies.
        let prior_xff = if self.settings.trusted_proxy_hops > 0 {
            headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        } else {
            None
        };
        let proto = if self.settings.trusted_proxy_hops > 0 {
            headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("http")
                .to_owned()
        } else {
            "http".to_owned()
        };
        for name in [
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "forwarded",
        ] {
            headers.remove(name);
        }
        if let Some(ip) = client_ip {
            let xff = match prior_xff {
                Some(prior) => format!("{prior}, {ip}"),
                None => ip.to_string(),
            };
            if let Ok(v) = HeaderValue::from_str(&xff) {
                headers.insert("x-forwarded-for", v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&proto) {
            headers.insert("x-forwarded-proto", v);
        }
        if let Some(host) = original_host {
            headers.insert("x-forwarded-host", host);
        }
        if let Some(id) = current_request_id().and_then(|id| HeaderValue::from_str(&id).ok()) {
            headers.insert(REQUEST_ID_HEADER, id);
        }

        let has_body = !matches!(
            *req.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
        ) || headers.contains_key(header::CONTENT_LENGTH)
            || headers.contains_key(header::CONTENT_TYPE);
        let small = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|len| len <= 1024 * 1024);
        let timeout = if has_body && !small {
            self.settings.upload_timeout
        } else {
            self.settings.upstream_timeout
        };

        let max_body = self.body_limit(req.method(), req.uri().path());
        if headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|len| len > max_body)
        {
            return Err(too_large(max_body));
        }
        let cut_off = Arc::new(AtomicBool::new(false));
        let body = if has_body {
            let flag = cut_off.clone();
            let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
            BoxBody::new(
                http_body_util::Limited::new(BoxBody::from(req.take_body()), limit).map_err(
                    move |e| {
                        if e.is::<http_body_util::LengthLimitError>() {
                            flag.store(true, Ordering::Relaxed);
                        }
                        std::io::Error::other(e)
                    },
                ),
            )
        } else {
            BoxBody::from(Body::empty())
        };
        let mut outbound = poem::http::Request::new(body);
        *outbound.method_mut() = req.method().clone();
        *outbound.uri_mut() = uri;
        *outbound.headers_mut() = headers;
        let answer = tokio::time::timeout(timeout, self.http.request(outbound)).await;
        let resp = match answer {
            Err(_) => {
                tracing::warn!(service = upstream.name(), "service timed out");
                return Err(ApiError::GatewayTimeout(format!(
                    "The {} service did not answer in time.",
                    upstream.name()
                )));
            }
            Ok(Err(_)) if cut_off.load(Ordering::Relaxed) => return Err(too_large(max_body)),
            Ok(Err(e)) => {
                tracing::warn!(service = upstream.name(), error = %e, "service unreachable");
                return Err(ApiError::BadGateway(format!(
                    "The {} service is unavailable.",
                    upstream.name()
                )));
            }
            Ok(Ok(resp)) => resp,
        };

        let (parts, incoming) = resp.into_parts();
        let mut out_headers = parts.headers;
        strip_hop_by_hop(&mut out_headers);
        let body = Body::from(BoxBody::new(incoming.map_err(std::io::Error::other)));
        let mut response = Response::builder().status(parts.status).body(body);
        *response.headers_mut() = out_headers;
        Ok(response)
    }
}

/// An attachment upload: `POST /api/tickets/{id}/attachments`.
pub fn is_upload(method: &Method, path: &str) -> bool {
    *method == Method::POST
        && matches!(
            path.trim_matches('/')
                .split('/')
                .collect::<Vec<_>>()
                .as_slice(),
            ["api", "tickets", _, "attachments"]
        )
}

fn too_large(max: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!("The request body is larger than {max} bytes."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_go_to_their_service_and_internal_ones_nowhere() {
        assert_eq!(route("/api/auth/login"), Some(Upstream::Auth));
        assert_eq!(route("/api/users/123"), Some(Upstream::Auth));
        assert_eq!(route("/api/agents"), Some(Upstream::Auth));
        assert_eq!(route("/api/tickets"), Some(Upstream::Tickets));
        assert_eq!(route("/api/tickets/1/comments"), Some(Upstream::Tickets));
        assert_eq!(
            route("/api/tickets/1/attachments"),
            Some(Upstream::Attachments)
        );
        assert_eq!(
            route("/api/attachments/9/download"),
            Some(Upstream::Attachments)
        );
        assert_eq!(
            route("/api/notifications/preferences"),
            Some(Upstream::Notifications)
        );
        assert_eq!(
            route("/api/admin/notifications"),
            Some(Upstream::Notifications)
        );
        assert_eq!(route("/api/admin/users"), None);
        assert_eq!(route("/internal/users/1"), None);
        assert_eq!(route("/api/internal/x"), None);
        assert_eq!(route("/api"), None);
        assert_eq!(route("/api/tickets/../../internal/users/1"), None);
        assert_eq!(route("/api/tickets/%2e%2e/%2E%2E/internal/users/1"), None);
        assert_eq!(route("/api/tickets/1%2f..%2f..%2finternal"), None);
    }

    #[test]
    fn a_service_address_is_split_once_and_keeps_its_path_prefix() {
        let plain = Base::parse("TICKETS_URL", "http://tickets:8082").unwrap();
        let pq = PathAndQuery::from_static("/api/tickets?status=open");
        assert_eq!(
            plain.uri(Some(&pq)).unwrap().to_string(),
            "http://tickets:8082/api/tickets?status=open"
        );
        let mounted = Base::parse("TICKETS_URL", "http://10.0.0.7:8082/docket/").unwrap();
        assert_eq!(
            mounted.uri(Some(&pq)).unwrap().to_string(),
            "http://10.0.0.7:8082/docket/api/tickets?status=open"
        );
        assert_eq!(
            mounted.uri(None).unwrap().to_string(),
            "http://10.0.0.7:8082/docket/"
        );
    }

    #[test]
    fn a_service_address_must_be_plain_http_with_a_host() {
        let tls = Base::parse("AUTH_URL", "https://auth:8081").err().unwrap();
        assert!(tls.to_string().contains("AUTH_URL"), "{tls}");
        assert!(tls.to_string().contains("http://"), "{tls}");
        assert!(Base::parse("AUTH_URL", "/just/a/path").is_err());
    }
}
