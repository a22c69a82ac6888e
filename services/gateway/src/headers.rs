//! Security headers and CORS for everything the gateway answers.
//!
//! CORS follows the `FRONTEND_URL` allow-list with credentials. An origin not on the list gets
//! no `Access-Control-Allow-*` headers at all — the request itself still runs (same-origin
//! requests from the web app also carry `Origin`), but a browser on a foreign origin cannot
//! read the answer, and a preflight from it is refused with a 403 problem. This layer runs
//! inside `RequestContext`, so every answer — preflights and refusals included — carries
//! `X-Request-Id`, and errors from inside get these headers too.

use std::sync::Arc;

use docket_platform::{ApiError, middleware::error_response};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, Method, StatusCode, header},
};

/// For the web app and /docs: scripts and styles only from this origin; `connect_src` adds where the
/// app may also fetch from (the S3 bucket that presigned downloads redirect to).
pub fn app_csp(connect_src: &[String]) -> String {
    let extra: String = connect_src.iter().map(|s| format!(" {s}")).collect();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
connect-src 'self'{extra}; font-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
}
const ALLOW_HEADERS: &str = "authorization, content-type, if-match, x-request-id";
const EXPOSE_HEADERS: &str =
    "x-request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, location";

#[derive(Clone)]
pub struct SecurityHeaders {
    pub hsts: bool,
    pub allowed_origins: Arc<Vec<String>>,
    pub app_csp: HeaderValue,
}

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        SecurityHeadersEndpoint {
            inner: ep,
            config: self.clone(),
        }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    config: SecurityHeaders,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|o| self.config.allowed_origins.iter().any(|a| a == o))
            .map(str::to_owned);
        let is_preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        let path = req.uri().path().to_owned();

        let mut resp = if is_preflight {
            if origin.is_some() {
                Response::builder().status(StatusCode::NO_CONTENT).finish()
            } else {
                error_response(
                    ApiError::Forbidden("This origin may not call the API from a browser.".into())
                        .into(),
                )
            }
        } else {
            match self.inner.call(req).await {
                Ok(resp) => resp.into_response(),
                Err(err) => error_response(err),
            }
        };

        let h = resp.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE_HEADERS),
            );
            if is_preflight {
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, POST, PATCH, DELETE, OPTIONS"),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(ALLOW_HEADERS),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("600"),
                );
            }
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
        h.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            "permissions-policy",
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        );
        // /docs (Swagger UI) runs under the app's policy too: its scripts are files of this
        // origin, and "Try it out" fetches /api here (and follows S3 download redirects).
        h.insert(header::CONTENT_SECURITY_POLICY, self.config.app_csp.clone());
        if self.config.hsts {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        if path.starts_with("/api/") && !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CloudFront serves the web app's files from S3 with a response-headers policy of its own
    /// (`ecs/edge.yaml`, `WebHeadersPolicy`); its Content-Security-Policy must be this one,
    /// with the attachments bucket the ECS gateway gets as `CSP_CONNECT_SRC`.
    #[test]
    fn the_cloudfront_policy_sends_the_gateways_content_security_policy() {
        let edge = include_str!("../../../ecs/edge.yaml");
        let line = edge
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("- \"default-src "))
            .expect("edge.yaml has the web app's Content-Security-Policy");
        let in_template = line.trim_start_matches("- ").trim_matches('"');
        let bucket = "https://${Bucket}.s3.${AWS::Region}.amazonaws.com".to_owned();
        assert_eq!(in_template, app_csp(&[bucket]));
    }
}
